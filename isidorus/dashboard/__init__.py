"""The job dashboard: server-rendered pages whose own scripts read the documented API with
the user's Django session (no private JSON views, no build step, no CDN)."""
