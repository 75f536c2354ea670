"""`X-API-Key: <key>` (the original header) or `Authorization: Api-Key <key>`.

One query per request: the key and its owner are read together by the key's prefix,
then the secret is compared in constant time. Revocation and expiry are read from the
row on every request, so they take effect on the very next one (no cache).

A client address with too many failed authentications gets 429 before its key is even
parsed (isidorus.accounts.auth_failures). Refusals are logged with the key's public prefix
at most, never its secret.
"""

from __future__ import annotations

import functools
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from rest_framework import exceptions, status
from rest_framework.authentication import BaseAuthentication
from rest_framework.request import Request

from isidorus.accounts.auth_failures import (
    auth_block_message,
    auth_block_seconds,
    auth_failure_record,
)
from isidorus.accounts.keys import MalformedKey, secret_matches, split_key
from isidorus.accounts.models import ApiKey
from isidorus.accounts.services import api_key_touch
from isidorus.core.client_address import request_client
from isidorus.core.errors import ApiError
from isidorus.core.rows import ModelColumns, first_row

logger = logging.getLogger(__name__)

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
        client = request_client(request)
        blocked_for = auth_block_seconds(client=client)
        if blocked_for is not None:
            raise ApiError(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                code="too_many_failed_authentications",
                message=auth_block_message(blocked_for),
                retry_after=blocked_for,
            )
        try:
            return _check_key(raw)
        except KeyRefused as refused:
            auth_failure_record(client=client, kind="api_key")
            logger.info(
                "API key refused (%s) from %s, prefix %s",
                refused.get_codes(), client, _public_prefix(raw),
            )  # fmt: skip
            raise

    def authenticate_header(self, request: Request) -> str:
        return AUTHORIZATION_SCHEME


def _public_prefix(raw: str) -> str:
    """The prefix of a well-formed key (shown in the admin and the key list), else "-"."""
    try:
        return split_key(raw)[0]
    except MalformedKey:
        return "-"


@functools.cache
def _key_and_owner_columns() -> tuple[ModelColumns[ApiKey], ModelColumns[Any], str]:
    key, owner = ModelColumns(ApiKey, "k"), ModelColumns(get_user_model(), "u")
    quote = connection.ops.quote_name
    sql = (
        f"SELECT {key.select}, {owner.select} FROM {quote(ApiKey._meta.db_table)} k "
        f"JOIN {quote(get_user_model()._meta.db_table)} u ON u.id = k.owner_id "
        "WHERE k.prefix = %s"
    )
    return key, owner, sql


def _key_with_owner(prefix: str) -> ApiKey | None:
    """The key with this (unique) prefix, its owner loaded (isidorus.core.rows: the ORM's
    select_related read cost about a millisecond of CPU on every request)."""
    key_columns, owner_columns, sql = _key_and_owner_columns()
    row = first_row(sql, [prefix])
    if row is None:
        return None
    key = key_columns.instance(row[: key_columns.count])
    key.owner = owner_columns.instance(row[key_columns.count :])
    return key


def _check_key(raw: str) -> tuple[Any, ApiKey]:
    try:
        prefix, secret = split_key(raw)
    except MalformedKey as error:
        raise KeyRefused("malformed_api_key", str(error)) from None
    key = _key_with_owner(prefix)
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
