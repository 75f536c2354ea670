from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response

from isidorus.accounts.api_views import OwnerApiView, request_owner
from isidorus.accounts.models import ApiKey
from isidorus.accounts.serializers import (
    ApiKeyCreateSerializer,
    ApiKeySerializer,
    CreatedApiKeySerializer,
)
from isidorus.accounts.services import KeyLimitReached, api_key_create, api_key_revoke
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
