"""Live voice (实时喊话): an operator speaks to the loudspeakers of one region subtree, now.

- `LiveSession`: who spoke, to which region (one subtree within the operator's scope), at which tier
  (the level of the operator's grant, 0 national … 5 village, as the terminal's `priority` counts
  it), from which source (browser microphone or a line-in/stream), when, and the recording it left
  in the programme library.
- `LiveReceipt`: what the terminals reported (`live_started`, `live_stopped` with a reason), one row
  per (session, terminal, event).
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class LiveState(models.TextChoices):
    LIVE = "live", _("On air")
    ENDED = "ended", _("Ended")


class LiveSource(models.TextChoices):
    MICROPHONE = "microphone", _("Browser microphone")
    LINE_IN = "line_in", _("Line-in or stream")


class LiveSession(models.Model):
    operator = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=pgettext_lazy("live session", "operator"),
    )
    target = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("target region")
    )
    tier = models.PositiveSmallIntegerField(_("tier"))
    source = models.CharField(_("source"), max_length=12, choices=LiveSource.choices, default=LiveSource.MICROPHONE)
    state = models.CharField(_("state"), max_length=8, choices=LiveState.choices, default=LiveState.LIVE)
    started_at = models.DateTimeField(_("started at"), auto_now_add=True)
    ended_at = models.DateTimeField(_("ended at"), null=True, blank=True)
    end_reason = models.CharField(_("end reason"), max_length=40, blank=True)
    chunks = models.PositiveIntegerField(_("chunks sent"), default=0)
    audio_seconds = models.FloatField(_("audio seconds"), default=0.0)
    recording = models.ForeignKey(
        "broadcasting.ProgrammeItem",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("recording"),
    )

    class Meta:
        ordering = ["-started_at", "-id"]
        verbose_name = _("live session")
        verbose_name_plural = _("live sessions")
        indexes = [models.Index(fields=["state", "target"])]

    def __str__(self) -> str:
        return f"live-{self.pk}"

    @property
    def receipt_id(self) -> str:
        """What terminals put in a receipt's `ebm_id` for this session (docs/protocols.md §10)."""
        return f"live-{self.pk}"

    @property
    def end_reason_label(self) -> str:
        """Why the session ended, in the reader's language (an unknown reason says only that it ended)."""
        labels = {
            "stopped": _("stopped by the speaker"),
            "disconnected": _("the speaker's connection was lost"),
            "bad_frame": _("the browser sent audio the platform could not read"),
            "end": _("the line-in source ended"),
        }
        return str(labels.get(self.end_reason, _("ended for another reason") if self.end_reason else ""))


# Why a terminal stopped playing a session (the reasons of its `live_stopped` receipt, see the
# terminal's live.py), as the session page counts them.
TERMINAL_STOP_REASONS = {
    "end": _("the session ended"),
    "preempted": _("interrupted by a higher-priority broadcast"),
    "timeout": _("no audio arrived for a while"),
    "stopped": _("the terminal's agent stopped"),
}


def terminal_stop_reason_label(reason: str) -> str:
    return str(TERMINAL_STOP_REASONS.get(reason, _("other reason")))


class LiveReceipt(models.Model):
    session = models.ForeignKey(LiveSession, on_delete=models.CASCADE, related_name="receipts")
    terminal_code = models.CharField(_("terminal"), max_length=23)
    event = models.CharField(_("event"), max_length=16)
    reason = models.CharField(_("reason"), max_length=40, blank=True)
    device_at = models.DateTimeField(null=True, blank=True)
    received_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["session", "terminal_code", "event"]
        constraints = [
            models.UniqueConstraint(fields=["session", "terminal_code", "event"], name="live_receipt_once"),
        ]

    def __str__(self) -> str:
        return f"{self.session_id} {self.terminal_code} {self.event}"
