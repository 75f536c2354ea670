"""Failed authentications per client address, counted in Redis by every API process.

API keys and admin logins share one count per address (isidorus.core.client_address):
after ISIDORUS_AUTH_FAILURE_LIMIT failures within ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS
(counted from the first one), the address is refused until the window ends, before any
key or password is looked at, so guessing really slows down. A refused request is not a
failure (nothing was checked), and a success does not clear the count: one valid key
must not buy its holder a fresh allowance of guesses.
"""

from __future__ import annotations

import logging
import math

from django.conf import settings

from isidorus.integrations.redis_client import get_redis

logger = logging.getLogger(__name__)

# The window starts at the first failure; the count and its expiry are set atomically.
_RECORD_SCRIPT = """
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[1]) end
return count
"""
# Milliseconds left in the window when the count has reached the limit, else 0.
_BLOCKED_SCRIPT = """
local count = tonumber(redis.call('GET', KEYS[1]) or '0')
if count < tonumber(ARGV[1]) then return 0 end
local left = redis.call('PTTL', KEYS[1])
if left < 0 then return tonumber(ARGV[2]) end
return left
"""


def _key(client: str) -> str:
    return f"authfail:{client}"


def _limit() -> int:
    return int(settings.ISIDORUS_AUTH_FAILURE_LIMIT)


def _window_ms() -> int:
    return int(settings.ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS) * 1000


def auth_block_seconds(*, client: str) -> int | None:
    """Seconds `client` stays refused (the Retry-After), or None when it may try."""
    left_ms = int(get_redis().eval(_BLOCKED_SCRIPT, 1, _key(client), _limit(), _window_ms()))
    return max(1, math.ceil(left_ms / 1000)) if left_ms > 0 else None


def auth_failure_record(*, client: str, kind: str) -> None:
    """Count one failed authentication of `kind` (`api_key`, `admin_login`) from `client`."""
    count = int(get_redis().eval(_RECORD_SCRIPT, 1, _key(client), _window_ms()))
    if count == _limit():
        logger.warning(
            "client %s refused for up to %d s after %d failed authentications (last: %s)",
            client, settings.ISIDORUS_AUTH_FAILURE_WINDOW_SECONDS, count, kind,
        )  # fmt: skip


def auth_block_message(seconds: int) -> str:
    return f"too many failed authentications from this address; retry in {seconds} seconds"
