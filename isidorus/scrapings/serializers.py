"""Input validation and output shapes of the job API. No logic beyond checking input."""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from isidorus.crawling.scope import validate_patterns
from isidorus.crawling.urls import canonicalize
from isidorus.integrations.network_policy import url_address_problem
from isidorus.scrapings.exports.formats import FORMATS
from isidorus.scrapings.models import (
    Image,
    JobStatus,
    Outcome,
    Page,
    Scope,
    SitemapMode,
    WebhookDelivery,
)
from isidorus.scrapings.search import MAX_QUERY_LENGTH, Inclusion
from isidorus.scrapings.selectors import MAX_TOP_TERMS, TOP_TERMS
from isidorus.scrapings.webhooks.options import DEFAULT_EVENTS, EVENTS

MAX_PATTERNS = 50
MAX_TERM_PREFIX_LENGTH = 100
IDEMPOTENCY_HEADER = "Idempotency-Key"
MAX_IDEMPOTENCY_KEY_LENGTH = 200
_SMALLINT_MAX = 32767


def idempotency_key_from(value: str | None) -> str | None:
    """The optional Idempotency-Key header; present but blank or too long is a 400."""
    if value is None:
        return None
    key = value.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY_LENGTH:
        raise serializers.ValidationError(
            {IDEMPOTENCY_HEADER: [f"must be 1 to {MAX_IDEMPOTENCY_KEY_LENGTH} characters"]}
        )
    return key


def _default_max_pages() -> int:
    return int(settings.CRAWL_DEFAULT_MAX_PAGES)


def _pattern_list(help_text: str) -> serializers.ListField:
    # Whitespace is significant in a regular expression: never trim it.
    return serializers.ListField(
        child=serializers.CharField(trim_whitespace=False),
        default=list,
        max_length=MAX_PATTERNS,
        help_text=help_text,
    )


class WebhookOptionSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(
        max_length=2000,
        help_text="Where events are POSTed. Checked against the address policy now and on "
        "every connection; redirects are not followed.",
    )
    events = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENTS),
        default=list(DEFAULT_EVENTS),
        allow_empty=False,
        help_text="Default: job.started, job.completed, job.failed, job.cancelled.",
    )
    progress_seconds = serializers.IntegerField(
        min_value=settings.WEBHOOK_MIN_PROGRESS_SECONDS,
        max_value=86400,
        required=False,
        allow_null=True,
        default=None,
        help_text="With job.progress: at most one progress event this often (default 30).",
    )

    def validate_url(self, value: str) -> str:
        canonical = canonicalize(value)
        if canonical is None:
            raise serializers.ValidationError("is not an http(s) URL")
        problem = url_address_problem(canonical)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return canonical

    def validate_events(self, value: list[str]) -> list[str]:
        return list(dict.fromkeys(value))


