"""The rows of CAP feed subscriptions (see the package docstring). Imported by `alerts.models`."""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class FeedSubscription(models.Model):
    """A sender's feed and the regions its messages may target.

    `issuer_region` is the platform the drafts belong to; every target region lies inside it.
    Poll state: `etag`/`last_modified` for the conditional GET, `failures` consecutive errors (the
    back-off doubles per failure up to the cap), `next_poll_at`, `last_error` (why the last poll or
    entry was refused; empty after a clean poll).
    """

    name = models.CharField(_("name"), max_length=100)
    url = models.URLField(_("feed URL"), max_length=500)
    issuer_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    regions = models.ManyToManyField("regions.Region", related_name="+", verbose_name=_("regions it may target"))
    certificate_pem = models.TextField(_("pinned signing certificate (PEM)"), blank=True)
    enabled = models.BooleanField(_("enabled"), default=True)
    interval_seconds = models.PositiveIntegerField(_("poll interval (seconds)"), default=300)
    account = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feed")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    etag = models.CharField(max_length=200, blank=True)
    last_modified = models.CharField(max_length=100, blank=True)
    next_poll_at = models.DateTimeField(default=timezone.now, db_index=True)
    failures = models.PositiveIntegerField(default=0)
    last_polled_at = models.DateTimeField(null=True, blank=True)
    last_success_at = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class EntryOutcome(models.TextChoices):
    IMPORTED = "imported", _("Imported as a draft")
    DUPLICATE = "duplicate", _("Duplicate, skipped")
    REFUSED = "refused", _("Refused")


class FeedEntry(models.Model):
    """One message URL a feed listed, fetched once, and what became of it."""

    subscription = models.ForeignKey(FeedSubscription, on_delete=models.CASCADE, related_name="entries")
    url = models.URLField(max_length=500)
    sender = models.CharField(max_length=255, blank=True)
    identifier = models.CharField(max_length=255, blank=True)
    sent = models.CharField(max_length=40, blank=True)
    outcome = models.CharField(max_length=10, choices=EntryOutcome.choices)
    reason = models.TextField(blank=True)
    alert = models.ForeignKey("alerts.Alert", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-fetched_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["subscription", "url"], name="feed_entry_unique_url")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.url} {self.outcome}"
