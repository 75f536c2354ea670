"""GET /api/v1/scrapings/{id}/export/: a whole job in one streamed response."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import Http404, StreamingHttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request

from isidorus.accounts.api_views import OwnerApiView
from isidorus.core.errors import ApiError
from isidorus.core.serializers import ErrorSerializer
from isidorus.scrapings.exports.formats import FORMATS
from isidorus.scrapings.exports.service import (
    EXPORT_RETRY_AFTER_SECONDS,
    TooManyExports,
    export_start,
)
from isidorus.scrapings.readers import job_reader
from isidorus.scrapings.selectors import scraping_get
from isidorus.scrapings.serializers import ExportFilterSerializer


class _FormatIsOurs(DefaultContentNegotiation):
    """`?format=` names the export's format here, not one of DRF's renderers (errors are
    JSON, as everywhere)."""

    def select_renderer(
        self, request: Request, renderers: Iterable[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        first = next(iter(renderers))
        return first, str(first.media_type)


class ExportApi(OwnerApiView):
    content_negotiation_class = _FormatIsOurs

    @extend_schema(
        operation_id="scrapings_export",
        description="The whole job in one streamed response: `jsonl` (one page a line, then "
        "a summary record saying how many pages and whether the job had finished), `csv`, "
        "or `markdown` (a zip of one `.md` file per page, then `manifest.json`). A running "
        "job exports what is written so far. Pages that say noindex, and duplicates of a "
        "canonical page, are left out unless asked for.",
        parameters=[
            OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("format", OpenApiTypes.STR, enum=sorted(FORMATS)),
            OpenApiParameter("include_duplicates", OpenApiTypes.BOOL),
            OpenApiParameter("include_noindex", OpenApiTypes.BOOL),
        ],
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            (200, "text/csv"): OpenApiTypes.STR,
            (200, "application/zip"): OpenApiTypes.BINARY,
            400: OpenApiResponse(ErrorSerializer, description="Invalid parameters."),
            404: OpenApiResponse(ErrorSerializer, description="No such job (or not yours)."),
            429: OpenApiResponse(
                ErrorSerializer,
                description="Too many exports of yours are running; Retry-After says when "
                "to try again.",
            ),
        },
    )
    def get(self, request: Request, job_id: str) -> Any:
        job = scraping_get(owner=job_reader(request), job_id=job_id)
        if job is None:
            raise Http404
        options = ExportFilterSerializer(data=request.query_params)
        options.is_valid(raise_exception=True)
        file_format = options.validated_data["format"]
        try:
            export = export_start(job=job, file_format=file_format, include=options.inclusion())
        except TooManyExports:
            raise ApiError(
                status_code=status.HTTP_429_TOO_MANY_REQUESTS,
                code="too_many_exports",
                message="Too many of your exports are running; retry when one has ended.",
                retry_after=EXPORT_RETRY_AFTER_SECONDS,
            ) from None
        response = StreamingHttpResponse(export.stream, content_type=export.content_type)
        response["Content-Disposition"] = f'attachment; filename="{export.filename}"'
        # Proxies must pass the stream on as it comes (nginx buffers responses otherwise).
        response["X-Accel-Buffering"] = "no"
        return response
