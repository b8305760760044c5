"""Emergency broadcast messages (应急广播消息), their targets and the terminals' receipts.

One `Alert` row is one message in both vocabularies: OASIS CAP 1.2 (identifier, status, msgType,
scope, urgency, certainty, …) and the Chinese EBM (35-digit EBM id, 23-digit sender resource code,
5-character event type, severity 1–4). An Update or a Cancel is its own Alert row whose
`references` points at the original, and it travels the same path: drafted, approved by a second
person, signed, published.

Lifecycle (`state`): draft → submitted → approved → dispatched; an approver may send a submitted
message back (rejected → editable draft again); a dispatched alert ends as updated, cancelled or
expired. An approved message whose publication is stopped before any byte left the platform is
`withdrawn`. `status` (Actual / Exercise / System / Test / Draft) is CAP's: anything but Actual is a
drill or test and terminals announce it as such.

A *chain* is an original Alert and every Update and Cancel that references it (`references` always
names the original). The message of a chain *in force* is its latest dispatched Alert or Update that
has not expired; it can always be updated or cancelled (`alerts.lifecycle`).

Two records make the rules checkable after the fact:
- `AlertContributor`: every person who created, edited or submitted any version of a message (the
  approver must be none of them);
- `TargetedTerminal`: the terminals a message was published to, recorded at dispatch, from which
  the proof of broadcast is computed for ever (a terminal registered later is not in it).

`AlertTranslation`: the message in further languages (the alert's own fields are its primary
language); a translation is approved with the rest of the content.

`FeedSubscription` and `FeedEntry` at the end are the CAP feeds of `alerts.feeds`.
"""

from typing import Any

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Status(models.TextChoices):
    ACTUAL = "Actual", _("Actual (live alert)")
    EXERCISE = "Exercise", _("Exercise (drill)")
    SYSTEM = "System", _("System message")
    TEST = "Test", _("Test")
    DRAFT = "Draft", _("Draft (not for broadcast)")


class MsgType(models.TextChoices):
    ALERT = "Alert", _("Alert")
    UPDATE = "Update", _("Update")
    CANCEL = "Cancel", _("Cancel")


class Scope(models.TextChoices):
    PUBLIC = "Public", _("Public")
    RESTRICTED = "Restricted", _("Restricted")
    PRIVATE = "Private", _("Private")


class Severity(models.IntegerChoices):
    """Chinese levels 1–4 and their CAP severity and colour."""

    EXTREME = 1, _("Level 1 · particularly serious (red)")
    SEVERE = 2, _("Level 2 · serious (orange)")
    MODERATE = 3, _("Level 3 · relatively serious (yellow)")
    MINOR = 4, _("Level 4 · general (blue)")


SEVERITY_COLOUR = {1: "red", 2: "orange", 3: "yellow", 4: "blue"}
SEVERITY_CAP = {1: "Extreme", 2: "Severe", 3: "Moderate", 4: "Minor"}


class Urgency(models.TextChoices):
    IMMEDIATE = "Immediate", _("Immediate")
    EXPECTED = "Expected", _("Expected")
    FUTURE = "Future", _("Future")
    PAST = "Past", _("Past")
    UNKNOWN = "Unknown", _("Unknown")


class Certainty(models.TextChoices):
    OBSERVED = "Observed", _("Observed")
    LIKELY = "Likely", _("Likely")
    POSSIBLE = "Possible", _("Possible")
    UNLIKELY = "Unlikely", _("Unlikely")
    UNKNOWN = "Unknown", _("Unknown")


class State(models.TextChoices):
    DRAFT = "draft", _("Draft")
    SUBMITTED = "submitted", _("Awaiting approval")
    APPROVED = "approved", _("Approved, dispatching")
    DISPATCHED = "dispatched", _("Dispatched")
    UPDATED = "updated", _("Superseded by an update")
    CANCELLED = "cancelled", _("Cancelled")
    EXPIRED = "expired", _("Expired")
    WITHDRAWN = "withdrawn", _("Withdrawn before it was sent")


class AudioSource(models.TextChoices):
    SPEECH = "speech", _("Text to speech")
    UPLOAD = "upload", _("Uploaded recording")