class ScrapingStartSerializer(serializers.Serializer[Any]):
    url = serializers.CharField(help_text="The start URL (http or https).")
    depth = serializers.IntegerField(
        default=1, help_text="Link hops from the start URL (0 to CRAWL_MAX_DEPTH)."
    )
    max_pages = serializers.IntegerField(
        default=_default_max_pages,
        help_text="Pages to fetch at most (1 to CRAWL_MAX_PAGES_LIMIT; "
        "default CRAWL_DEFAULT_MAX_PAGES).",
    )
    scope = serializers.ChoiceField(choices=Scope.choices, default=Scope.HOST)
    include = _pattern_list("Regular expressions; a URL must match one of them (if any).")
    exclude = _pattern_list("Regular expressions; a URL matching any of them is skipped.")
    respect_robots = serializers.BooleanField(default=True)
    follow_nofollow = serializers.BooleanField(
        default=False,
        help_text="Follow links marked nofollow (rel=nofollow, or a page's robots meta tag or "
        "X-Robots-Tag). By default they are recorded and not followed.",
    )
    sitemap = serializers.ChoiceField(
        choices=SitemapMode.choices,
        default=SitemapMode.INCLUDE,
        help_text="include: seed the URLs of the site's sitemaps (robots.txt Sitemap: lines "
        "and /sitemap.xml) alongside link discovery, at depth 1; only: crawl those URLs and "
        "follow no links; skip: ignore sitemaps.",
    )
    summarize = serializers.BooleanField(default=True)
    describe_images = serializers.BooleanField(default=True)
    webhook = WebhookOptionSerializer(
        required=False,
        allow_null=True,
        default=None,
        help_text="Signed POSTs of the job's events (create your secret first: "
        "POST /api/v1/webhook-secret/).",
    )
    token_budget = serializers.IntegerField(
        required=False, allow_null=True, default=None, min_value=1, max_value=10**9,
        help_text="Optional cap on LLM tokens (in + out) spent on this job's enrichment.",
    )  # fmt: skip

    def to_internal_value(self, data: Any) -> dict[str, Any]:
        # Report unknown fields together with the other bad fields, so one retry fixes all.
        unknown = sorted(set(data) - set(self.fields)) if isinstance(data, Mapping) else []
        errors: dict[str, Any] = {str(name): ["unknown field"] for name in unknown}
        try:
            value: dict[str, Any] = super().to_internal_value(data)
        except serializers.ValidationError as error:
            if not unknown or not isinstance(error.detail, dict):
                raise
            raise serializers.ValidationError({**errors, **error.detail}) from None
        if errors:
            raise serializers.ValidationError(errors)
        return value

    def validate_url(self, value: str) -> str:
        limit = int(settings.CRAWL_MAX_URL_LENGTH)
        if len(value) > limit:
            raise serializers.ValidationError(f"must be at most {limit} characters long")
        try:
            scheme = urlsplit(value).scheme.lower()
        except ValueError:
            scheme = ""
        if not scheme:
            raise serializers.ValidationError("must be an absolute http or https URL")
        if scheme not in ("http", "https"):
            raise serializers.ValidationError("only http and https URLs are supported")
        canonical = canonicalize(value, max_length=limit)
        if canonical is None:
            raise serializers.ValidationError("is not a valid URL")
        problem = url_address_problem(canonical)
        if problem is not None:
            raise serializers.ValidationError(problem)
        return canonical

    def validate_depth(self, value: int) -> int:
        return _in_range(value, 0, int(settings.CRAWL_MAX_DEPTH))

    def validate_max_pages(self, value: int) -> int:
        return _in_range(value, 1, int(settings.CRAWL_MAX_PAGES_LIMIT))

    def validate_include(self, value: list[str]) -> list[str]:
        return _valid_patterns(value)

    def validate_exclude(self, value: list[str]) -> list[str]:
        return _valid_patterns(value)


def _in_range(value: int, low: int, high: int) -> int:
    if not low <= value <= high:
        raise serializers.ValidationError(f"must be from {low} to {high}")
    return value


def _valid_patterns(patterns: list[str]) -> list[str]:
    errors = validate_patterns(patterns)
    if errors:
        raise serializers.ValidationError(errors)
    return patterns


class ScrapingListFilterSerializer(serializers.Serializer[Any]):
    status = serializers.ChoiceField(choices=JobStatus.choices, required=False)


class PageListFilterSerializer(serializers.Serializer[Any]):
    outcome = serializers.ChoiceField(choices=Outcome.choices, required=False)
    depth = serializers.IntegerField(min_value=0, max_value=_SMALLINT_MAX, required=False)


class TermTotalsFilterSerializer(serializers.Serializer[Any]):
    limit = serializers.IntegerField(default=TOP_TERMS, min_value=1, max_value=MAX_TOP_TERMS)
    prefix = serializers.CharField(required=False, max_length=MAX_TERM_PREFIX_LENGTH)

    def validate_prefix(self, value: str) -> str:
        # Terms are stored NFKC-normalised and case-folded (isidorus.crawling.terms).
        return unicodedata.normalize("NFKC", value).casefold()


