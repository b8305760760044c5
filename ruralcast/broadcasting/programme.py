"""What a village actually hears: the merged, effective programme of a day.

The rule (also in docs/broadcasting.md):

1. Every slot of every *active* schedule whose target subtree contains the village and whose
   recurrence falls on the day is a candidate entry, occupying [start, start + item duration). A
   playlist slot is one block occupying [start, start + the playlist's total duration) and is
   kept or dropped whole; an empty playlist is no candidate.
2. **The higher tier wins (上级优先).** Candidates are taken in the order (tier, start time, slot
   id), tier being the owner's level (county 3 before township 4 before village 5, as
   `ruralcast_terminal.priority.tier_of` counts). A candidate that overlaps an entry already taken
   is dropped. So a higher tier's slot always plays and the lower tier's overlapping slot is dropped,
   whatever their order in the day: a village schedule never overrides a county one.
3. **Equal tier: the earlier start wins**; the later overlapping slot is dropped (same start: the
   slot created first wins).

Only slots starting on the day count for it (a late slot running past midnight does not block the
next morning). Nothing here writes: these are pure computations over the schedules in the database.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.broadcasting.models import Playlist, PlaylistItem, ProgrammeItem, Schedule, ScheduleSlot
from ruralcast.core.errors import ValidationError
from ruralcast.regions.codes import Level, level_of_code, prefix_of, subtree_q
from ruralcast.regions.models import Region

HIGHER_TIER = "higher_tier"
EARLIER_START = "earlier_start"


def local_zone() -> ZoneInfo:
    return ZoneInfo(settings.TIME_ZONE)


def local_today() -> date:
    return datetime.now(local_zone()).date()


@dataclass(frozen=True)
class Part:
    """One item of a playlist block, in play order."""

    position: int
    item_id: int
    item_title: str
    audio_name: str
    audio_sha256: str
    audio_bytes: int
    seconds: float

    @property
    def ms(self) -> int:
        return math.ceil(self.seconds * 1000)


@dataclass(frozen=True)
class Entry:
    """One slot on one day, as a candidate or as what plays.

    For a playlist slot the entry is the whole block: `item_id` is None, `item_title` is the
    playlist's name, `seconds` the total and `parts` its items; `pieces()` cuts it into one entry
    per item (what a terminal's document lists). A piece carries `playlist_id`, its `position` and
    `offset_ms` from the block's start.
    """

    slot_id: int
    schedule_id: int
    schedule_name: str
    owner_code: str
    owner_name: str
    target_code: str
    tier: int
    day: date
    start_time: time
    seconds: float
    item_id: int | None
    item_title: str
    audio_name: str
    audio_sha256: str
    audio_bytes: int
    volume: int
    playlist_id: int | None = None
    parts: tuple[Part, ...] = ()
    position: int | None = None
    offset_ms: int = 0

    @property
    def start(self) -> datetime:
        start = datetime.combine(self.day, self.start_time, tzinfo=local_zone())
        return start + timedelta(milliseconds=self.offset_ms) if self.offset_ms else start

    @property
    def ms(self) -> int:
        """The exact length in milliseconds (a block: the sum of its items', each rounded up)."""
        if self.parts:
            return sum(part.ms for part in self.parts)
        return math.ceil(self.seconds * 1000)

    @property
    def end(self) -> datetime:
        return self.start + timedelta(milliseconds=self.ms)

    def pieces(self) -> list["Entry"]:
        """What plays, one entry per audio: the entry itself, or each item of a playlist block in turn."""
        if not self.parts:
            return [self]
        result, offset = [], self.offset_ms
        for part in self.parts:
            result.append(
                replace(
                    self,
                    seconds=part.seconds,
                    item_id=part.item_id,
                    item_title=part.item_title,
                    audio_name=part.audio_name,
                    audio_sha256=part.audio_sha256,
                    audio_bytes=part.audio_bytes,
                    parts=(),
                    position=part.position,
                    offset_ms=offset,
                )
            )
            offset += part.ms
        return result

    def overlaps(self, other: "Entry") -> bool:
        return self.start < other.end and other.start < self.end

    @property
    def order(self) -> tuple[int, time, int]:
        return (self.tier, self.start_time, self.slot_id)

    def fingerprint(self) -> tuple[object, ...]:
        """What a terminal's document holds of the entry (for telling which terminals changed)."""
        parts = tuple((part.item_id, part.audio_sha256, part.ms) for part in self.parts)
        return (
            self.day, self.start_time, self.slot_id, self.audio_sha256, self.seconds, self.volume, self.tier,
            self.playlist_id, parts,
        )  # fmt: skip


@dataclass(frozen=True)
class Dropped:
    entry: Entry
    by: Entry
    reason: str  # HIGHER_TIER or EARLIER_START


@dataclass
class DayProgramme:
    village: Region
    day: date
    entries: list[Entry] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)


def merge(candidates: Iterable[Entry]) -> tuple[list[Entry], list[Dropped]]:
    """Apply the precedence rule (module docstring) to one village's candidates of one day."""
    kept: list[Entry] = []
    dropped: list[Dropped] = []
    for entry in sorted(candidates, key=lambda e: e.order):
        blocker = next((other for other in kept if other.overlaps(entry)), None)
        if blocker is None:
            kept.append(entry)
        else:
            reason = HIGHER_TIER if blocker.tier < entry.tier else EARLIER_START
            dropped.append(Dropped(entry=entry, by=blocker, reason=reason))
    kept.sort(key=lambda e: (e.start_time, e.tier, e.slot_id))
    dropped.sort(key=lambda d: (d.entry.start_time, d.entry.tier, d.entry.slot_id))
    return kept, dropped


def covering_codes(region: Region) -> list[str]:
    """Codes of the regions whose subtree contains `region` (itself included)."""
    return [*region.ancestor_codes, region.code]


def with_content(slots: QuerySet[ScheduleSlot]) -> QuerySet[ScheduleSlot]:
    """Load what each slot plays: its item, or its playlist with the playlist's items (one more query)."""
    rows = PlaylistItem.objects.select_related("item").order_by("position", "id")
    return slots.select_related("item", "playlist").prefetch_related(Prefetch("playlist__entries", queryset=rows))


def slots_touching(regions: Iterable[Region], *, active_only: bool = True) -> QuerySet[ScheduleSlot]:
    """Slots of schedules whose target covers, or lies inside, any of `regions` (one query)."""
    query = Q()
    for region in regions:
        query |= Q(schedule__target_region_id__in=covering_codes(region)) | subtree_q(
            region.prefix, "schedule__target_region_id"
        )
    slots = with_content(
        ScheduleSlot.objects.filter(query).select_related(
            "schedule", "schedule__owner_region", "schedule__target_region"
        )
    )
    if active_only:
        slots = slots.filter(schedule__active=True)
    return slots.order_by("id")


def playlist_parts(playlist: Playlist) -> tuple[Part, ...]:
    return tuple(
        Part(
            position=position,
            item_id=row.item.pk,
            item_title=row.item.title,
            audio_name=row.item.audio_name,
            audio_sha256=row.item.audio_sha256,
            audio_bytes=row.item.audio_bytes,
            seconds=row.item.audio_seconds,
        )
        for position, row in enumerate(playlist.ordered_items())
    )


def content_entry(
    *, schedule: Schedule, slot_id: int, day: date, start_time: time, item: ProgrammeItem | None,
    playlist: Playlist | None,
) -> Entry:  # fmt: skip
    """The entry of `item`, or of `playlist` as one block, played by `schedule` at `start_time` on `day`."""
    parts: tuple[Part, ...] = ()
    content: tuple[float, int | None, str, str, str, int]
    if playlist is not None:
        parts = playlist_parts(playlist)
        total_ms, total_bytes = sum(part.ms for part in parts), sum(part.audio_bytes for part in parts)
        content = (total_ms / 1000, None, playlist.name, "", "", total_bytes)
    else:
        assert item is not None, "a slot plays an item or a playlist"
        content = (item.audio_seconds, item.pk, item.title, item.audio_name, item.audio_sha256, item.audio_bytes)
    seconds, item_id, title, audio_name, audio_sha256, audio_bytes = content
    return Entry(
        slot_id=slot_id,
        schedule_id=schedule.pk or 0,
        schedule_name=schedule.name,
        owner_code=schedule.owner_region_id,
        owner_name=schedule.owner_region.name,
        target_code=schedule.target_region_id,
        tier=int(schedule.owner_region.level),
        day=day,
        start_time=start_time,
        seconds=seconds,
        item_id=item_id,
        item_title=title,
        audio_name=audio_name,
        audio_sha256=audio_sha256,
        audio_bytes=audio_bytes,
        volume=schedule.volume,
        playlist_id=playlist.pk if playlist else None,
        parts=parts,
    )


def slot_entry(slot: ScheduleSlot, day: date) -> Entry:
    return content_entry(
        schedule=slot.schedule, slot_id=slot.pk, day=day, start_time=slot.start_time, item=slot.item,
        playlist=slot.playlist,
    )  # fmt: skip


def covers(target_code: str, village_code: str) -> bool:
    """Whether the subtree of the region `target_code` contains the village `village_code`."""
    return village_code.startswith(prefix_of(target_code, level_of_code(target_code)))


def merge_day(slots: Iterable[ScheduleSlot], day: date) -> tuple[list[Entry], list[Dropped]]:
    """The rule applied to the slots covering one village (already chosen) on `day`."""
    candidates = (slot_entry(slot, day) for slot in slots if slot.occurs_on(day))
    return merge(entry for entry in candidates if entry.ms > 0)  # an emptied playlist plays nothing


def programme_for(*, village: Region, day: date, slots: Iterable[ScheduleSlot]) -> DayProgramme:
    """The effective programme of `village` on `day` from already loaded `slots` (any superset)."""
    covering = [slot for slot in slots if slot.schedule.active and covers(slot.schedule.target_region_id, village.code)]
    kept, dropped = merge_day(covering, day)
    return DayProgramme(village=village, day=day, entries=kept, dropped=dropped)


def effective_programme(*, village: Region, day: date) -> DayProgramme:
    """What `village` hears on `day` (the merged programme, with what was dropped and why)."""
    if village.level != Level.VILLAGE:
        raise ValidationError(
            _("Choose a village: the effective programme is what one village's loudspeakers play."),
            fields={"village": [_("Not a village.")]},
        )
    slots = list(
        with_content(
            ScheduleSlot.objects.filter(schedule__active=True, schedule__target_region_id__in=covering_codes(village))
        )
        .select_related("schedule", "schedule__owner_region")
        .order_by("id")
    )
    return programme_for(village=village, day=day, slots=slots)


def days_from(start: date, count: int) -> list[date]:
    return [start + timedelta(days=offset) for offset in range(count)]