class Alert(models.Model):
    ebm_id = models.CharField(_("EBM id"), max_length=35, unique=True)
    cap_id = models.CharField(_("CAP identifier"), max_length=120, unique=True)
    sender_code = models.CharField(_("sender resource code"), max_length=23)
    sender_name = models.CharField(_("sender"), max_length=100)
    issuer_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("issuing platform region")
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.EXERCISE)
    msg_type = models.CharField(_("message type"), max_length=10, choices=MsgType.choices, default=MsgType.ALERT)
    references = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="followups", verbose_name=_("refers to")
    )
    scope = models.CharField(_("scope"), max_length=12, choices=Scope.choices, default=Scope.PUBLIC)
    event_code = models.CharField(_("event type"), max_length=5)
    severity = models.PositiveSmallIntegerField(_("level"), choices=Severity.choices, default=Severity.MINOR)
    urgency = models.CharField(_("urgency"), max_length=10, choices=Urgency.choices, default=Urgency.IMMEDIATE)
    certainty = models.CharField(_("certainty"), max_length=10, choices=Certainty.choices, default=Certainty.OBSERVED)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)
    onset = models.DateTimeField(_("start"))
    expires = models.DateTimeField(_("end"))
    targets: "models.ManyToManyField[Any, Any]" = models.ManyToManyField(
        "regions.Region", through="AlertTarget", related_name="+", verbose_name=_("target regions")
    )
    language = models.CharField(_("language"), max_length=8, default="zho")
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    audio_source = models.CharField(_("audio"), max_length=10, choices=AudioSource.choices, default=AudioSource.SPEECH)
    audio_name = models.CharField(max_length=255, blank=True)
    audio_sha256 = models.CharField(max_length=64, blank=True)
    audio_bytes = models.PositiveIntegerField(default=0)
    audio_seconds = models.FloatField(default=0)
    volume = models.PositiveSmallIntegerField(_("volume"), default=80)
    repeat = models.PositiveSmallIntegerField(_("repeat count"), default=2)
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.DRAFT, db_index=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    dispatched_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    rejection_reason = models.TextField(blank=True)
    targeted_terminals = models.PositiveIntegerField(default=0)
    # When the terminals it was published to were recorded (`TargetedTerminal`); None before
    # dispatch, and for messages dispatched before the record existed (their proof is live).
    terminals_recorded_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("alert")
        verbose_name_plural = _("alerts")

    def __str__(self) -> str:
        return f"{self.ebm_id} {self.title}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("alerts:detail", args=[self.ebm_id])

    @property
    def is_drill(self) -> bool:
        return self.status != Status.ACTUAL

    @property
    def colour(self) -> str:
        return SEVERITY_COLOUR[self.severity]

    @property
    def is_live(self) -> bool:
        return self.state == State.DISPATCHED and self.expires > timezone.now()

    @property
    def original(self) -> "Alert":
        """The first message of this chain (an Update or Cancel points at it)."""
        return self.references.original if self.references_id and self.references else self


class AlertTranslation(models.Model):
    """The message in one more language (CAP 1.2 §3.2.2: one `info` per language).

    The alert's own `language`, `title`, `text` and audio are its *primary* language; each row here
    is the same message in another language, in the order the author gave them (`position`). A
    translation is part of what the approver approves (`payload.content_version`) and travels in
    the signed payload's `texts` (payload version 2, docs/protocols.md §4); a terminal plays the
    languages of its provisioned preference that the alert has. Its audio is spoken by the speech
    app at submission when it can speak the language, or uploaded; otherwise it has none and a
    terminal speaks or shows the text as it can.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="translations")
    position = models.PositiveSmallIntegerField(default=0)
    language = models.CharField(_("language"), max_length=8)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("text"))
    audio_source = models.CharField(_("audio"), max_length=10, choices=AudioSource.choices, default=AudioSource.SPEECH)
    audio_name = models.CharField(max_length=255, blank=True)
    audio_sha256 = models.CharField(max_length=64, blank=True)
    audio_bytes = models.PositiveIntegerField(default=0)
    audio_seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["position", "pk"]
        verbose_name = _("translation")
        verbose_name_plural = _("translations")
        constraints = [models.UniqueConstraint(fields=["alert", "language"], name="alert_translation_unique_language")]

    def __str__(self) -> str:
        return f"{self.alert_id} {self.language} {self.title}"


class Contribution(models.TextChoices):
    CREATED = "created", _("created")
    EDITED = "edited", _("edited")
    SUBMITTED = "submitted", _("submitted")


class AlertContributor(models.Model):
    """Someone who created, edited or submitted a version of a message: never its approver.

    One row per (message, person, contribution), written by the service that does it, in its
    transaction. `created_by` and `submitted_by` on the message keep only the first author and
    the last submitter; this keeps everyone (a colleague with draft rights who rewrote the text
    and then let the author submit it is here too).
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="contributors")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    contribution = models.CharField(max_length=10, choices=Contribution.choices)
    first_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "user", "contribution"], name="alert_contributor_unique")
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.contribution} {self.alert_id}"