class LinkListFilterSerializer(serializers.Serializer[Any]):
    # Only "true" or "false": DRF's BooleanField would read a missing value as False.
    internal = serializers.ChoiceField(choices=["true", "false"], required=False)

    def validate_internal(self, value: str) -> bool:
        return value == "true"


class _InclusionSerializer(serializers.Serializer[Any]):
    """Search's and export's `include_duplicates` and `include_noindex` (see Inclusion)."""

    # Only "true" or "false", as for the link list's `internal`.
    include_duplicates = serializers.ChoiceField(choices=["true", "false"], default="false")
    include_noindex = serializers.ChoiceField(choices=["true", "false"], default="false")

    def inclusion(self) -> Inclusion:
        data = self.validated_data
        return Inclusion(
            duplicates=data["include_duplicates"] == "true",
            noindex=data["include_noindex"] == "true",
        )


class SearchFilterSerializer(_InclusionSerializer):
    q = serializers.CharField(max_length=MAX_QUERY_LENGTH)
    # Parsed by the selector: a malformed id is an unknown job (404), as in URLs.
    scraping = serializers.CharField(required=False)


class ExportFilterSerializer(_InclusionSerializer):
    format = serializers.ChoiceField(choices=sorted(FORMATS), default="jsonl")


class ScrapingSerializer(serializers.Serializer[Any]):
    """A job as stored; the list and the start answer with it (status as last mirrored)."""

    id = serializers.UUIDField(read_only=True)
    status = serializers.ChoiceField(choices=JobStatus.choices, read_only=True)
    status_reason = serializers.CharField(read_only=True)
    status_url = serializers.SerializerMethodField()
    pages_url = serializers.SerializerMethodField()
    url = serializers.CharField(read_only=True)
    depth = serializers.IntegerField(read_only=True)
    max_pages = serializers.IntegerField(read_only=True)
    scope = serializers.ChoiceField(choices=Scope.choices, read_only=True)
    include = serializers.ListField(child=serializers.CharField(), read_only=True)
    exclude = serializers.ListField(child=serializers.CharField(), read_only=True)
    respect_robots = serializers.BooleanField(read_only=True)
    follow_nofollow = serializers.BooleanField(read_only=True)
    sitemap = serializers.ChoiceField(choices=SitemapMode.choices, read_only=True)
    webhook = WebhookOptionSerializer(read_only=True, allow_null=True)
    summarize = serializers.BooleanField(read_only=True)
    describe_images = serializers.BooleanField(read_only=True)
    token_budget = serializers.IntegerField(read_only=True, allow_null=True)
    created_at = serializers.DateTimeField(read_only=True)
    started_at = serializers.DateTimeField(read_only=True, allow_null=True)
    finished_at = serializers.DateTimeField(read_only=True, allow_null=True)

    def _absolute(self, name: str, obj: Any) -> str:
        return str(self.context["request"].build_absolute_uri(reverse(name, args=[str(obj.id)])))

    @extend_schema_field(OpenApiTypes.URI)
    def get_status_url(self, obj: Any) -> str:
        return self._absolute("scraping-detail", obj)

    @extend_schema_field(OpenApiTypes.URI)
    def get_pages_url(self, obj: Any) -> str:
        return self._absolute("scraping-pages", obj)


class CountersSerializer(serializers.Serializer[Any]):
    fetched = serializers.IntegerField()
    failed = serializers.IntegerField()
    skipped = serializers.IntegerField(
        help_text="Pages stored as skipped; known duplicates are counted only by reason."
    )
    skipped_by_reason = serializers.DictField(child=serializers.IntegerField())
    failed_by_reason = serializers.DictField(child=serializers.IntegerField())
    links = serializers.IntegerField()
    images = serializers.IntegerField()
    enrichment = serializers.DictField(
        child=serializers.IntegerField(),
        help_text="Summaries and images done or failed, and LLM tokens in and out, for the job.",
    )


