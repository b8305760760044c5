"""The effective-schedule document terminals receive (docs/broadcasting.md, "The document").

One document per **village**: every loudspeaker of a village plays the same programme, so the
platform signs one document per village and publishes it once, retained, on the village's region
topic (`rc/v1/down/r/<village>/schedule`), where the broker fans it out to the village's terminals.
It holds the village's effective programme for the next `days` days (default 3), each entry with
the audio's URL, SHA-256, size and duration, the volume and the tier it comes from. The document is
canonical JSON (keys sorted, no floats, no time of building), so the same schedules give the same
bytes before signing; `version` (the id of the schedule change that caused it) only grows, and a
terminal keeps the highest version it has verified.

Villages under the same schedules hear the same programme: `ProgrammeMemo` computes it once per
set of covering slots, which is what keeps a county-wide change cheap (thousands of villages, a
handful of distinct programmes).
"""

import math
from collections.abc import Iterable
from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from ruralcast_terminal.protocol import canonical_json, covering_codes

from ruralcast.broadcasting.models import ScheduleSlot
from ruralcast.broadcasting.programme import (
    Entry,
    covers,
    days_from,
    merge_day,
    slots_touching,
    with_content,
)
from ruralcast.messaging.topics import SCHEDULE
from ruralcast.regions.models import Region

DOCUMENT_KIND = "schedule"
DEFAULT_DAYS = 3
FORMAT_VERSION = 2
# The last level of the retained topic a village's document lives on: rc/v1/down/r/<village>/schedule.
TOPIC_NAME = SCHEDULE


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


def slots_covering(village_codes: Iterable[str]) -> QuerySet[ScheduleSlot]:
    """Slots of active schedules whose target covers any of the villages (one query, one IN list)."""
    targets = sorted({code for village in village_codes for code in covering_codes(village)})
    return with_content(
        ScheduleSlot.objects.filter(schedule__active=True, schedule__target_region_id__in=targets)
        .select_related("schedule", "schedule__owner_region")
        .order_by("id")
    )


class ProgrammeMemo:
    """The effective programme of many villages over `days` days from `start`, from loaded `slots`.

    Two villages covered by the same slots hear the same programme; it is merged once per distinct
    set of covering slots (a county-wide schedule: once for the whole county).
    """

    def __init__(self, *, slots: Iterable[ScheduleSlot], start: date, days: int) -> None:
        self.slots = [slot for slot in slots if slot.schedule.active]
        self.days = days_from(start, days)
        self._by_key: dict[tuple[int, ...], list[Entry]] = {}
        self._json: dict[tuple[int, ...], list[dict[str, Any]]] = {}
        self._targets: dict[str, list[ScheduleSlot]] = {}
        for slot in self.slots:
            self._targets.setdefault(slot.schedule.target_region_id, []).append(slot)

    def _key(self, village_code: str) -> tuple[int, ...]:
        covering = [slot for target, slots in self._targets.items() if covers(target, village_code) for slot in slots]
        key = tuple(sorted(slot.pk for slot in covering))
        if key not in self._by_key:
            entries: list[Entry] = []
            for day in self.days:
                kept, _dropped = merge_day(covering, day)
                entries.extend(kept)
            self._by_key[key] = entries
        return key

    def entries(self, village_code: str) -> list[Entry]:
        return self._by_key[self._key(village_code)]

    def fingerprint(self, village_code: str) -> tuple[object, ...]:
        """What the village's document holds (to compare before/after a change)."""
        return tuple(entry.fingerprint() for entry in self.entries(village_code))

    def entries_json(self, village_code: str) -> list[dict[str, Any]]:
        key = self._key(village_code)
        if key not in self._json:
            # A playlist block goes out as one entry per item (`Entry.pieces`): terminals play entries only.
            self._json[key] = [_entry_json(piece) for entry in self._by_key[key] for piece in entry.pieces()]
        return self._json[key]


def schedule_document(
    *,
    village: Region | str,
    start: date,
    version: int,
    days: int = DEFAULT_DAYS,
    memo: ProgrammeMemo | None = None,
) -> dict[str, Any]:
    """The document of `village` covering `days` days from `start` (the payload to sign).

    Pass `memo` (built over a superset of the slots touching the village, as `slots_touching`
    returns) to build many documents from one query and one merge per distinct programme.
    """
    code = village if isinstance(village, str) else village.code
    if memo is None:
        region = village if isinstance(village, Region) else Region.objects.get(code=code)
        memo = ProgrammeMemo(slots=slots_touching([region]), start=start, days=days)
    return {
        "kind": DOCUMENT_KIND,
        "format": FORMAT_VERSION,
        "version": version,
        "village": code,
        "timezone": settings.TIME_ZONE,
        "from": start.isoformat(),
        "days": days,
        "entries": memo.entries_json(code),
    }


def document_bytes(document: dict[str, Any]) -> bytes:
    """The canonical bytes the dispatcher signs (the same document always gives the same bytes)."""
    return canonical_json(document)
