"""API key format, pure functions. A raw key is `<prefix>.<secret>`.

The secret carries 256 bits from `secrets`, so a fast sha256 is enough to store it: there
is nothing to brute-force that a slow hash would protect.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

PREFIX_BYTES = 6  # 12 hex characters: the public, searchable part
SECRET_BYTES = 32  # 256 bits of randomness
_RAW_KEY = re.compile(r"^(?P<prefix>[0-9a-f]{12})\.(?P<secret>[A-Za-z0-9_-]{43})$")


@dataclass(frozen=True)
class GeneratedKey:
    raw: str
    prefix: str
    hashed_secret: str


class MalformedKey(ValueError):
    pass


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def generate_key() -> GeneratedKey:
    prefix = secrets.token_hex(PREFIX_BYTES)
    secret = secrets.token_urlsafe(SECRET_BYTES)
    return GeneratedKey(raw=f"{prefix}.{secret}", prefix=prefix, hashed_secret=hash_secret(secret))


def split_key(raw: str) -> tuple[str, str]:
    match = _RAW_KEY.match(raw.strip())
    if match is None:
        raise MalformedKey("an API key looks like <12 hex characters>.<43 characters>")
    return match["prefix"], match["secret"]


def secret_matches(secret: str, hashed_secret: str) -> bool:
    return hmac.compare_digest(hash_secret(secret), hashed_secret)
