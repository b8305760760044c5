"""Media assets (媒资) and everything made from them: renditions, background jobs, live events and
collections.

An `Asset` is one programme, lesson, recording, picture or document owned by a region. Its original
file sits in the default storage under `media/<uid>/original`; the transcode job writes an HLS ladder
(`hls/master.m3u8` with one folder per rendition), an audio-only rendition, a poster and thumbnails
beside it and records each as a `Rendition`. A `Job` is one long piece of background work (run by the
django-tasks worker) with its state, percent done and, when it failed, an error in plain words.

A `LiveEvent` is a scheduled broadcast: the studio pushes HLS to its ingest URL (a per-event secret in
the path), viewers watch the live playlist, and when it ends its segments become an on-demand asset
(点播回看). A `Collection` (a course, a column, a series) orders assets.

Who may watch is the asset's `access`: public, any logged-in user, or only people of its region (the
owner region's subtree), who get signed URLs that expire.
"""

import secrets
from typing import Any

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


def new_uid() -> str:
    """A public, unguessable identifier for URLs (12 hex digits)."""
    return secrets.token_hex(6)


class Kind(models.TextChoices):
    VIDEO = "video", _("Video")
    AUDIO = "audio", _("Audio")
    IMAGE = "image", _("Image")
    DOCUMENT = "document", _("Document")


class Access(models.TextChoices):
    PUBLIC = "public", _("Public")
    LOGGED_IN = "logged_in", _("Logged-in users")
    REGION = "region", _("People of the owner region (signed links)")


class AssetState(models.TextChoices):
    PROCESSING = "processing", _("Processing")
    READY = "ready", _("Ready")
    FAILED = "failed", _("Failed")


class Origin(models.TextChoices):
    UPLOAD = "upload", _("Upload")
    LIVE = "live", _("Replay of a live")


class Asset(models.Model):
    uid = models.CharField(max_length=12, unique=True, default=new_uid)
    kind = models.CharField(_("type"), max_length=10, choices=Kind.choices)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    # Stored as ",tag one,tag two," so one LIKE finds a whole tag on every database.
    tags = models.CharField(_("tags"), max_length=500, blank=True)
    language = models.CharField(_("language"), max_length=16, default="zh")
    licence = models.CharField(_("rights / licence"), max_length=200, blank=True)
    access = models.CharField(_("who may watch"), max_length=10, choices=Access.choices, default=Access.LOGGED_IN)
    origin = models.CharField(max_length=10, choices=Origin.choices, default=Origin.UPLOAD)
    state = models.CharField(
        _("state"), max_length=12, choices=AssetState.choices, default=AssetState.PROCESSING, db_index=True
    )
    original_name = models.CharField(max_length=255)
    original_filename = models.CharField(max_length=255, blank=True)
    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64)
    size = models.BigIntegerField(_("size"), default=0)
    duration = models.FloatField(_("duration (s)"), default=0)
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    format_name = models.CharField(max_length=100, blank=True)
    video_codec = models.CharField(max_length=40, blank=True)
    audio_codec = models.CharField(max_length=40, blank=True)
    probe = models.JSONField(default=dict, blank=True)
    poster_name = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("media asset")
        verbose_name_plural = _("media assets")

    def __str__(self) -> str:
        return f"{self.uid} {self.title}"

    @property
    def tag_list(self) -> list[str]:
        return [tag for tag in self.tags.split(",") if tag]

    @property
    def folder(self) -> str:
        return f"media/{self.uid}"


class RenditionKind(models.TextChoices):
    HLS_MASTER = "hls_master", _("HLS master playlist")
    HLS_VIDEO = "hls_video", _("HLS video rendition")
    HLS_AUDIO = "hls_audio", _("HLS audio-only rendition")
    MP3 = "mp3", _("MP3")
    AAC = "aac", _("AAC (M4A)")
    POSTER = "poster", _("Poster image")
    THUMBNAIL = "thumbnail", _("Thumbnail")


class Rendition(models.Model):
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    kind = models.CharField(max_length=12, choices=RenditionKind.choices)
    name = models.CharField(max_length=40)
    path = models.CharField(max_length=255, help_text="relative to the asset's folder")
    width = models.PositiveIntegerField(default=0)
    height = models.PositiveIntegerField(default=0)
    bandwidth = models.PositiveIntegerField(default=0)
    size = models.BigIntegerField(default=0)

    class Meta:
        ordering = ["kind", "-height", "name"]
        constraints = [models.UniqueConstraint(fields=["asset", "path"], name="rendition_path_unique")]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.path}"


class JobKind(models.TextChoices):
    TRANSCODE = "transcode", _("Transcode")
    REPLAY = "replay", _("Make the replay of a live")


