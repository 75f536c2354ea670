"""The job API: start a crawl, list jobs, read a job's live status and its results.

Another owner's job is a 404, never a 403, so ids tell nothing about other owners.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response

from isidorus.accounts.api_views import OwnerApiView, request_owner
from isidorus.accounts.throttles import CrawlStartThrottle, OwnerRequestThrottle
from isidorus.accounts.webhook_secrets import signing_secrets
from isidorus.core.errors import ApiError
from isidorus.core.serializers import ErrorSerializer
from isidorus.scrapings.detail_cache import scraping_detail_recent
from isidorus.scrapings.models import JobStatus, Outcome, Scraping, WebhookDelivery
from isidorus.scrapings.pagination import (
    MAX_PAGE_SIZE,
    IdCursorPagination,
    NumberedPagination,
    PageCursorPagination,
    ScrapingCursorPagination,
)
from isidorus.scrapings.readers import job_reader
from isidorus.scrapings.search import MAX_QUERY_LENGTH, page_search
from isidorus.scrapings.selectors import (
    MAX_TOP_TERMS,
    TOP_TERMS,
    image_list,
    link_list,
    page_get,
    page_list,
    scraping_detail,
    scraping_get,
    scraping_list,
    term_totals,
)
from isidorus.scrapings.serializers import (
    IDEMPOTENCY_HEADER,
    MAX_TERM_PREFIX_LENGTH,
    JobImageListSerializer,
    JobImageSerializer,
    JobLinkListSerializer,
    JobLinkSerializer,
    LinkListFilterSerializer,
    PageDetailSerializer,
    PageListFilterSerializer,
    PageListSerializer,
    PageSerializer,
    ScrapingDetailSerializer,
    ScrapingListFilterSerializer,
    ScrapingListSerializer,
    ScrapingSerializer,
    ScrapingStartSerializer,
    SearchFilterSerializer,
    SearchHitSerializer,
    SearchResultListSerializer,
    TermTotalListSerializer,
    TermTotalSerializer,
    TermTotalsFilterSerializer,
    WebhookDeliveryListSerializer,
    WebhookDeliverySerializer,
    idempotency_key_from,
    selected_fields,
)
from isidorus.scrapings.services.lifecycle import AlreadyFinished, scraping_cancel, scraping_delete
from isidorus.scrapings.services.start import StartRefused, StartRequest, scraping_start

_JOB_ID = OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH)
_PAGE_ID = OpenApiParameter("page_id", OpenApiTypes.INT, OpenApiParameter.PATH)
_CURSOR = OpenApiParameter("cursor", OpenApiTypes.STR, description="From `next` or `previous`.")
_PAGE_SIZE = OpenApiParameter(
    "page_size", OpenApiTypes.INT, description=f"1 to {MAX_PAGE_SIZE} (default 20)."
)
_FIELDS = OpenApiParameter(
    "fields",
    OpenApiTypes.STR,
    description="Comma-separated fields to return (default: all; `id` always comes). "
    "An unknown name is a 400.",
)
_NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such job (or not yours).")
_INVALID = OpenApiResponse(ErrorSerializer, description="Invalid fields or parameters.")
_SEARCH_PAGES = NumberedPagination()


def _owned_job(request: Request, job_id: str) -> Scraping:
    job = scraping_get(owner=job_reader(request), job_id=job_id)
    if job is None:
        raise Http404
    return job


class ScrapingListStartApi(OwnerApiView):
    # CrawlStartThrottle counts POSTs only.
    throttle_classes = [OwnerRequestThrottle, CrawlStartThrottle]

    @extend_schema(
        operation_id="scrapings_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=JobStatus.values),
            _CURSOR,
            _PAGE_SIZE,
        ],
        responses={200: ScrapingListSerializer, 400: _INVALID},
    )
    def get(self, request: Request) -> Response:
        filters = ScrapingListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = ScrapingCursorPagination()
        jobs = paginator.paginate_queryset(
            scraping_list(owner=job_reader(request), **filters.validated_data), request, view=self
        )
        data = ScrapingSerializer(jobs, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)

    @extend_schema(
        operation_id="scrapings_create",
        request=ScrapingStartSerializer,
        parameters=[
            OpenApiParameter(
                IDEMPOTENCY_HEADER,
                OpenApiTypes.STR,
                OpenApiParameter.HEADER,
                description="Up to 200 characters. A retried start with the same key "
                "returns the job it started (200 instead of 202) and starts nothing.",
            )
        ],
        responses={
            202: OpenApiResponse(ScrapingSerializer, description="Started."),
            200: OpenApiResponse(ScrapingSerializer, description="Already started (same key)."),
            400: _INVALID,
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many running jobs, daily page quota used up, or too many "
                "starts per minute. Retry-After says when to retry.",
            ),
        },
    )
    def post(self, request: Request) -> Response:
        key = idempotency_key_from(request.headers.get(IDEMPOTENCY_HEADER))
        serializer = ScrapingStartSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        if serializer.validated_data.get("webhook") and not signing_secrets(
            request_owner(request).pk
        ):
            raise ValidationError(
                {"webhook": ["create your webhook secret first: POST /api/v1/webhook-secret/"]}
            )
        try:
            job, created = scraping_start(
                owner=request.user,
                request=StartRequest(**serializer.validated_data, idempotency_key=key),
            )
        except StartRefused as refused:
            raise ApiError(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                code=refused.code,
                message=refused.message,
                retry_after=refused.retry_after,
            ) from None
        return Response(
            ScrapingSerializer(job, context={"request": request}).data,
            status=status.HTTP_202_ACCEPTED if created else status.HTTP_200_OK,
        )


class ScrapingDetailApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_retrieve",
        parameters=[_JOB_ID],
        responses={200: ScrapingDetailSerializer, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        detail = scraping_detail_recent(job)
        return Response(ScrapingDetailSerializer(detail, context={"request": request}).data)

    @extend_schema(
        operation_id="scrapings_destroy",
        parameters=[_JOB_ID],
        responses={204: None, 404: _NOT_FOUND},
    )
    def delete(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        scraping_delete(job=job)
        return Response(status=status.HTTP_204_NO_CONTENT)


class ScrapingCancelApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_cancel",
        request=None,
        parameters=[_JOB_ID],
        responses={200: ScrapingDetailSerializer, 404: _NOT_FOUND, 409: _NOT_FOUND},
    )
    def post(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        try:
            scraping_cancel(job=job)
        except AlreadyFinished as finished:
            raise ApiError(
                status_code=status.HTTP_409_CONFLICT, code="job_finished", message=str(finished)
            ) from None
        job.refresh_from_db()
        detail = scraping_detail(job=job)
        return Response(ScrapingDetailSerializer(detail, context={"request": request}).data)


class PageListApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_pages_list",
        parameters=[
            _JOB_ID,
            OpenApiParameter("outcome", OpenApiTypes.STR, enum=Outcome.values),
            OpenApiParameter("depth", OpenApiTypes.INT),
            _FIELDS,
            _CURSOR,
            _PAGE_SIZE,
        ],
        responses={200: PageListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        filters = PageListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        fields = selected_fields(request.query_params.get("fields"), PageSerializer)
        paginator = PageCursorPagination()
        # The rows are PageSerializer's fields with their values as the API answers them.
        rows = paginator.paginate_queryset(
            page_list(job=job, fields=fields, **filters.validated_data), request, view=self
        )
        return paginator.get_paginated_response(rows)


class PageDetailApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_pages_retrieve",
        parameters=[_JOB_ID, _PAGE_ID, _FIELDS],
        responses={200: PageDetailSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str, page_id: str) -> Response:
        fields = selected_fields(request.query_params.get("fields"), PageDetailSerializer)
        page = page_get(owner=job_reader(request), job_id=job_id, page_id=page_id, fields=fields)
        if page is None:
            raise Http404
        return Response(PageDetailSerializer(page, context={"fields": fields}).data)


class TermTotalsApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_terms_list",
        description="The job's most frequent terms over all its pages, most frequent first "
        "(ties by term). A top-N list, not paginated: raise `limit` to see more.",
        parameters=[
            _JOB_ID,
            OpenApiParameter(
                "limit",
                OpenApiTypes.INT,
                description=f"1 to {MAX_TOP_TERMS} (default {TOP_TERMS}).",
            ),
            OpenApiParameter(
                "prefix",
                OpenApiTypes.STR,
                description=f"Only terms starting with this (case-insensitive; at most "
                f"{MAX_TERM_PREFIX_LENGTH} characters).",
            ),
        ],
        responses={200: TermTotalListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        filters = TermTotalsFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        terms = term_totals(job=job, **filters.validated_data)
        return Response({"results": TermTotalSerializer(terms, many=True).data})


class LinkListApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_links_list",
        description="The links found on the job's pages, in the order they were written.",
        parameters=[
            _JOB_ID,
            OpenApiParameter(
                "internal",
                OpenApiTypes.STR,
                enum=["true", "false"],
                description="Only links inside (true) or outside (false) the job's scope.",
            ),
            _CURSOR,
            _PAGE_SIZE,
        ],
        responses={200: JobLinkListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        filters = LinkListFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        paginator = IdCursorPagination()
        # LinkRows reads as the queryset the paginator expects (order_by, filter, slice).
        rows: Any = link_list(job=job, **filters.validated_data)
        links: list[Any] | None = paginator.paginate_queryset(rows, request, view=self)
        return paginator.get_paginated_response(JobLinkSerializer(links, many=True).data)


class WebhookDeliveryListApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_webhook_deliveries_list",
        description="The job's webhook events, oldest first: each with its id (the "
        "receiver's deduplication key), status (pending, delivered, given_up), attempts, "
        "and the last answer or error.",
        parameters=[_JOB_ID, _CURSOR, _PAGE_SIZE],
        responses={200: WebhookDeliveryListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        paginator = IdCursorPagination()
        deliveries = paginator.paginate_queryset(
            WebhookDelivery.objects.filter(scraping=job), request, view=self
        )
        return paginator.get_paginated_response(
            WebhookDeliverySerializer(deliveries, many=True).data
        )


class ImageListApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_images_list",
        description="The images found on the job's pages, in the order they were written. "
        "Download and description fields stay empty until enrichment fills them.",
        parameters=[_JOB_ID, _CURSOR, _PAGE_SIZE],
        responses={200: JobImageListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request, job_id: str) -> Response:
        job = _owned_job(request, job_id)
        paginator = IdCursorPagination()
        images = paginator.paginate_queryset(image_list(job=job), request, view=self)
        data = JobImageSerializer(images, many=True, context={"request": request}).data
        return paginator.get_paginated_response(data)


class SearchApi(OwnerApiView):
    @extend_schema(
        operation_id="search",
        description="Full-text search (English) over the titles, summaries and text of "
        "your pages, best match first. `q` takes web-search syntax: words, "
        '`"a phrase"`, `or`, `-excluded`. Ranked results cannot follow a cursor, so '
        f"pages are numbered: `page` 1 to {_SEARCH_PAGES.max_page}, `page_size` 1 to "
        f"{_SEARCH_PAGES.max_page_size}; there is no total count.",
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                required=True,
                description=f"The search text (1 to {MAX_QUERY_LENGTH} characters).",
            ),
            OpenApiParameter(
                "scraping", OpenApiTypes.UUID, description="Search only this job's pages."
            ),
            OpenApiParameter(
                "include_duplicates",
                OpenApiTypes.BOOL,
                description="Also pages whose rel=canonical names another page (default false).",
            ),
            OpenApiParameter(
                "include_noindex",
                OpenApiTypes.BOOL,
                description="Also pages that say noindex (default false).",
            ),
            OpenApiParameter(
                "page", OpenApiTypes.INT, description=f"1 to {_SEARCH_PAGES.max_page}."
            ),
            OpenApiParameter(
                "page_size",
                OpenApiTypes.INT,
                description=f"1 to {_SEARCH_PAGES.max_page_size} "
                f"(default {_SEARCH_PAGES.default_page_size}).",
            ),
        ],
        responses={200: SearchResultListSerializer, 400: _INVALID, 404: _NOT_FOUND},
    )
    def get(self, request: Request) -> Response:
        filters = SearchFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        page = _SEARCH_PAGES.parse(request)
        scraping_id = filters.validated_data.get("scraping")
        job = _owned_job(request, scraping_id) if scraping_id is not None else None
        found = page_search(
            owner=job_reader(request),
            text=filters.validated_data["q"],
            job=job,
            offset=page.offset,
            limit=page.size,
            include=filters.inclusion(),
        )
        next_url, previous_url = _SEARCH_PAGES.links(request, page, has_more=found.has_more)
        return Response(
            {
                "next": next_url,
                "previous": previous_url,
                "results": SearchHitSerializer(found.hits, many=True).data,
            }
        )
