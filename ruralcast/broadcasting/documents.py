"""The effective-schedule document a terminal receives (docs/broadcasting.md, "The document").

For one terminal: its village's effective programme for the next `days` days (default 3), each
entry with the audio's URL, SHA-256, size and duration, the volume and the tier it comes from. The
document is canonical JSON (keys sorted, no floats, no time of building), so the same schedules give
the same bytes before signing; `version` (the id of the schedule change that caused it) only grows,
and a terminal keeps the highest version it has verified.
"""

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.urls import reverse
from ruralcast_terminal.protocol import canonical_json

from ruralcast.broadcasting.models import ScheduleSlot
from ruralcast.broadcasting.programme import Entry, days_from, programme_for, slots_touching
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal

DOCUMENT_KIND = "schedule"
DEFAULT_DAYS = 3
FORMAT_VERSION = 1


def programme_audio_url(sha256: str) -> str:
    base = settings.RURALCAST_PUBLIC_URL.rstrip("/")
    return f"{base}{reverse('broadcasting:audio', args=[sha256])}"


def _entry_json(entry: Entry) -> dict[str, Any]:
    """One audio to play (an item, or one item of a playlist block: `Entry.pieces`)."""
    milliseconds = math.ceil(entry.seconds * 1000)
    playlist = {} if entry.playlist_id is None else {"playlist": entry.playlist_id, "position": entry.position}
    return {
        **playlist,
        "start": entry.start.isoformat(timespec="milliseconds" if entry.start.microsecond else "seconds"),
        "ms": milliseconds,
        "title": entry.item_title,
        "item": entry.item_id,
        "audio": {
            "url": programme_audio_url(entry.audio_sha256),
            "sha256": entry.audio_sha256,
            "bytes": entry.audio_bytes,
            "seconds": math.ceil(entry.seconds),
            "mime": "audio/mpeg",
        },
        "volume": entry.volume,
        "tier": entry.tier,
        "region": entry.owner_code,
        "schedule": entry.schedule_id,
        "slot": entry.slot_id,
    }


def schedule_document(
    *,
    terminal: Terminal,
    start: date,
    version: int,
    days: int = DEFAULT_DAYS,
    slots: Iterable[ScheduleSlot] | None = None,
) -> dict[str, Any]:
    """The document for `terminal` covering `days` days from `start` (the payload to sign).

    `slots` may be passed pre-loaded (any superset of the slots touching the terminal's village,
    as `slots_touching` returns) to build many documents from one query.
    """
    village: Region = terminal.village
    loaded = list(slots) if slots is not None else list(slots_touching([village]))
    entries: list[dict[str, Any]] = []
    for day in days_from(start, days):
        programme = programme_for(village=village, day=day, slots=loaded)
        entries.extend(_entry_json(piece) for entry in programme.entries for piece in entry.pieces())
    return {
        "kind": DOCUMENT_KIND,
        "format": FORMAT_VERSION,
        "version": version,
        "terminal": terminal.code,
        "village": village.code,
        "timezone": settings.TIME_ZONE,
        "from": start.isoformat(),
        "days": days,
        "entries": entries,
    }


def document_bytes(document: dict[str, Any]) -> bytes:
    """The canonical bytes the dispatcher signs (the same document always gives the same bytes)."""
    return canonical_json(document)


def village_fingerprints(
    *, villages: Iterable[Region], start: date, days: int, slots: list[ScheduleSlot]
) -> dict[str, tuple[object, ...]]:
    """Per village code, what its terminals' documents would hold (to compare before/after a change)."""
    result: dict[str, tuple[object, ...]] = {}
    for village in villages:
        result[village.code] = tuple(
            entry.fingerprint()
            for day in days_from(start, days)
            for entry in programme_for(village=village, day=day, slots=slots).entries
        )
    return result
