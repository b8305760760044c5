"""Reads of daily broadcasting, scoped by the viewer's grants, and the conflict check of a slot."""

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.broadcasting.models import (
    PlaybackLog,
    Playlist,
    PlaylistItem,
    ProgrammeItem,
    Schedule,
    ScheduleSlot,
    recurrence_occurs,
)
from ruralcast.broadcasting.playlogs import EntryCoverage, entry_coverage
from ruralcast.broadcasting.programme import (
    DayProgramme,
    Entry,
    content_entry,
    days_from,
    effective_programme,
    local_today,
    local_zone,
    slot_entry,
    slots_touching,
)
from ruralcast.broadcasting.services import SlotFields
from ruralcast.core.errors import NotFound
from ruralcast.regions.codes import subtree_q
from ruralcast.regions.models import Region

CHECK_DAYS = 7
# The id a slot not yet saved takes in the precedence order: after every saved one of its tier and time.
UNSAVED_SLOT_ID = 2**31


def item_list(*, user: User, query: str = "", owner: str = "") -> QuerySet[ProgrammeItem]:
    """Library items owned in the regions where the user holds `programme.view`."""
    scope = action_scope_q(user=user, action=Action.PROGRAMME_VIEW, field="owner_region_id")
    if scope is None:
        return ProgrammeItem.objects.none()
    items = ProgrammeItem.objects.filter(scope).select_related("owner_region", "created_by")
    if query:
        items = items.filter(Q(title__icontains=query) | Q(tags__icontains=query))
    if owner:
        items = items.filter(owner_region_id=owner)
    return items


def _related_q(owner: Region) -> Q:
    """Owned by `owner`, a region above it or one below it."""
    return Q(owner_region_id__in=[*owner.ancestor_codes, owner.code]) | subtree_q(owner.prefix, "owner_region_id")


def items_for_schedule(*, user: User, schedule: Schedule) -> QuerySet[ProgrammeItem]:
    """Items a slot of `schedule` may use: the user sees them and their owner is above or below the schedule's."""
    return item_list(user=user).filter(_related_q(schedule.owner_region)).order_by("title", "id")


def items_for_playlist(*, user: User, playlist: Playlist, query: str = "") -> QuerySet[ProgrammeItem]:
    """Items `playlist` may hold (the same rule as a slot's), searched by title or tag."""
    return item_list(user=user, query=query).filter(_related_q(playlist.owner_region)).order_by("title", "id")


def playlist_list(*, user: User, query: str = "", owner: str = "") -> QuerySet[Playlist]:
    """Playlists owned in the regions where the user holds `programme.view`, with their items."""
    scope = action_scope_q(user=user, action=Action.PROGRAMME_VIEW, field="owner_region_id")
    if scope is None:
        return Playlist.objects.none()
    rows = PlaylistItem.objects.select_related("item").order_by("position", "id")
    playlists = (
        Playlist.objects.filter(scope)
        .select_related("owner_region")
        .prefetch_related(Prefetch("entries", queryset=rows))
        .order_by("owner_region_id", "name", "id")
    )
    if query:
        playlists = playlists.filter(Q(name__icontains=query) | Q(tags__icontains=query))
    if owner:
        playlists = playlists.filter(owner_region_id=owner)
    return playlists


def access_playlist(*, user: User, playlist_id: int) -> Playlist:
    playlist = playlist_list(user=user).filter(pk=playlist_id).first()
    if playlist is None:
        raise NotFound(_("No playlist %(id)s in your regions.") % {"id": playlist_id})
    return playlist


def playlists_for_schedule(*, user: User, schedule: Schedule) -> QuerySet[Playlist]:
    """Playlists a slot of `schedule` may play: the user sees them and their owner is above or below."""
    return playlist_list(user=user).filter(_related_q(schedule.owner_region)).order_by("name", "id")


def playlist_schedules(*, user: User, playlist: Playlist) -> QuerySet[Schedule]:
    """The schedules (that the user sees) with a slot playing `playlist`."""
    return schedule_list(user=user).filter(slots__playlist=playlist).distinct()


def access_item(*, user: User, item_id: int) -> ProgrammeItem:
    item = item_list(user=user).filter(pk=item_id).first()
    if item is None:
        raise NotFound(_("No programme item %(id)s in your regions.") % {"id": item_id})
    return item


def schedule_list(*, user: User) -> QuerySet[Schedule]:
    """Schedules owned in the regions where the user holds `programme.view`."""
    scope = action_scope_q(user=user, action=Action.PROGRAMME_VIEW, field="owner_region_id")
    if scope is None:
        return Schedule.objects.none()
    return (
        Schedule.objects.filter(scope)
        .select_related("owner_region", "target_region")
        .prefetch_related("slots__item", "slots__playlist")
        .order_by("owner_region_id", "name", "id")
    )


