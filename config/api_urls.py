from __future__ import annotations

from django.urls import path

from isidorus.accounts.apis import ApiKeyListCreateApi, ApiKeyRevokeApi

urlpatterns = [
    path("keys/", ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:key_id>/", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
]
