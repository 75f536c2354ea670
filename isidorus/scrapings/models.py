from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.db.models.functions import Now
from django.utils import timezone


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
    summarize = models.BooleanField(default=True)
    describe_images = models.BooleanField(default=True)
    # Mirrors the DynamoDB item, so lists can filter by status; DynamoDB stays the live source.
    status = models.CharField(max_length=24, choices=JobStatus.choices, default=JobStatus.QUEUED)
    status_reason = models.TextField(blank=True, default="")
    # NULL, not "", for "no key": the unique constraint below applies only to real keys.
    idempotency_key = models.CharField(max_length=200, null=True, blank=True)  # noqa: DJ001
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
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


class Page(models.Model):
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="pages")
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
    text = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["scraping", "url_hash"], name="page_scraping_url")
        ]
        indexes = [
            models.Index(fields=["scraping", "outcome"], name="page_scraping_outcome"),
            models.Index(fields=["scraping", "depth"], name="page_scraping_depth"),
        ]

    def __str__(self) -> str:
        return self.url


class PageTerm(models.Model):
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="terms")
    term = models.CharField(max_length=100)
    count = models.PositiveIntegerField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["page", "term"], name="pageterm_page_term")]
        indexes = [models.Index(fields=["scraping", "term"], name="pageterm_scraping_term")]

    def __str__(self) -> str:
        return f"{self.term}={self.count}"


class Link(models.Model):
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="+")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="links")
    target_url = models.TextField()
    internal = models.BooleanField()
    nofollow = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["scraping", "internal"], name="link_scraping_internal")]

    def __str__(self) -> str:
        return self.target_url


class Image(models.Model):
    scraping = models.ForeignKey(Scraping, on_delete=models.CASCADE, related_name="images")
    page = models.ForeignKey(Page, on_delete=models.CASCADE, related_name="images")
    url = models.TextField()
    alt = models.TextField(blank=True, default="")
    title = models.TextField(blank=True, default="")
    caption = models.TextField(blank=True, default="")

    class Meta:
        indexes = [models.Index(fields=["scraping"], name="image_scraping")]

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
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scraping", "batch_id"], name="writebatch_unique")
        ]

    def __str__(self) -> str:
        return self.batch_id