def access_schedule(*, user: User, schedule_id: int) -> Schedule:
    schedule = schedule_list(user=user).filter(pk=schedule_id).first()
    if schedule is None:
        raise NotFound(_("No schedule %(id)s in your regions.") % {"id": schedule_id})
    return schedule


def access_slot(*, user: User, slot_id: int) -> ScheduleSlot:
    slot = (
        ScheduleSlot.objects.select_related("schedule", "schedule__owner_region", "item", "playlist")
        .filter(pk=slot_id)
        .first()
    )
    if slot is None:
        raise NotFound(_("No schedule slot %(id)s.") % {"id": slot_id})
    access_schedule(user=user, schedule_id=slot.schedule_id)
    return slot


def village_programme(*, user: User, village: Region, day: date) -> DayProgramme:
    """What `village` hears on `day`, for someone who may view programmes there."""
    access_require(user=user, action=Action.PROGRAMME_VIEW, region=village)
    return effective_programme(village=village, day=day)


# ---------------------------------------------------------------------------- the conflict check


@dataclass(frozen=True)
class SlotConflict:
    day: date
    other: Entry
    relation: str  # "above" (a higher tier), "below" (a lower tier) or "same" (equal tier)
    yours_plays: bool  # by the precedence rule, where both target areas meet


def slot_conflicts(
    *, schedule: Schedule, fields: SlotFields, exclude_slot_id: int | None = None, start: date | None = None,
    days: int = CHECK_DAYS,
) -> list[SlotConflict]:  # fmt: skip
    """Slots of active schedules above, below or beside `schedule`'s target that a slot with
    `fields` would overlap on each of the next `days` days, and which of the two would play.

    Pairwise: each conflict says who wins between the two slots (higher tier, else earlier start);
    what finally plays in one village is the effective programme (a third, higher slot may drop both).
    """
    start = start or local_today()
    others = [slot for slot in slots_touching([schedule.target_region]) if slot.pk != exclude_slot_id]
    found: list[SlotConflict] = []
    for day in days_from(start, days):
        if not recurrence_occurs(
            recurrence=fields.recurrence,
            weekdays=fields.weekdays,
            dates=[d.isoformat() for d in fields.dates],
            start_date=fields.start_date,
            end_date=fields.end_date,
            day=day,
        ):
            continue
        mine = content_entry(
            schedule=schedule, slot_id=exclude_slot_id or UNSAVED_SLOT_ID, day=day, start_time=fields.start_time,
            item=fields.item, playlist=fields.playlist,
        )  # fmt: skip
        for slot in others:
            if not slot.occurs_on(day):
                continue
            other = slot_entry(slot, day)
            if not other.ms or not other.overlaps(mine):
                continue
            relation = "above" if other.tier < mine.tier else "below" if other.tier > mine.tier else "same"
            found.append(SlotConflict(day=day, other=other, relation=relation, yours_plays=mine.order < other.order))
    return found


# ---------------------------------------------------------------------------- playback logs (播出记录)


def playlog_list(
    *, user: User, region: Region | None = None, terminal: str = "", day: date | None = None, outcome: str = ""
) -> QuerySet[PlaybackLog]:
    """Playback logs of terminals in the regions where the user holds `programme.view`, newest first.

    `region` narrows to its subtree (a village: that village), `day` to entries scheduled on that
    local day.
    """
    scope = action_scope_q(user=user, action=Action.PROGRAMME_VIEW, field="village_id")
    if scope is None:
        return PlaybackLog.objects.none()
    logs = PlaybackLog.objects.filter(scope).select_related("village")
    if region is not None:
        logs = logs.filter(subtree_q(region.prefix, "village_id"))
    if terminal:
        logs = logs.filter(terminal_code=terminal)
    if day is not None:
        begin = datetime.combine(day, datetime.min.time(), tzinfo=local_zone())
        logs = logs.filter(scheduled_start__gte=begin, scheduled_start__lt=begin + timedelta(days=1))
    if outcome:
        logs = logs.filter(outcome=outcome)
    return logs.order_by("-scheduled_start", "village_id", "terminal_code")


def village_coverage(*, user: User, village: Region, day: date) -> dict[tuple[int, datetime], EntryCoverage]:
    """Coverage of the village's entries on `day`, by (slot id, scheduled start)."""
    access_require(user=user, action=Action.PROGRAMME_VIEW, region=village)
    logs = playlog_list(user=user, region=village, day=day)
    return {(entry.slot_id, entry.scheduled_start): entry for entry in entry_coverage(logs=logs)}
