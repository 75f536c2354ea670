"""Webhooks: a job's lifecycle events POSTed, signed, to a URL its owner chose.

- options.py: the event names, and what a job's `webhook` option asks for.
- events.py: which events a job emits, and the delivery row each one gets (once).
- delivery.py: one attempt of a delivery, the retry schedule, and the ordering rule.
- signing.py: the HMAC-SHA256 signature header.
The owner's signing secret lives in isidorus/accounts/webhook_secrets.py.
"""
