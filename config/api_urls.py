from __future__ import annotations

from django.urls import path

from isidorus.accounts.apis import ApiKeyListCreateApi, ApiKeyRevokeApi, WebhookSecretApi
from isidorus.enrichment.image_api import ImageContentApi
from isidorus.scrapings.apis import (
    ImageListApi,
    LinkListApi,
    PageDetailApi,
    PageListApi,
    ScrapingCancelApi,
    ScrapingDetailApi,
    ScrapingListStartApi,
    SearchApi,
    TermTotalsApi,
    WebhookDeliveryListApi,
)
from isidorus.scrapings.export_api import ExportApi

# Job and page ids are matched as plain strings and parsed by the selectors, so a
# malformed id is the API's JSON 404, not Django's HTML one.
urlpatterns = [
    path("keys/", ApiKeyListCreateApi.as_view(), name="api-keys"),
    path("keys/<int:key_id>/", ApiKeyRevokeApi.as_view(), name="api-key-revoke"),
    path("webhook-secret/", WebhookSecretApi.as_view(), name="webhook-secret"),
    path("scrapings/", ScrapingListStartApi.as_view(), name="scrapings"),
    path("scrapings/<str:job_id>/", ScrapingDetailApi.as_view(), name="scraping-detail"),
    path("scrapings/<str:job_id>/pages/", PageListApi.as_view(), name="scraping-pages"),
    path(
        "scrapings/<str:job_id>/pages/<str:page_id>/",
        PageDetailApi.as_view(),
        name="scraping-page-detail",
    ),
    path("scrapings/<str:job_id>/cancel/", ScrapingCancelApi.as_view(), name="scraping-cancel"),
    path("scrapings/<str:job_id>/terms/", TermTotalsApi.as_view(), name="scraping-terms"),
    path("scrapings/<str:job_id>/links/", LinkListApi.as_view(), name="scraping-links"),
    path("scrapings/<str:job_id>/images/", ImageListApi.as_view(), name="scraping-images"),
    path(
        "scrapings/<str:job_id>/images/<str:image_id>/content/",
        ImageContentApi.as_view(),
        name="scraping-image-content",
    ),
    path("scrapings/<str:job_id>/export/", ExportApi.as_view(), name="scraping-export"),
    path(
        "scrapings/<str:job_id>/webhook-deliveries/",
        WebhookDeliveryListApi.as_view(),
        name="scraping-webhook-deliveries",
    ),
    path("search/", SearchApi.as_view(), name="search"),
]