class StageProgressSerializer(serializers.Serializer[Any]):
    done = serializers.IntegerField(help_text="Items finished (written, failed or skipped).")
    open = serializers.IntegerField(
        allow_null=True, help_text="Items admitted and not finished yet; null while unknown."
    )
    admitted = serializers.IntegerField(allow_null=True, help_text="done + open.")


class JobProgressSerializer(serializers.Serializer[Any]):
    pages = StageProgressSerializer(help_text="Pages: done of admitted (grows as links are found).")
    enrichment = StageProgressSerializer(help_text="Summaries and images: done of admitted.")


class ScrapingDetailSerializer(ScrapingSerializer):
    """A job with its live status, timestamps, counters (DynamoDB) and progress."""

    duration_seconds = serializers.FloatField(read_only=True, allow_null=True)
    pages_per_second = serializers.FloatField(read_only=True, allow_null=True)
    counters = CountersSerializer(read_only=True)
    progress = JobProgressSerializer(read_only=True)


def selected_fields(
    raw: str | None, serializer: type[serializers.Serializer[Any]]
) -> frozenset[str]:
    """The `?fields=` of a request: comma-separated names of `serializer`'s fields.

    Empty when absent (all fields). An unknown name is a 400 that lists the known ones.
    """
    if raw is None:
        return frozenset()
    names = [name.strip() for name in raw.split(",") if name.strip()]
    known = list(serializer().fields)
    unknown = sorted(set(names) - set(known))
    if unknown or not names:
        problem = f"unknown field(s): {', '.join(unknown)}" if unknown else "no field named"
        raise serializers.ValidationError({"fields": [f"{problem}; known: {', '.join(known)}"]})
    return frozenset(names)


class _FieldSelection:
    """Keeps only the fields named in `context["fields"]` (always `id`), when given."""

    fields: Any
    context: Any

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        wanted = self.context.get("fields")
        if wanted:
            for name in list(self.fields):
                if name != "id" and name not in wanted:
                    self.fields.pop(name)


class PageSerializer(_FieldSelection, serializers.ModelSerializer[Page]):
    class Meta:
        model = Page
        fields = [
            "id", "url", "final_url", "status_code", "title", "depth", "parent_url",
            "outcome", "reason", "content_source", "summary", "summary_model",
            "summary_prompt_version", "summary_error", "noindex", "nofollow", "canonical_url",
            "is_canonical",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            "content_source": {
                "help_text": "main: the page's main content (navigation, sidebars and other "
                "page furniture left out); full_text: the main content was almost nothing, "
                "so `text` and `content_markdown` hold the whole page; empty for pages not "
                "fetched."
            },
            "summary": {"help_text": "Empty until the page is summarised (or when it failed)."},
            "summary_error": {"help_text": "Why the page has no summary, when it has none."},
            "noindex": {
                "help_text": "The page says noindex (robots meta tag or X-Robots-Tag): it is "
                "left out of search and the job's term totals."
            },
            "nofollow": {"help_text": "The page says nofollow for all its links."},
            "canonical_url": {"help_text": "The page's <link rel=canonical>, if any."},
            "is_canonical": {
                "help_text": "False when canonical_url names another page: search shows the "
                "canonical page only, unless include_duplicates=true."
            },
        }


class TermSerializer(serializers.Serializer[Any]):
    term = serializers.CharField()
    count = serializers.IntegerField()


class LinkSerializer(serializers.Serializer[Any]):
    target_url = serializers.CharField()
    internal = serializers.BooleanField()
    nofollow = serializers.BooleanField()


class PageImageSerializer(serializers.ModelSerializer[Image]):
    class Meta:
        model = Image
        fields = [
            "id", "url", "alt", "title", "caption", "outcome", "reason", "s3_key", "format",
            "width", "height", "bytes", "description", "described_by_llm",
        ]  # fmt: skip
        read_only_fields = fields


