"""`X-API-Key: <key>` (the original header) or `Authorization: Api-Key <key>`.

One query per request: the key and its owner are read together by the key's prefix,
then the secret is compared in constant time. Revocation and expiry are read from the
row on every request, so they take effect on the very next one (no cache).
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from isidorus.accounts.keys import MalformedKey, secret_matches, split_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_touch

AUTHORIZATION_SCHEME = "Api-Key"


class KeyRefused(exceptions.AuthenticationFailed):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(detail=message, code=code)


def _raw_key_from(request: Request) -> str | None:
    header = request.META.get("HTTP_X_API_KEY")
    if header:
        return str(header)
    authorization = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = str(authorization).partition(" ")
    if scheme.lower() == AUTHORIZATION_SCHEME.lower() and value.strip():
        return value.strip()
    return None


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate(self, request: Request) -> tuple[Any, ApiKey] | None:
        raw = _raw_key_from(request)
        if raw is None:
            return None
        try:
            prefix, secret = split_key(raw)
        except MalformedKey as error:
            raise KeyRefused("malformed_api_key", str(error)) from None
        key = ApiKey.objects.select_related("owner").filter(prefix=prefix).first()
        if key is None or not secret_matches(secret, key.hashed_secret):
            raise KeyRefused("unknown_api_key", "this API key is not known")
        if key.revoked_at is not None:
            raise KeyRefused("revoked_api_key", "this API key was revoked")
        now = timezone.now()
        if key.is_expired(now):
            raise KeyRefused("expired_api_key", "this API key has expired")
        if not key.owner.is_active:
            raise KeyRefused("inactive_owner", "the owner of this API key is deactivated")
        api_key_touch(key=key, now=now)
        return key.owner, key

    def authenticate_header(self, request: Request) -> str:
        return AUTHORIZATION_SCHEME