class TargetedTerminal(models.Model):
    """One terminal a message was published to, recorded when it was dispatched.

    The proof of broadcast (live page, CSV, xlsx, PDF, figures) counts these rows, never today's
    registry: a terminal registered or moved afterwards does not change an old proof. `region`
    is the target region whose topic reached the terminal. Rows are written by one
    INSERT … SELECT in the dispatch transaction (`lifecycle.targeted_terminals_record`): a
    province's few hundred thousand terminals cost one statement, ~60 bytes a row.
    """

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="targeted")
    terminal_code = models.CharField(max_length=23)
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["alert", "terminal_code"], name="alert_targeted_terminal_unique")
        ]

    def __str__(self) -> str:
        return f"{self.alert_id}→{self.terminal_code}"


class AlertTarget(models.Model):
    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="target_rows")
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "region"], name="alert_target_unique")]

    def __str__(self) -> str:
        return f"{self.alert_id}→{self.region_id}"


class DailySequence(models.Model):
    """Last EBM sequence number used by a sender on a (local) day."""

    sender_code = models.CharField(max_length=23)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["sender_code", "day"], name="daily_sequence_unique")]

    def __str__(self) -> str:
        return f"{self.sender_code} {self.day}: {self.last}"


class ReceiptEvent(models.TextChoices):
    RECEIVED = "received", _("Received")
    REJECTED = "rejected", _("Rejected")
    STARTED = "started", _("Playback started")
    FINISHED = "finished", _("Playback finished")
    FAILED = "failed", _("Playback failed")
    CANCELLED = "cancelled", _("Stopped by cancel")


class Receipt(models.Model):
    """What one terminal reported about one message (one row per terminal, message and event)."""

    alert = models.ForeignKey(Alert, on_delete=models.CASCADE, related_name="receipts")
    terminal_code = models.CharField(max_length=23, db_index=True)
    event = models.CharField(max_length=10, choices=ReceiptEvent.choices)
    reason = models.CharField(max_length=40, blank=True)
    device_at = models.DateTimeField(null=True, blank=True)
    stored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["alert", "terminal_code", "event"], name="receipt_unique")]
        indexes = [models.Index(fields=["alert", "event"])]

    def __str__(self) -> str:
        return f"{self.terminal_code} {self.event} {self.alert_id}"


class ImportedMessage(models.Model):
    """Where an imported message came from, and what the import could not decide on its own.

    One row per Alert drafted from a CAP or EBM file (`formats.common.draft_create`). The file's own
    `sender`, `identifier` and `sent` are kept so that a later Cancel or Update naming them in its
    `references` finds this message (our Alert has our own identifiers). What the import leaves to
    the operator is stated here and shown on the draft page:
    - `history`: the message had already expired when it was imported. It is kept as a record
      (Alert state `expired`, never dispatched) so the history of the event is complete, and it
      can never be submitted;
    - an empty `Alert.event_code`: the file's event could not be classified; submission is
      refused until an operator picks the code (`event_mapping` says what was tried);
    - no targets: the file's areas are polygons or circles (`areas`), which we cannot map to
      regions without coordinates; submission is refused until an operator chooses the regions.
    `other_infos` keeps the file's other `info` blocks that could not become translations (a
    language we have no code for, no description) as read; the others are `AlertTranslation`s.
    """

    alert = models.OneToOneField(Alert, on_delete=models.CASCADE, related_name="imported")
    format = models.CharField(max_length=8)
    sender = models.CharField(max_length=255, blank=True)
    identifier = models.CharField(max_length=255, blank=True, db_index=True)
    sent = models.CharField(max_length=40, blank=True)
    effective = models.DateTimeField(null=True, blank=True)
    history = models.BooleanField(default=False)
    event_mapping = models.CharField(max_length=300, blank=True)
    areas = models.JSONField(default=list, blank=True)
    other_infos = models.JSONField(default=list, blank=True)
    references = models.TextField(blank=True)
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["sender", "identifier"])]

    def __str__(self) -> str:
        return f"{self.format} {self.sender} {self.identifier}"

    @property
    def unclassified(self) -> bool:
        return not self.alert.event_code

    @property
    def shape_areas(self) -> list[dict[str, Any]]:
        """The areas given only as polygons or circles, which the operator must turn into regions."""
        return [area for area in self.areas if not area.get("regions")]


# ---------------------------------------------------------------------------- CAP feeds (alerts.feeds)


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
    alert = models.ForeignKey(Alert, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fetched_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-fetched_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["subscription", "url"], name="feed_entry_unique_url")]

    def __str__(self) -> str:
        return f"{self.subscription_id} {self.url} {self.outcome}"