class PageDetailSerializer(PageSerializer):
    terms = TermSerializer(source="top_terms", many=True, read_only=True)
    links = LinkSerializer(source="outgoing_links", many=True, read_only=True)
    images = PageImageSerializer(source="page_images", many=True, read_only=True)

    class Meta(PageSerializer.Meta):
        fields = [
            *PageSerializer.Meta.fields, "content_type", "bytes", "fetched_at",
            "content_markdown", "text", "full_text", "terms", "links", "images",
        ]  # fmt: skip
        read_only_fields = fields
        extra_kwargs = {
            **PageSerializer.Meta.extra_kwargs,
            "content_markdown": {"help_text": "The content as Markdown (see content_source)."},
            "text": {"help_text": "The content as plain text, one block per line."},
            "full_text": {"help_text": "Every visible string of the page, navigation included."},
        }


class _CursorPageSerializer(serializers.Serializer[Any]):
    """A cursor-paginated list: subclasses add `results`."""

    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class ScrapingListSerializer(_CursorPageSerializer):
    results = ScrapingSerializer(many=True)


class PageListSerializer(_CursorPageSerializer):
    results = PageSerializer(many=True)


class TermTotalSerializer(serializers.Serializer[Any]):
    term = serializers.CharField()
    count = serializers.IntegerField(source="total", help_text="Occurrences on all pages.")
    pages = serializers.IntegerField(help_text="Pages the term occurs on.")


class TermTotalListSerializer(serializers.Serializer[Any]):
    results = TermTotalSerializer(many=True)


class JobLinkSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(
        help_text="The page's id x 2^20 + the link's position on the page: ascending in "
        "the order the links were written."
    )
    page_id = serializers.IntegerField(help_text="The page the link was found on.")
    source_url = serializers.CharField(help_text="That page's URL.")
    target_url = serializers.CharField()
    internal = serializers.BooleanField(help_text="Inside the job's scope.")
    nofollow = serializers.BooleanField()


class JobLinkListSerializer(_CursorPageSerializer):
    results = JobLinkSerializer(many=True)


class JobImageSerializer(serializers.ModelSerializer[Image]):
    page_id = serializers.IntegerField(read_only=True)
    content_url = serializers.SerializerMethodField(
        help_text="The stored bytes, read through the API with your credentials; null "
        "until the image is stored."
    )

    class Meta:
        model = Image
        fields = [
            "id", "page_id", "url", "alt", "title", "caption", "outcome", "reason", "s3_key",
            "sha256", "format", "width", "height", "bytes", "description", "described_by_llm",
            "content_url",
        ]  # fmt: skip
        read_only_fields = fields

    @extend_schema_field(OpenApiTypes.URI)
    def get_content_url(self, image: Image) -> str | None:
        if not image.s3_key:
            return None
        path = reverse("scraping-image-content", args=[str(image.scraping_id), image.pk])
        return str(self.context["request"].build_absolute_uri(path))


class JobImageListSerializer(_CursorPageSerializer):
    results = JobImageSerializer(many=True)


class SearchHitPageSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField(source="page_id")
    url = serializers.CharField()
    title = serializers.CharField()


class SearchHitSerializer(serializers.Serializer[Any]):
    page = SearchHitPageSerializer(source="*")
    scraping = serializers.UUIDField(source="scraping_id", help_text="The page's job.")
    rank = serializers.FloatField(help_text="ts_rank; higher is better.")
    snippet = serializers.CharField(
        help_text="HTML: the page text around the matches, escaped, matches in <mark>."
    )


class SearchResultListSerializer(_CursorPageSerializer):
    results = SearchHitSerializer(many=True)


class WebhookDeliverySerializer(serializers.ModelSerializer[WebhookDelivery]):
    class Meta:
        model = WebhookDelivery
        fields = [
            "event_id", "event", "status", "attempts", "last_status_code", "last_error",
            "created_at", "delivered_at", "next_attempt_at",
        ]  # fmt: skip
        read_only_fields = fields


class WebhookDeliveryListSerializer(_CursorPageSerializer):
    results = WebhookDeliverySerializer(many=True)
