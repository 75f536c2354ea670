"""An image's stored bytes, served through the API with the reader's own credentials.

The bucket stays private: the dashboard's gallery (and any client) reads images here, as
the job's owner, instead of from a public or presigned S3 URL that would reach the object
store's own address. Only raster formats are ever stored (isidorus/enrichment/imaging.py);
the answer still forbids sniffing and, if opened directly, runs nothing.
"""

from __future__ import annotations

from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.http import Http404, HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request

from isidorus.accounts.api_views import OwnerApiView
from isidorus.core.errors import ApiError
from isidorus.core.serializers import ErrorSerializer
from isidorus.enrichment.imaging import FORMATS
from isidorus.integrations.aws import s3_client
from isidorus.scrapings.models import Image
from isidorus.scrapings.readers import job_reader
from isidorus.scrapings.selectors import scraping_get

MAX_AGE_SECONDS = 300


class ImageContentApi(OwnerApiView):
    @extend_schema(
        operation_id="scrapings_images_content",
        description="The stored image's bytes (404 until enrichment has stored it).",
        parameters=[
            OpenApiParameter("job_id", OpenApiTypes.UUID, OpenApiParameter.PATH),
            OpenApiParameter("image_id", OpenApiTypes.INT, OpenApiParameter.PATH),
        ],
        responses={
            (200, "image/*"): OpenApiTypes.BINARY,
            404: OpenApiResponse(ErrorSerializer, description="No such stored image."),
            503: OpenApiResponse(ErrorSerializer, description="The object store did not answer."),
        },
    )
    def get(self, request: Request, job_id: str, image_id: str) -> HttpResponse:
        job = scraping_get(owner=job_reader(request), job_id=job_id)
        if job is None or not image_id.isdigit():
            raise Http404
        image = Image.objects.filter(scraping=job, pk=int(image_id)).exclude(s3_key="").first()
        if image is None:
            raise Http404
        try:
            stored = s3_client().get_object(Bucket=settings.S3_BUCKET, Key=image.s3_key)
            data = stored["Body"].read()
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in {"NoSuchKey", "404"}:
                raise Http404 from None
            raise _store_unavailable() from None
        except BotoCoreError:
            raise _store_unavailable() from None
        mime = FORMATS.get(image.format, ("application/octet-stream", ""))[0]
        response = HttpResponse(data, content_type=mime)
        response["Cache-Control"] = f"private, max-age={MAX_AGE_SECONDS}"
        response["X-Content-Type-Options"] = "nosniff"
        response["Content-Security-Policy"] = "default-src 'none'; sandbox"
        return response


def _store_unavailable() -> ApiError:
    return ApiError(
        status_code=status.HTTP_503_SERVICE_UNAVAILABLE,
        code="store_unavailable",
        message="the image store did not answer; try again",
        retry_after=5,
    )
