"""Writes of live voice: start and stop a session, keep its recording, store terminal receipts.

Who may speak: `broadcast.live` (station operators and village broadcasters) on the target region,
which is one subtree inside the operator's grant, so a village broadcaster reaches only their own
village. A session's tier is the level of the operator's grant (county 3, township 4, village 5: the
terminal's `priority.tier_of`), the highest one covering the target when several do. One operator
speaks in one session at a time. Every start and stop is audited (`live.start`, `live.stop`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, user_scopes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import ROLE_ACTIONS, Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.models import Source
from ruralcast.broadcasting.services import programme_item_create_from_upload
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.live.models import LiveReceipt, LiveSession, LiveSource, LiveState
from ruralcast.live.stream import pcm_to_wav
from ruralcast.regions.codes import level_of_code
from ruralcast.regions.models import Region

log = logging.getLogger(__name__)

RECEIPT_EVENTS = ("live_started", "live_stopped")
MIN_RECORDING_SECONDS = 0.5


def live_tier(*, user: User, target: Region) -> int:
    """The level of the highest grant allowing live voice over `target` (0 national … 5 village)."""
    levels = [
        level_of_code(scope.region_code)
        for scope in user_scopes(user)
        if target.code.startswith(scope.prefix) and Action.BROADCAST_LIVE in ROLE_ACTIONS[scope.role]
    ]
    return min(levels) if levels else int(target.level)


def _state(session: LiveSession) -> dict[str, object]:
    return {
        "target": session.target_id,
        "tier": session.tier,
        "source": session.source,
        "state": session.state,
        "chunks": session.chunks,
        "audio_seconds": round(session.audio_seconds, 3),
        "end_reason": session.end_reason,
    }


def live_session_start(*, actor: User, target: Region, source: str = LiveSource.MICROPHONE) -> LiveSession:
    """Open a live session to `target`'s subtree. PermissionDenied outside the operator's scope;
    Conflict when the operator already has a session on the air."""
    access_require(user=actor, action=Action.BROADCAST_LIVE, region=target)
    if source not in LiveSource.values:
        raise ValidationError(_("Unknown source."), fields={"source": [_("Microphone or line-in.")]})
    with transaction.atomic():
        # Lock the operator's row so two clicks cannot open two sessions.
        User.objects.select_for_update().filter(pk=actor.pk).first()
        if LiveSession.objects.filter(operator=actor, state=LiveState.LIVE).exists():
            raise Conflict(_("You are already speaking live: stop that session first."))
        session = LiveSession.objects.create(
            operator=actor, target=target, tier=live_tier(user=actor, target=target), source=source
        )
        audit_record(actor=actor, verb="live.start", obj=session, region_code=target.code, after=_state(session))
    return session


def live_session_stop(*, actor: User | None, session: LiveSession, reason: str = "stopped") -> LiveSession:
    """End a session (idempotent: ending an ended session changes nothing). `actor` None: the
    system (the speaker's connection closed, the platform stopped)."""
    if actor is not None and actor.pk != session.operator_id:
        access_require(user=actor, action=Action.BROADCAST_LIVE, region=session.target)
    with transaction.atomic():
        locked = LiveSession.objects.select_for_update().get(pk=session.pk)
        if locked.state == LiveState.ENDED:
            return locked
        before = _state(locked)
        locked.state = LiveState.ENDED
        locked.ended_at = timezone.now()
        locked.end_reason = reason[:40]
        locked.save(update_fields=["state", "ended_at", "end_reason"])
        audit_record(
            actor=actor, verb="live.stop", obj=locked, region_code=locked.target_id, before=before, after=_state(locked)
        )
    return locked


def live_session_progress(*, session_id: int, chunks: int, seconds: float) -> None:
    """What the broadcast sent so far (no audit: figures, not decisions)."""
    LiveSession.objects.filter(pk=session_id).update(chunks=chunks, audio_seconds=seconds)


def live_recording_save(*, session_id: int, pcm_path: Path) -> LiveSession:
    """Make the session's audio a programme item of the target region's library ("Live recording"),
    through the broadcasting app's own upload path (probe, loudness normalisation, MP3)."""
    session = LiveSession.objects.select_related("target", "operator").get(pk=session_id)
    if session.recording_id is not None or not pcm_path.exists():
        return session
    wav = pcm_path.with_suffix(".wav")
    seconds = pcm_to_wav(pcm_path, wav)
    try:
        if seconds < MIN_RECORDING_SECONDS:
            return session
        started = timezone.localtime(session.started_at)
        title = _("Live voice to %(region)s, %(time)s") % {
            "region": session.target.name,
            "time": started.strftime("%Y-%m-%d %H:%M"),
        }
        with wav.open("rb") as handle:
            upload = UploadedFile(handle, name=wav.name, content_type="audio/wav", size=wav.stat().st_size)
            item = programme_item_create_from_upload(
                actor=session.operator, owner_region=session.target, title=title, upload=upload, tags="live",
                source=Source.LIVE,
            )  # fmt: skip
        with transaction.atomic():
            LiveSession.objects.filter(pk=session.pk).update(recording=item, audio_seconds=seconds)
            audit_record(
                actor=session.operator,
                verb="live.record",
                obj=session,
                region_code=session.target_id,
                after={"recording": item.pk, "seconds": round(seconds, 3), "sha256": item.audio_sha256},
            )
    finally:
        wav.unlink(missing_ok=True)
        pcm_path.unlink(missing_ok=True)
    session.refresh_from_db()
    return session


@dataclass(frozen=True)
class LiveReceiptIn:
    terminal_code: str
    session_id: int
    event: str
    reason: str
    device_at: datetime | None


def live_receipts_store(items: list[LiveReceiptIn]) -> int:
    """Store a batch of live receipts (duplicates ignored); receipts of unknown sessions are dropped."""
    known = set(LiveSession.objects.filter(pk__in={i.session_id for i in items}).values_list("pk", flat=True))
    rows = [
        LiveReceipt(
            session_id=item.session_id,
            terminal_code=item.terminal_code[:23],
            event=item.event,
            reason=item.reason[:40],
            device_at=item.device_at,
        )
        for item in items
        if item.session_id in known and item.event in RECEIPT_EVENTS
    ]
    LiveReceipt.objects.bulk_create(rows, ignore_conflicts=True)
    return len(rows)
