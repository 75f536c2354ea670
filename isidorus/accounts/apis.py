from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response

from isidorus.accounts.api_views import OwnerApiView, request_owner
from isidorus.accounts.models import ApiKey, WebhookSecret
from isidorus.accounts.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CreatedApiKeySerializer,
)
from isidorus.accounts.services import KeyLimitReached, api_key_create, api_key_revoke
from isidorus.accounts.webhook_secrets import webhook_secret_rotate
from isidorus.core.errors import ApiError
from isidorus.core.serializers import ErrorSerializer


class ApiKeyListCreateApi(OwnerApiView):
    @extend_schema(
        responses=inline_serializer(
            name="ApiKeyList", fields={"results": ApiKeySerializer(many=True)}
        )
    )
    def get(self, request: Request) -> Response:
        keys = ApiKey.objects.filter(owner=request_owner(request))
        return Response({"results": ApiKeySerializer(keys, many=True).data})

    @extend_schema(
        request=ApiKeyCreateSerializer,
        responses={
            201: CreatedApiKeySerializer,
            409: OpenApiResponse(
                ErrorSerializer, description="The owner already holds the most active keys."
            ),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = ApiKeyCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        try:
            key, raw = api_key_create(owner=request_owner(request), **serializer.validated_data)
        except KeyLimitReached as error:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT, code="key_limit_reached", message=str(error)
            ) from None
        data: dict[str, Any] = dict(ApiKeySerializer(key).data)
        data["key"] = raw
        return Response(data, status=status.HTTP_201_CREATED)


class ApiKeyRevokeApi(OwnerApiView):
    @extend_schema(responses={204: None})
    def delete(self, request: Request, key_id: int) -> Response:
        key = ApiKey.objects.filter(owner=request_owner(request), pk=key_id).first()
        if key is None:
            raise Http404
        api_key_revoke(key=key)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookSecretApi(OwnerApiView):
    @extend_schema(
        responses=inline_serializer(
            name="WebhookSecretState",
            fields={
                "exists": serializers.BooleanField(),
                "created_at": serializers.DateTimeField(allow_null=True),
                "previous_valid_until": serializers.DateTimeField(allow_null=True),
            },
        ),
        description="Whether you have a webhook signing secret, and since when (never the secret).",
    )
    def get(self, request: Request) -> Response:
        found = WebhookSecret.objects.filter(owner=request_owner(request)).first()
        return Response(
            {
                "exists": found is not None,
                "created_at": found.created_at if found else None,
                "previous_valid_until": found.previous_valid_until if found else None,
            }
        )

    @extend_schema(
        request=None,
        responses={
            201: inline_serializer(
                name="WebhookSecretCreated",
                fields={
                    "secret": serializers.CharField(help_text="Shown only this once."),
                    "created_at": serializers.DateTimeField(),
                    "previous_valid_until": serializers.DateTimeField(
                        allow_null=True,
                        help_text="Until then the previous secret signs too (a rotation).",
                    ),
                },
            )
        },
        description="Create your webhook signing secret, or rotate it. The secret is shown "
        "once. After a rotation the previous secret keeps signing, beside the new one, for "
        "WEBHOOK_SECRET_OVERLAP_HOURS (24).",
    )
    def post(self, request: Request) -> Response:
        secret, raw = webhook_secret_rotate(owner=request_owner(request))
        return Response(
            {
                "secret": raw,
                "created_at": secret.created_at,
                "previous_valid_until": secret.previous_valid_until,
            },
            status=status.HTTP_201_CREATED,
        )
