from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.indexes import GinIndex
from django.contrib.postgres.search import SearchVector, SearchVectorField
from django.db import models
from django.db.models import F, GeneratedField, Q
from django.db.models.functions import MD5, Now
from django.utils import timezone

from isidorus.crawling.parse import ContentSource


class JobStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    COMPLETED_WITH_ERRORS = "COMPLETED_WITH_ERRORS"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


TERMINAL_STATUSES = frozenset(
    {
        JobStatus.COMPLETED,
        JobStatus.COMPLETED_WITH_ERRORS,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    }
)


class Scope(models.TextChoices):
    HOST = "host"
    DOMAIN = "domain"
    PREFIX = "prefix"


class SitemapMode(models.TextChoices):
    INCLUDE = "include", "seed sitemap URLs alongside link discovery"
    ONLY = "only", "crawl the sitemap URLs, follow no links"
    SKIP = "skip", "ignore sitemaps"


class Scraping(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="scrapings"
    )
    url = models.TextField()
    depth = models.PositiveSmallIntegerField(default=1)
    max_pages = models.PositiveIntegerField(default=1000)
    scope = models.CharField(max_length=8, choices=Scope.choices, default=Scope.HOST)
    include = models.JSONField(default=list, blank=True)
    exclude = models.JSONField(default=list, blank=True)
    respect_robots = models.BooleanField(default=True)
    # Follow links marked nofollow (on the link, or page-wide by meta or X-Robots-Tag).
    follow_nofollow = models.BooleanField(default=False)
    # {"url", "events", "progress_seconds"} (isidorus/scrapings/webhooks/), or None.
    webhook = models.JSONField(null=True, blank=True)
    sitemap = models.CharField(
        max_length=7, choices=SitemapMode.choices, default=SitemapMode.INCLUDE
    )
    summarize = models.BooleanField(default=True)
    describe_images = models.BooleanField(default=True)
    # Optional cap on LLM tokens (in + out) spent on this job's enrichment.
    token_budget = models.PositiveIntegerField(null=True, blank=True)
    # Mirrors the DynamoDB item, so lists can filter by status; DynamoDB stays the live source.
    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.QUEUED)
    status_reason = models.TextField(blank=True, default="")
    # NULL, not "", for "no key": the unique constraint below applies only to real keys.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # The job item (status, reason, times, counters) as DynamoDB held it at the terminal
    # status; reads use it from then on, as the item and the Redis state expire.
    final_item = models.JSONField(null=True, blank=True, editable=False)

    class Meta:
        # People read "job" (the admin); the API resource keeps its name, `scrapings`.
        verbose_name = "job"
        verbose_name_plural = "jobs"
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["owner", "-created_at"], name="scraping_owner_created"),
            models.Index(fields=["owner", "status"], name="scraping_owner_status"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["owner", "idempotency_key"],
                condition=models.Q(idempotency_key__isnull=False),
                name="scraping_owner_idempotency_key",
            )
        ]

    def __str__(self) -> str:
        return f"{self.url} ({self.status})"


class Outcome(models.TextChoices):
    FETCHED = "fetched"
    FAILED = "failed"
    SKIPPED = "skipped"


CONTENT_SOURCE_CHOICES = [
    (ContentSource.MAIN.value, "main content"),
    (ContentSource.FULL_TEXT.value, "full text (too little main content)"),
]


