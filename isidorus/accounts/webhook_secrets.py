"""An owner's webhook signing secret: created, then rotated, through the API."""

from __future__ import annotations

import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from isidorus.accounts.models import WebhookSecret


def webhook_secret_rotate(*, owner: Any) -> tuple[WebhookSecret, str]:
    """A new secret for `owner` (returned once, raw); the old one keeps signing for
    WEBHOOK_SECRET_OVERLAP_HOURS, so receivers can switch without missing a request."""
    raw = secrets.token_hex(32)
    now = timezone.now()
    with transaction.atomic():
        current = WebhookSecret.objects.select_for_update().filter(owner=owner).first()
        if current is None:
            return WebhookSecret.objects.create(owner=owner, secret=raw, created_at=now), raw
        current.previous_secret = current.secret
        current.previous_valid_until = now + timedelta(hours=settings.WEBHOOK_SECRET_OVERLAP_HOURS)
        current.secret = raw
        current.created_at = now
        current.save()
    return current, raw


def signing_secrets(owner_id: int) -> list[str]:
    found = WebhookSecret.objects.filter(owner_id=owner_id).first()
    return found.signing_secrets() if found is not None else []
