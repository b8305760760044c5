"""Daily broadcasting (定时广播): the programme library and the schedules that play it.

- `ProgrammeItem`: one audio item of a region's library (spoken from text by the speech app, or an
  uploaded recording checked and loudness-normalised), stored once under its SHA-256.
- `Schedule`: a calendar owned by a county, township or village (the owner's level is its *tier*,
  0 national … 5 village as in the terminal's `priority.tier_of`), aimed at a subtree inside the
  owner's own, with a volume and an active flag.
- `Playlist`: an ordered list of library items owned by a region (`PlaylistItem` rows, each item of
  the same region, one above or one below it, like a slot's item); it plays as one block.
- `ScheduleSlot`: one item or one playlist at a time of day with a recurrence (daily, weekdays,
  listed dates, a date range with an optional weekday set).
- `ScheduleChange`: one row per schedule write; its id is the version of the effective-schedule
  documents that write sends to terminals (strictly increasing).

What a village actually hears is computed, never stored: see `broadcasting.programme`.
"""

import math
from datetime import date

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.codes import Level


class Source(models.TextChoices):
    SPEECH = "speech", _("Text to speech")
    UPLOAD = "upload", _("Uploaded recording")
    LIVE = "live", _("Live recording")


class ProgrammeItem(models.Model):
    title = models.CharField(_("title"), max_length=200)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    # Comma-separated (searchable with one LIKE on SQLite and PostgreSQL alike); see `tag_list`.
    tags = models.CharField(_("tags"), max_length=330, blank=True)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    text = models.TextField(_("text read aloud"), blank=True)
    audio_name = models.CharField(max_length=200)
    audio_sha256 = models.CharField(_("audio SHA-256"), max_length=64, db_index=True)
    audio_bytes = models.PositiveIntegerField(_("audio bytes"))
    audio_seconds = models.FloatField(_("duration (s)"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("programme item")
        verbose_name_plural = _("programme items")

    def __str__(self) -> str:
        return self.title

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]


class Playlist(models.Model):
    """Library items played one after the other as one block (its length: the sum of theirs)."""

    name = models.CharField(_("name"), max_length=200)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    tags = models.CharField(_("tags"), max_length=330, blank=True)  # comma-separated, as ProgrammeItem.tags
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["owner_region_id", "name", "id"]
        verbose_name = _("playlist")
        verbose_name_plural = _("playlists")

    def __str__(self) -> str:
        return self.name

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]

    def ordered_items(self) -> list["PlaylistItem"]:
        """The rows in play order (uses a prefetch of `entries` when there is one)."""
        return sorted(self.entries.all(), key=lambda row: (row.position, row.pk))

    @property
    def total_seconds(self) -> float:
        """The block's length: each item's exact length in whole milliseconds, as terminals play them."""
        return sum(math.ceil(row.item.audio_seconds * 1000) for row in self.ordered_items()) / 1000


class PlaylistItem(models.Model):
    """One place in a playlist (the same item may take several places)."""

    playlist = models.ForeignKey(Playlist, on_delete=models.CASCADE, related_name="entries")
    item = models.ForeignKey(
        ProgrammeItem, on_delete=models.PROTECT, related_name="playlist_entries", verbose_name=_("item")
    )
    position = models.PositiveIntegerField(_("position"))

    class Meta:
        ordering = ["playlist_id", "position", "id"]
        verbose_name = _("playlist item")
        verbose_name_plural = _("playlist items")

    def __str__(self) -> str:
        return f"{self.playlist_id}#{self.position} {self.item_id}"


# Levels that may own a schedule in this version (三级: county, township, village).
SCHEDULE_LEVELS = (Level.COUNTY, Level.TOWNSHIP, Level.VILLAGE)