class JobState(models.TextChoices):
    QUEUED = "queued", _("Waiting")
    RUNNING = "running", _("Running")
    SUCCEEDED = "succeeded", _("Done")
    FAILED = "failed", _("Failed")


class Job(models.Model):
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    live_event = models.ForeignKey("LiveEvent", null=True, blank=True, on_delete=models.CASCADE, related_name="jobs")
    kind = models.CharField(max_length=10, choices=JobKind.choices)
    state = models.CharField(max_length=10, choices=JobState.choices, default=JobState.QUEUED, db_index=True)
    progress = models.FloatField(default=0)  # percent, 0–100
    step = models.CharField(max_length=40, blank=True)
    # A code (translated on display, see `error_message`) and the tool's own words for whoever
    # investigates: stored text stays in no particular language.
    error_code = models.CharField(max_length=40, blank=True)
    error = models.TextField(blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    task_id = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk} {self.state}"

    @property
    def percent(self) -> int:
        return int(self.progress)

    @property
    def step_label(self) -> str:
        """The step the job is at, in the reader's language (the pipeline stores a short code)."""
        return str(JOB_STEPS.get(self.step, self.step))

    @property
    def error_message(self) -> str:
        """The failure in plain words, in the reader's language."""
        return str(JOB_ERRORS.get(self.error_code, JOB_ERRORS["failed"])) if self.state == JobState.FAILED else ""


JOB_STEPS = {
    "transcode": _("converting for playback"),
    "images": _("making the pictures"),
    "loudness": _("measuring the loudness"),
    "store": _("storing the result"),
    "join": _("joining the recording"),
}

JOB_ERRORS = {
    "transcode_failed": _(
        "The file could not be converted for playback. Check that it plays on a computer, then retry."
    ),
    "replay_failed": _(
        "The replay of this live could not be made. Retry; if it fails again, the recording is damaged."
    ),
    "failed": _("The job failed. Retry; if it fails again, tell your administrator."),
}


class UploadState(models.TextChoices):
    RECEIVING = "receiving", _("Receiving")
    DONE = "done", _("Done")


class Upload(models.Model):
    """A chunked, resumable upload: the file grows in RUN_DIR/uploads until `size` bytes are in."""

    uid = models.CharField(max_length=12, unique=True, default=new_uid)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    owner_region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    filename = models.CharField(max_length=255)
    size = models.BigIntegerField()
    offset = models.BigIntegerField(default=0)
    metadata = models.JSONField(default=dict)
    state = models.CharField(max_length=10, choices=UploadState.choices, default=UploadState.RECEIVING)
    asset = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"upload {self.uid} {self.offset}/{self.size}"


class LiveStatus(models.TextChoices):
    WAITING = "waiting", _("Waiting to start")
    LIVE = "live", _("Live")
    ENDED = "ended", _("Ended")


class LiveEvent(models.Model):
    uid = models.CharField(max_length=12, unique=True, default=new_uid)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    audience: "models.ManyToManyField[Any, Any]" = models.ManyToManyField(
        "regions.Region", related_name="+", blank=True, verbose_name=_("audience regions")
    )
    access = models.CharField(_("who may watch"), max_length=10, choices=Access.choices, default=Access.LOGGED_IN)
    starts_at = models.DateTimeField(_("start"))
    ends_at = models.DateTimeField(_("end"))
    status = models.CharField(max_length=10, choices=LiveStatus.choices, default=LiveStatus.WAITING, db_index=True)
    ingest_secret = models.CharField(max_length=64, default=secrets.token_urlsafe)
    went_live_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    replay = models.ForeignKey(Asset, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.uid} {self.title}"

    @property
    def folder(self) -> str:
        return f"live/{self.uid}"


class LiveViewer(models.Model):
    """One viewer (session or address) seen fetching the live playlist; counted while recent."""

    event = models.ForeignKey(LiveEvent, on_delete=models.CASCADE, related_name="viewers")
    key = models.CharField(max_length=64)
    last_seen = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["event", "key"], name="live_viewer_unique")]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.key}"


class CollectionKind(models.TextChoices):
    COURSE = "course", _("Course")
    COLUMN = "column", _("Column")
    SERIES = "series", _("Series")


class Collection(models.Model):
    uid = models.CharField(max_length=12, unique=True, default=new_uid)
    kind = models.CharField(_("type"), max_length=10, choices=CollectionKind.choices, default=CollectionKind.SERIES)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    owner_region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("owner region")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["title"]

    def __str__(self) -> str:
        return f"{self.uid} {self.title}"


class CollectionItem(models.Model):
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="items")
    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="+")
    position = models.PositiveIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["collection", "asset"], name="collection_asset_unique")]

    def __str__(self) -> str:
        return f"{self.collection_id}#{self.position}"
