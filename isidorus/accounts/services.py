"""API key writes: create, revoke, and the throttled last-used stamp."""

from __future__ import annotations

from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from isidorus.accounts.keys import generate_key
from isidorus.accounts.models import ApiKey

LAST_USED_RESOLUTION = timedelta(minutes=1)


class KeyLimitReached(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"an owner may hold at most {limit} active API keys; revoke one first")
        self.limit = limit


def active_keys_of(owner: User) -> int:
    now = timezone.now()
    return (
        ApiKey.objects.filter(owner=owner, revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .count()
    )


def api_key_create(
    *, owner: User, name: str, expires_at: datetime | None = None
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored or shown again."""
    with transaction.atomic():
        # Serialise key creation per owner so the active-key limit holds under races.
        type(owner).objects.select_for_update().filter(pk=owner.pk).first()
        limit = settings.ISIDORUS_MAX_ACTIVE_KEYS
        if active_keys_of(owner) >= limit:
            raise KeyLimitReached(limit)
        for _ in range(5):
            generated = generate_key()
            try:
                with transaction.atomic():
                    key = ApiKey.objects.create(
                        owner=owner,
                        name=name,
                        prefix=generated.prefix,
                        hashed_secret=generated.hashed_secret,
                        expires_at=expires_at,
                    )
                return key, generated.raw
            except IntegrityError:  # a 48-bit prefix collided; draw again
                continue
    raise RuntimeError("could not draw a unique API key prefix")


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(revoked_at=key.revoked_at)
    return key


def api_key_touch(*, key: ApiKey, now: datetime | None = None) -> None:
    """Stamp last_used_at at most once a minute, so reads do not all become writes."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=now)
    key.last_used_at = now