class Schedule(models.Model):
    name = models.CharField(_("name"), max_length=200)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    target_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("target region")
    )
    volume = models.PositiveSmallIntegerField(_("volume"), default=70)
    active = models.BooleanField(_("active"), default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        ordering = ["owner_region_id", "name", "id"]
        verbose_name = _("schedule")
        verbose_name_plural = _("schedules")

    def __str__(self) -> str:
        return self.name

    @property
    def tier(self) -> int:
        """0 national … 5 village: the owner's level (smaller wins, as on the terminal)."""
        return int(self.owner_region.level)


class Recurrence(models.TextChoices):
    DAILY = "daily", _("Every day")
    WEEKDAYS = "weekdays", _("On chosen weekdays")
    DATES = "dates", _("On listed dates")
    RANGE = "range", _("Within a date range")


MONDAY_TO_FRIDAY = [0, 1, 2, 3, 4]


class ScheduleSlot(models.Model):
    schedule = models.ForeignKey(Schedule, on_delete=models.CASCADE, related_name="slots")
    start_time = models.TimeField(_("start time"))
    # Exactly one of the two (a check constraint): one library item, or one playlist played as a block.
    item = models.ForeignKey(
        ProgrammeItem, null=True, blank=True, on_delete=models.PROTECT, related_name="slots", verbose_name=_("item")
    )
    playlist = models.ForeignKey(
        Playlist, null=True, blank=True, on_delete=models.PROTECT, related_name="slots", verbose_name=_("playlist")
    )
    recurrence = models.CharField(_("recurrence"), max_length=10, choices=Recurrence.choices, default=Recurrence.DAILY)
    # Python weekday numbers (0 Monday … 6 Sunday): the set for WEEKDAYS (Monday–Friday when
    # empty) and an optional filter for RANGE (every day of the range when empty).
    weekdays = models.JSONField(_("weekdays"), default=list, blank=True)
    dates = models.JSONField(_("dates"), default=list, blank=True)  # ISO dates, for DATES
    start_date = models.DateField(_("from"), null=True, blank=True)  # RANGE
    end_date = models.DateField(_("until"), null=True, blank=True)  # RANGE, inclusive

    class Meta:
        ordering = ["start_time", "id"]
        verbose_name = _("schedule slot")
        verbose_name_plural = _("schedule slots")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(item__isnull=False, playlist__isnull=True)
                | models.Q(item__isnull=True, playlist__isnull=False),
                name="broadcasting_slot_item_xor_playlist",
            )
        ]

    def __str__(self) -> str:
        if self.playlist_id is not None:
            return f"{self.start_time:%H:%M} playlist {self.playlist_id}"
        return f"{self.start_time:%H:%M} {self.item_id}"

    def occurs_on(self, day: date) -> bool:
        return recurrence_occurs(
            recurrence=self.recurrence,
            weekdays=self.weekdays,
            dates=self.dates,
            start_date=self.start_date,
            end_date=self.end_date,
            day=day,
        )


def recurrence_occurs(
    *,
    recurrence: str,
    weekdays: list[int],
    dates: list[str],
    start_date: date | None,
    end_date: date | None,
    day: date,
) -> bool:
    """Whether a slot with this recurrence plays on `day`."""
    if recurrence == Recurrence.DAILY:
        return True
    if recurrence == Recurrence.WEEKDAYS:
        return day.weekday() in (weekdays or MONDAY_TO_FRIDAY)
    if recurrence == Recurrence.DATES:
        return day.isoformat() in dates
    if recurrence == Recurrence.RANGE:
        if start_date is None or end_date is None or not start_date <= day <= end_date:
            return False
        return not weekdays or day.weekday() in weekdays
    return False


class ScheduleChange(models.Model):
    """One schedule write; its id versions the documents sent because of it."""

    schedule = models.ForeignKey(Schedule, null=True, on_delete=models.SET_NULL, related_name="+")
    verb = models.CharField(max_length=40)
    created_at = models.DateTimeField(auto_now_add=True)
    # Codes of the villages whose effective programme this change altered (one document each).
    villages = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.verb}#{self.pk}"


class Outcome(models.TextChoices):
    PLAYED = "played", _("Played")
    INTERRUPTED = "interrupted", _("Interrupted")
    MISSED = "missed", _("Missed")


class PlaybackLog(models.Model):
    """One scheduled entry as one terminal handled it (播出记录), as the terminal reported it.

    Idempotent by (terminal, slot, scheduled start): a terminal uploads each line until the broker
    acknowledged it, so the same line may arrive twice and is stored once. Slot, schedule and item
    are kept as plain ids (and the title as text): the log outlives the schedule it came from.
    """

    terminal_code = models.CharField(_("terminal"), max_length=23)
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    slot_id = models.PositiveIntegerField(_("slot"))
    schedule_id = models.PositiveIntegerField(_("schedule"), null=True)
    item_id = models.PositiveIntegerField(_("item"), null=True)
    title = models.CharField(_("title"), max_length=200, blank=True)
    scheduled_start = models.DateTimeField(_("scheduled start"))
    started_at = models.DateTimeField(_("actual start"), null=True)
    played_ms = models.PositiveIntegerField(_("played (ms)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=12, choices=Outcome.choices)
    reason = models.CharField(_("reason"), max_length=80, blank=True)
    version = models.PositiveIntegerField(_("document version"), default=0)
    stored_at = models.DateTimeField(_("stored at"), auto_now_add=True)

    class Meta:
        ordering = ["-scheduled_start", "terminal_code"]
        verbose_name = _("playback log")
        verbose_name_plural = _("playback logs")
        constraints = [
            models.UniqueConstraint(fields=["terminal_code", "slot_id", "scheduled_start"], name="playlog_once")
        ]
        indexes = [models.Index(fields=["village", "scheduled_start"], name="playlog_village_start")]

    def __str__(self) -> str:
        return f"{self.terminal_code} {self.slot_id}@{self.scheduled_start:%Y-%m-%d %H:%M} {self.outcome}"