class Page(models.Model):
    # No index of its own: the unique (scraping, url_hash) and (scraping, ...) indexes cover it.
    scraping = models.ForeignKey(
        Scraping,
        on_delete=models.CASCADE,
        related_name="pages",
        db_index=False,
        verbose_name="job",
    )
    url = models.TextField()
    url_hash = models.CharField(max_length=40)
    final_url = models.TextField(blank=True, default="")
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    content_type = models.CharField(max_length=200, blank=True, default="")
    title = models.TextField(blank=True, default="")
    depth = models.PositiveSmallIntegerField(default=0)
    parent_url = models.TextField(blank=True, default="")
    bytes = models.PositiveIntegerField(default=0)
    fetched_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    reason = models.CharField(max_length=32, blank=True, default="")
    # The page's content as text, one block per line: its main content, or its whole body
    # when the main content was almost nothing (content_source says which). Terms, search
    # and summaries read it.
    text = models.TextField(blank=True, default="")
    content_markdown = models.TextField(blank=True, db_default="")
    content_source = models.CharField(
        max_length=9, choices=CONTENT_SOURCE_CHOICES, blank=True, db_default=""
    )
    # Every visible string of the body, navigation included, whitespace collapsed.
    full_text = models.TextField(blank=True, db_default="")
    # Robots directives (meta or X-Robots-Tag): a noindex page is left out of search, export
    # and term totals; a nofollow page's links are recorded, not followed.
    noindex = models.BooleanField(db_default=False)
    nofollow = models.BooleanField(db_default=False)
    # <link rel="canonical">; is_canonical is False when it names another page.
    canonical_url = models.TextField(blank=True, db_default="")
    is_canonical = models.BooleanField(db_default=True)
    # {term: count} of the content text (isidorus.crawling.terms); JobTerm holds job totals.
    terms = models.JSONField(default=dict, blank=True)
    # [[target url, internal, nofollow], ...] in the page's order (see Link).
    links = models.JSONField(default=list, blank=True)
    has_external_links = models.BooleanField(db_default=False)
    # Enrichment (page-summarizer queue): empty until a summary exists.
    # (db_default: the writer inserts pages with raw SQL that names only the crawl columns.)
    summary = models.TextField(blank=True, db_default="")
    summary_model = models.CharField(max_length=200, blank=True, db_default="")
    summary_prompt_version = models.CharField(max_length=20, blank=True, db_default="")
    summary_input_tokens = models.PositiveIntegerField(db_default=0)
    summary_output_tokens = models.PositiveIntegerField(db_default=0)
    summary_error = models.CharField(max_length=64, blank=True, db_default="")
    # Full-text search, maintained by PostgreSQL itself on every write of these columns.
    # The summary has its own vector: written after the page, it then recomputes only its
    # own (short) vector, not the whole text's (64 summaries cost 154 ms of PostgreSQL
    # with one vector, 10 ms with two). Search matches and ranks on both (search.py).
    search_vector = GeneratedField(
        expression=SearchVector("title", weight="A", config="english")
        + SearchVector("text", weight="C", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    summary_vector = GeneratedField(
        expression=SearchVector("summary", weight="B", config="english"),
        output_field=SearchVectorField(),
        db_persist=True,
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["scraping", "url_hash"], name="page_scraping_url")
        ]
        indexes = [
            # Filtered page lists read only the rows they return, in cursor (id) order.
            models.Index(fields=["scraping", "outcome", "id"], name="page_scraping_outcome_id"),
            models.Index(fields=["scraping", "depth", "id"], name="page_scraping_depth_id"),
            # The pages list walks a job's pages in id order (cursor pagination).
            models.Index(fields=["scraping", "id"], name="page_scraping_id"),
            GinIndex(fields=["search_vector"], name="page_search_vector"),
            GinIndex(fields=["summary_vector"], name="page_summary_vector"),
            # `internal=false` link lists walk only the pages that have such a link: most
            # of a crawl's links are internal, and some jobs have no other kind.
            models.Index(
                fields=["scraping", "id"],
                name="page_scraping_external_links",
                condition=models.Q(has_external_links=True),
            ),
        ]

    def __str__(self) -> str:
        return self.url


class JobTerm(models.Model):
    """A term's totals over one job's pages: `total` occurrences, in `pages` pages.

    A page's own counts live in `Page.terms` (one jsonb value, not a row per term: about
    1,200 rows a page made term rows most of the write cost). The writer adds each batch's
    totals here in the batch's own transaction, so they count every page exactly once.
    """

    # The key is (scraping, term): no surrogate id, so an upsert maintains one index. The
    # table's fillfactor leaves room for HOT updates (migration 0007): totals change often.
    pk = models.CompositePrimaryKey("scraping", "term")
    scraping = models.ForeignKey(
        Scraping, on_delete=models.CASCADE, related_name="+", db_index=False
    )
    term = models.CharField(max_length=100)
    total = models.PositiveBigIntegerField()
    pages = models.PositiveIntegerField()

    def __str__(self) -> str:
        return f"{self.term}={self.total}"


# Link ids are page id x 2^20 + the link's position on its page, so a page may store at
# most 2^20 links (a 10 MB page of bare <a> tags could hold more: the rest are not stored).
LINK_ID_PAGE_FACTOR = 2**20
MAX_LINKS_PER_PAGE = LINK_ID_PAGE_FACTOR


class LinkCount(models.Func):
    """How many links a page stores (the length of its `links`), without reading them."""

    function = "jsonb_array_length"
    output_field = models.IntegerField()

    def __init__(self) -> None:
        super().__init__(F("links"))


class Link(models.Model):
    """One link of a page, read through the `scrapings_link` view over `Page.links`.

    A page's links are one jsonb value on its row, [[target url, internal, nofollow], ...]
    in the page's order (migration 0022): about 130 rows a page, each with two index
    entries, were the bulkiest rows the writer made. The view keeps the rows' shape for
    reads by page or job; the links API reads the pages itself (selectors.LinkRows).
    """

    id = models.BigIntegerField(primary_key=True)
    scraping = models.ForeignKey(
        Scraping, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    page = models.ForeignKey(
        Page, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    position = models.PositiveIntegerField()
    target_url = models.TextField()
    internal = models.BooleanField()
    nofollow = models.BooleanField()

    class Meta:
        managed = False
        db_table = "scrapings_link"
        ordering = ["id"]

    def __str__(self) -> str:
        return self.target_url


class Image(models.Model):
    # Covered by the (scraping, id) index below.
    scraping = models.ForeignKey(
        Scraping, on_delete=models.CASCADE, related_name="images", db_index=False
    )
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="images")
    url = models.TextField()
    alt = models.TextField(blank=True, default="")
    title = models.TextField(blank=True, default="")
    caption = models.TextField(blank=True, default="")
    # Enrichment (image-extractor queue): filled once the image is downloaded and described.
    outcome = models.CharField(max_length=8, blank=True, default="")  # stored | failed | skipped
    reason = models.CharField(max_length=64, blank=True, default="")
    sha256 = models.CharField(max_length=64, blank=True, default="")
    s3_key = models.CharField(max_length=200, blank=True, default="")
    content_type = models.CharField(max_length=100, blank=True, default="")
    format = models.CharField(max_length=16, blank=True, default="")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    bytes = models.PositiveIntegerField(null=True, blank=True)
    description = models.TextField(blank=True, default="")
    description_model = models.CharField(max_length=200, blank=True, default="")
    described_by_llm = models.BooleanField(default=False)
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)

    class Meta:
        indexes = [
            models.Index(fields=["scraping", "id"], name="image_scraping_id"),
            models.Index(fields=["sha256"], name="image_sha256"),
            # The image-extractor's look-up of a URL's other rows in the job that already
            # have an outcome (isidorus/enrichment/images.py): by a hash of the URL, since a
            # URL may exceed a btree entry's size; partial, so crawls without enrichment
            # never maintain it.
            # The id last: a URL's oldest done row is the first entry, not a sort of all of
            # them (a logo on every page has thousands).
            models.Index(
                F("scraping"),
                MD5("url"),
                F("id"),
                name="image_scraping_url_done_id",
                condition=~Q(outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return self.url


class WriteBatch(models.Model):
    """One writer batch, recorded in the same transaction as its rows.

    Its counts are what the batch really inserted; they are added to the job's DynamoDB
    counters exactly once (a conditional write keyed by batch_id), even if the writer
    dies between the commit and the counter update and the message is redelivered.
    """

    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    batch_id = models.CharField(max_length=40)
    counts = models.JSONField(default=dict)
    # Enrichment work this batch spawned ({"summaries": [page ids], "images": [image ids]}),
    # so a redelivered writer message can open and publish it again.
    enrichment = models.JSONField(default=dict)
    # True once the counters are added and the enrichment is published. A batch whose
    # writer died after the commit stays False until someone (its redelivery, or the
    # finisher) runs those steps again: a job never completes while one is False.
    effects_done = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scraping", "batch_id"], name="writebatch_unique")
        ]
        indexes = [
            models.Index(
                fields=["scraping"],
                condition=models.Q(effects_done=False),
                name="writebatch_effects_pending",
            )
        ]

    def __str__(self) -> str:
        return self.batch_id


class ExpandCounted(models.Model):
    """An expand item whose duplicate links a written batch counted: at most one row, so
    an item expanded in two batches (a redelivery that found more pages written than its
    first delivery did) counts them once (services/expand.py)."""

    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    item = models.CharField(max_length=64)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scraping", "item"], name="expandcounted_unique")
        ]

    def __str__(self) -> str:
        return self.item


class EnrichmentUnit(models.Model):
    """Finished enrichment rows counted together: their counters' sum, added to the job's
    DynamoDB counters once under this unit's id (counter layout 3). One per enrichment
    delivery instead of one per row: a DynamoDB update per message, on a counter shard
    that records one id per message (isidorus/scrapings/services/enrichment_counts.py)."""

    id = models.CharField(primary_key=True, max_length=40)
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    counters = models.JSONField(default=dict)

    def __str__(self) -> str:
        return self.id


class EnrichmentCounted(models.Model):
    """The unit that counted a row (`img-<image id>`, `sum-<page id>`): at most one, so a
    row counts once however many deliveries finish it."""

    key = models.CharField(primary_key=True, max_length=40)
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    unit = models.CharField(max_length=40)

    def __str__(self) -> str:
        return self.key


class ImageDescription(models.Model):
    """An LLM's description of image bytes, cached per (sha256, provider, model) across jobs.

    Only descriptions made from the bytes alone are cached here: a description that used a
    page's alt text or caption belongs to that page's Image row, so one tenant's page text
    never reaches another tenant's results.
    """

    sha256 = models.CharField(max_length=64)
    provider = models.CharField(max_length=32)
    model = models.CharField(max_length=200)
    description = models.TextField()
    input_tokens = models.PositiveIntegerField(default=0)
    output_tokens = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["sha256", "provider", "model"], name="imagedescription_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.sha256[:12]} {self.provider}/{self.model}"


class DeliveryStatus(models.TextChoices):
    PENDING = "pending"
    DELIVERED = "delivered"
    GIVEN_UP = "given_up"


class WebhookDelivery(models.Model):
    """One webhook event of a job and its delivery (isidorus/scrapings/webhooks/)."""

    scraping = models.ForeignKey(
        Scraping, on_delete=models.CASCADE, related_name="webhook_deliveries", verbose_name="job"
    )
    event_id = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    event = models.CharField(max_length=32)
    # One row per event of a job: the event's name, or "job.progress:<n>".
    event_key = models.CharField(max_length=64)
    payload = models.JSONField()
    status = models.CharField(
        max_length=9, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=200, blank=True, default="")
    created_at = models.DateTimeField(default=timezone.now)
    delivered_at = models.DateTimeField(null=True, blank=True)
    # When the pending delivery is due: its message is published for then. The sweeper
    # publishes again a delivery overdue by minutes (its message was lost).
    next_attempt_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["scraping", "event_key"], name="delivery_job_event")
        ]

    def __str__(self) -> str:
        return f"{self.event} of {self.scraping_id}: {self.status}"
