"""Who may read metrics, on the API's `/metrics` and on a worker's own port alike: a
client in METRICS_ALLOWED_NETWORKS (loopback by default), or one that sends
`Authorization: Bearer <METRICS_TOKEN>` when a token is set."""

from __future__ import annotations

import hmac

from django.conf import settings

from isidorus.core.client_address import IpAddress, trusted_networks


def scrape_allowed(address: IpAddress | None, authorization: str) -> bool:
    token = settings.METRICS_TOKEN
    if token and hmac.compare_digest(authorization.encode(), f"Bearer {token}".encode()):
        return True
    allowed = trusted_networks(tuple(settings.METRICS_ALLOWED_NETWORKS))
    return address is not None and any(address in network for network in allowed)
