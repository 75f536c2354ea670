"""The signature of a webhook request.

`Isidorus-Signature: t=<unix seconds>,v1=<hex>[,v1=<hex>]`: each v1 is HMAC-SHA256, keyed
with one of the owner's signing secrets, over `<t>.` followed by the raw body. During a
secret rotation both secrets sign, so a receiver holding either accepts the request.
Receivers check the timestamp against a tolerance, so a captured request cannot be
replayed later (README, "Webhooks", has the receiver's code).
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE_HEADER = "Isidorus-Signature"


def signature_header(body: bytes, secrets: list[str], timestamp: int) -> str:
    signed = f"{timestamp}.".encode() + body
    parts = [f"t={timestamp}"]
    parts += [f"v1={hmac.new(s.encode(), signed, hashlib.sha256).hexdigest()}" for s in secrets]
    return ",".join(parts)
