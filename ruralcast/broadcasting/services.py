"""Writes of daily broadcasting: library items, schedules and their slots.

Every write checks the actor's role on the owner region (`access_require`), runs in one
transaction with its audit record and, for schedules, with the outbox rows that send the changed
effective-schedule documents to terminals (`_publish_change`).

Who may do what:
- `programme.edit` on the owner region adds items to that region's library;
- `schedule.manage` on the owner region creates and changes its schedules. The owner's level is the
  schedule's tier: a township operator cannot touch the county's schedule (the county is outside
  the township's subtree) and a village broadcaster schedules only for their own village.
- The target must lie inside the owner's subtree; only counties, townships and villages own schedules.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.audio import StoredAudio, audio_from_text, audio_from_upload
from ruralcast.broadcasting.documents import DEFAULT_DAYS, ProgrammeMemo
from ruralcast.broadcasting.models import (
    MONDAY_TO_FRIDAY,
    SCHEDULE_LEVELS,
    Playlist,
    PlaylistItem,
    ProgrammeItem,
    Recurrence,
    Schedule,
    ScheduleChange,
    ScheduleSlot,
    Source,
)
from ruralcast.broadcasting.programme import covering_codes, local_today, local_zone, slots_touching
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.regions.models import Region
from ruralcast.terminals.selectors import terminals_in_regions

OUTBOX_PUBLISH = "schedule.publish"
MAX_TAGS = 10
MAX_DATES = 366


# ---------------------------------------------------------------------------- library


def _clean_tags(tags: list[str] | str) -> list[str]:
    if isinstance(tags, str):
        tags = tags.replace("，", ",").split(",")
    cleaned: list[str] = []
    for tag in tags:
        tag = str(tag).replace(",", " ").strip()[:30]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(_("At most %(n)s tags.") % {"n": MAX_TAGS}, fields={"tags": [_("Too many tags.")]})
    return cleaned


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Give the item a title."), fields={"title": [_("This field is required.")]})
    if len(title) > 200:
        raise ValidationError(_("The title is too long."), fields={"title": [_("At most 200 characters.")]})
    return title


def _item_save(
    *, actor: User, owner_region: Region, title: str, tags: list[str], source: str, text: str, audio: StoredAudio
) -> ProgrammeItem:
    with transaction.atomic():
        item = ProgrammeItem.objects.create(
            title=title,
            owner_region=owner_region,
            tags=",".join(tags),
            source=source,
            text=text,
            audio_name=audio.name,
            audio_sha256=audio.sha256,
            audio_bytes=audio.size,
            audio_seconds=audio.seconds,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            verb="programme.create",
            obj=item,
            region_code=owner_region.code,
            after={"title": title, "source": source, "sha256": audio.sha256, "seconds": audio.seconds, "tags": tags},
        )
    return item


def programme_item_create_from_text(
    *, actor: User, owner_region: Region, title: str, text: str, tags: list[str] | str = ""
) -> ProgrammeItem:
    """A library item read aloud by the speech app (cached by text, so a repeat costs nothing)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    title, tag_list = _clean_title(title), _clean_tags(tags)
    audio = audio_from_text(text=text)
    return _item_save(
        actor=actor, owner_region=owner_region, title=title, tags=tag_list, source=Source.SPEECH, text=text.strip(),
        audio=audio,
    )  # fmt: skip


def programme_item_create_from_upload(
    *,
    actor: User,
    owner_region: Region,
    title: str,
    upload: UploadedFile,
    tags: list[str] | str = "",
    source: str = Source.UPLOAD,
) -> ProgrammeItem:
    """A library item from an uploaded recording: probed, loudness-normalised, re-encoded.

    A file that is not audio raises ValidationError (400) and nothing is stored. `source` is
    UPLOAD, or LIVE for the recording of a live-voice session (ruralcast.live).
    """
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    title, tag_list = _clean_title(title), _clean_tags(tags)
    audio = audio_from_upload(upload)
    return _item_save(
        actor=actor, owner_region=owner_region, title=title, tags=tag_list, source=source, text="", audio=audio
    )


def _usable_by(*, actor: User, owner: Region, region: Region) -> bool:
    """Whether content owned by `region` may be used by something owned by `owner`: the same region,
    one above or one below it (never a neighbour's), and the actor may see it."""
    related = region.code in covering_codes(owner) or owner.contains(region)
    return related and access_check(user=actor, action=Action.PROGRAMME_VIEW, region=region)


# ---------------------------------------------------------------------------- playlists

MAX_PLAYLIST_ITEMS = 100
MAX_PLAYLIST_SECONDS = 6 * 3600


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the playlist a name."), fields={"name": [_("This field is required.")]})
    if len(name) > 200:
        raise ValidationError(_("The name is too long."), fields={"name": [_("At most 200 characters.")]})
    return name


def _playlist_state(playlist: Playlist) -> dict[str, Any]:
    return {
        "name": playlist.name,
        "owner": playlist.owner_region_id,
        "tags": playlist.tag_list,
        "items": [row.item_id for row in playlist.ordered_items()],
    }


def playlist_create(*, actor: User, owner_region: Region, name: str, tags: list[str] | str = "") -> Playlist:
    """An empty playlist of `owner_region` (items are added with `playlist_items_set`)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    name, tag_list = _clean_name(name), _clean_tags(tags)
    with transaction.atomic():
        playlist = Playlist.objects.create(
            name=name, owner_region=owner_region, tags=",".join(tag_list), created_by=actor
        )
        audit_record(
            actor=actor, verb="playlist.create", obj=playlist, region_code=owner_region.code,
            after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def playlist_update(*, actor: User, playlist: Playlist, name: str, tags: list[str] | str = "") -> Playlist:
    """Rename a playlist or change its tags (what terminals play does not change)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    name, tag_list = _clean_name(name), _clean_tags(tags)
    before = _playlist_state(playlist)
    with transaction.atomic():
        playlist.name, playlist.tags = name, ",".join(tag_list)
        playlist.save(update_fields=["name", "tags", "updated_at"])
        audit_record(
            actor=actor, verb="playlist.update", obj=playlist, region_code=playlist.owner_region_id,
            before=before, after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def _playlist_users(playlist: Playlist) -> list[Schedule]:
    return list(
        Schedule.objects.filter(slots__playlist=playlist).select_related("target_region").distinct().order_by("id")
    )


def playlist_items_set(*, actor: User, playlist: Playlist, items: list[ProgrammeItem]) -> Playlist:
    """Make `items` (in this order; an item may come back) the playlist's content: add, remove, reorder.

    Each item must belong to the playlist's region, one above or one below it. The documents of the
    villages whose programme this changes are sent again, as after a slot change. A playlist that
    slots play may not be emptied (400): delete or change those slots first.
    """
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    if len(items) > MAX_PLAYLIST_ITEMS:
        raise ValidationError(
            _("A playlist holds at most %(n)s items.") % {"n": MAX_PLAYLIST_ITEMS},
            fields={"items": [_("Too many items.")]},
        )
    for item in items:
        if not _usable_by(actor=actor, owner=playlist.owner_region, region=item.owner_region):
            raise ValidationError(
                _("“%(title)s” is not in this playlist's library (its own region, a region above or below it).")
                % {"title": item.title},
                fields={"items": [_("Not available to this playlist.")]},
            )
    if sum(item.audio_seconds for item in items) > MAX_PLAYLIST_SECONDS:
        raise ValidationError(_("A playlist plays at most six hours."), fields={"items": [_("Too long.")]})
    with transaction.atomic():
        _current_items(playlist)  # one writer at a time, and `before` as stored
        before = _playlist_state(playlist)
        users = _playlist_users(playlist)
        if not items and users:
            raise ValidationError(
                _("Slots of %(schedules)s play this playlist: it may not be emptied.")
                % {"schedules": ", ".join(f"“{schedule.name}”" for schedule in users)},
                fields={"items": [_("Keep at least one item.")]},
            )

        def write() -> None:
            PlaylistItem.objects.filter(playlist=playlist).delete()
            PlaylistItem.objects.bulk_create(
                [PlaylistItem(playlist=playlist, item=item, position=n) for n, item in enumerate(items)]
            )
            playlist.save(update_fields=["updated_at"])
            getattr(playlist, "_prefetched_objects_cache", {}).pop("entries", None)

        if users:
            areas = list({schedule.target_region_id: schedule.target_region for schedule in users}.values())
            _publish_change(schedule=None, verb="playlist.items", areas=areas, mutate=write)
        else:
            write()
        audit_record(
            actor=actor, verb="playlist.items", obj=playlist, region_code=playlist.owner_region_id,
            before=before, after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def _current_items(playlist: Playlist) -> list[ProgrammeItem]:
    """The playlist's items as stored now, the row locked (call inside a transaction)."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    getattr(playlist, "_prefetched_objects_cache", {}).pop("entries", None)
    return [row.item for row in playlist.entries.select_related("item").order_by("position", "id")]


def playlist_item_add(*, actor: User, playlist: Playlist, item: ProgrammeItem) -> Playlist:
    """Append `item` to the playlist."""
    with transaction.atomic():
        current = _current_items(playlist)
        return playlist_items_set(actor=actor, playlist=playlist, items=[*current, item])


def _position_check(current: list[ProgrammeItem], position: int) -> None:
    if not 0 <= position < len(current):
        raise ValidationError(
            _("The playlist has no item at position %(n)s.") % {"n": position + 1},
            fields={"position": [_("No such position.")]},
        )


def playlist_item_remove(*, actor: User, playlist: Playlist, position: int) -> Playlist:
    """Remove the item at `position` (0 is the first)."""
    with transaction.atomic():
        current = _current_items(playlist)
        _position_check(current, position)
        del current[position]
        return playlist_items_set(actor=actor, playlist=playlist, items=current)


def playlist_item_move(*, actor: User, playlist: Playlist, position: int, offset: int) -> Playlist:
    """Move the item at `position` by `offset` places (-1 up, +1 down; kept within the list)."""
    with transaction.atomic():
        current = _current_items(playlist)
        _position_check(current, position)
        target = min(max(position + offset, 0), len(current) - 1)
        current.insert(target, current.pop(position))
        return playlist_items_set(actor=actor, playlist=playlist, items=current)


def playlist_delete(*, actor: User, playlist: Playlist) -> None:
    """Delete an unused playlist; one that slots play is refused (409) naming their schedules."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    with transaction.atomic():
        users = _playlist_users(playlist)
        if users:
            raise Conflict(
                _("Slots of %(schedules)s play this playlist: change or delete them first.")
                % {"schedules": ", ".join(f"“{schedule.name}”" for schedule in users)},
                fields={"playlist": [_("In use by a schedule.")]},
            )
        before, pk, label = _playlist_state(playlist), playlist.pk, str(playlist)
        playlist.delete()
        audit_record(
            actor=actor, verb="playlist.delete", object_type="broadcasting.playlist", object_id=str(pk),
            object_label=label, region_code=before["owner"], before=before,
        )  # fmt: skip


# ---------------------------------------------------------------------------- schedules


def _schedule_validate(*, owner: Region, target: Region, volume: int, name: str) -> None:
    if owner.level not in SCHEDULE_LEVELS:
        raise ValidationError(
            _("Only a county, a township or a village owns a schedule (三级: county, township, village)."),
            fields={"owner_region": [_("Choose a county, township or village.")]},
        )
    if not owner.contains(target):
        raise ValidationError(
            _("The target %(target)s lies outside %(owner)s: a schedule plays only inside its owner's area.")
            % {"target": target.name, "owner": owner.name},
            fields={"target_region": [_("Choose a region inside the owner's area.")]},
        )
    if not 0 <= volume <= 100:
        raise ValidationError(_("Volume goes from 0 to 100."), fields={"volume": [_("Between 0 and 100.")]})
    if not name.strip():
        raise ValidationError(_("Give the schedule a name."), fields={"name": [_("This field is required.")]})


def _schedule_state(schedule: Schedule) -> dict[str, Any]:
    return {
        "name": schedule.name,
        "owner": schedule.owner_region_id,
        "target": schedule.target_region_id,
        "volume": schedule.volume,
        "active": schedule.active,
    }


def scheduled_villages(*, areas: list[Region]) -> list[str]:
    """Codes of the villages with at least one active terminal under `areas` (one query, no terminal rows)."""
    return list(
        terminals_in_regions(regions=areas).order_by("village_id").values_list("village_id", flat=True).distinct()
    )


def _publish_change(*, schedule: Schedule | None, verb: str, areas: list[Region], mutate: Callable[[], Any]) -> Any:
    """Run `mutate` (a write) and queue the effective-schedule documents it changed.

    Call inside the write's transaction. Compares, for every village with active terminals under
    `areas`, its effective programme over the document's days before and after (merged once per
    distinct set of covering slots, not per village or terminal); one outbox row (keyed by the
    ScheduleChange id, which is also the documents' version) sends one document to each village
    whose programme changed, and to no other.
    """
    villages = scheduled_villages(areas=areas)
    start = local_today()
    before = ProgrammeMemo(slots=slots_touching(areas), start=start, days=DEFAULT_DAYS)
    old = {code: before.fingerprint(code) for code in villages}
    result = mutate()
    after = ProgrammeMemo(slots=slots_touching(areas), start=start, days=DEFAULT_DAYS)
    changed = [code for code in villages if after.fingerprint(code) != old[code]]
    change = ScheduleChange.objects.create(schedule=schedule, verb=verb, villages=changed)
    if changed:
        outbox_enqueue(kind=OUTBOX_PUBLISH, key=str(change.pk))
    return result


def schedule_create(
    *, actor: User, owner_region: Region, target_region: Region, name: str, volume: int = 70, active: bool = True
) -> Schedule:
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=owner_region)
    _schedule_validate(owner=owner_region, target=target_region, volume=volume, name=name)
    with transaction.atomic():
        schedule = Schedule.objects.create(
            name=name.strip(),
            owner_region=owner_region,
            target_region=target_region,
            volume=volume,
            active=active,
            created_by=actor,
        )
        # A new schedule has no slots: nothing a terminal plays changes yet.
        ScheduleChange.objects.create(schedule=schedule, verb="schedule.create", villages=[])
        audit_record(
            actor=actor, verb="schedule.create", obj=schedule, region_code=owner_region.code,
            after=_schedule_state(schedule),
        )  # fmt: skip
    return schedule


def schedule_update(
    *, actor: User, schedule: Schedule, name: str, target_region: Region, volume: int, active: bool
) -> Schedule:
    """Change a schedule's name, target, volume or active flag (its owner, hence its tier, stays)."""
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)
    _schedule_validate(owner=schedule.owner_region, target=target_region, volume=volume, name=name)
    before = _schedule_state(schedule)
    areas = [schedule.target_region] if schedule.target_region_id == target_region.code else [
        schedule.target_region, target_region
    ]  # fmt: skip

    def write() -> None:
        schedule.name, schedule.target_region, schedule.volume, schedule.active = (
            name.strip(), target_region, volume, active
        )  # fmt: skip
        schedule.save(update_fields=["name", "target_region", "volume", "active", "updated_at"])

    with transaction.atomic():
        _publish_change(schedule=schedule, verb="schedule.update", areas=areas, mutate=write)
        audit_record(
            actor=actor, verb="schedule.update", obj=schedule, region_code=schedule.owner_region_id,
            before=before, after=_schedule_state(schedule),
        )  # fmt: skip
    return schedule


def schedule_delete(*, actor: User, schedule: Schedule) -> None:
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)
    before = _schedule_state(schedule)
    pk, label, region = schedule.pk, str(schedule), schedule.owner_region_id
    with transaction.atomic():
        _publish_change(schedule=None, verb="schedule.delete", areas=[schedule.target_region], mutate=schedule.delete)
        audit_record(
            actor=actor, verb="schedule.delete", object_type="broadcasting.schedule", object_id=str(pk),
            object_label=label, region_code=region, before=before,
        )  # fmt: skip


# ---------------------------------------------------------------------------- slots


@dataclass
class SlotFields:
    """What an author fills in for one slot; shared by create, edit and the conflict check."""

    start_time: time
    item: ProgrammeItem | None = None
    recurrence: str = Recurrence.DAILY
    weekdays: list[int] = field(default_factory=list)
    dates: list[date] = field(default_factory=list)
    start_date: date | None = None
    end_date: date | None = None
    playlist: Playlist | None = None  # instead of `item`: exactly one of the two


def slot_fields_validate(*, actor: User, schedule: Schedule, fields: SlotFields) -> SlotFields:
    """Check a slot's fields (also before the conflict check); returns them normalised."""
    if fields.recurrence not in Recurrence.values:
        raise ValidationError(_("Choose how the slot recurs."), fields={"recurrence": [_("Unknown recurrence.")]})
    weekdays = sorted({int(day) for day in fields.weekdays})
    if any(not 0 <= day <= 6 for day in weekdays):
        raise ValidationError(_("Weekdays go from Monday to Sunday."), fields={"weekdays": [_("Unknown weekday.")]})
    dates = sorted(set(fields.dates))
    start_date, end_date = fields.start_date, fields.end_date
    if fields.recurrence == Recurrence.WEEKDAYS and not weekdays:
        weekdays = list(MONDAY_TO_FRIDAY)
    if fields.recurrence == Recurrence.DATES:
        if not dates:
            raise ValidationError(_("List the dates the slot plays on."), fields={"dates": [_("At least one date.")]})
        if len(dates) > MAX_DATES:
            raise ValidationError(_("List at most 366 dates."), fields={"dates": [_("Too many dates.")]})
    else:
        dates = []
    if fields.recurrence == Recurrence.RANGE:
        if start_date is None or end_date is None:
            raise ValidationError(
                _("A date range needs a first and a last day."),
                fields={"start_date" if start_date is None else "end_date": [_("This field is required.")]},
            )
        if end_date < start_date:
            raise ValidationError(
                _("The range ends before it starts."), fields={"end_date": [_("Not before the first day.")]}
            )
    else:
        start_date = end_date = None
    if fields.recurrence in (Recurrence.DAILY, Recurrence.DATES):
        weekdays = []
    item, playlist = fields.item, fields.playlist
    if (item is None) == (playlist is None):
        message = _("Choose an item or a playlist, not both.") if item else _("Choose an item or a playlist.")
        raise ValidationError(message, fields={"item": [message], "playlist": [message]})
    if item is not None and not _usable_by(actor=actor, owner=schedule.owner_region, region=item.owner_region):
        raise ValidationError(
            _("Choose an item of this schedule's library (its own region, a region above or below it)."),
            fields={"item": [_("Not available to this schedule.")]},
        )
    if playlist is not None:
        if not _usable_by(actor=actor, owner=schedule.owner_region, region=playlist.owner_region):
            raise ValidationError(
                _("Choose a playlist of this schedule's region, a region above or below it."),
                fields={"playlist": [_("Not available to this schedule.")]},
            )
        if not playlist.entries.exists():
            raise ValidationError(
                _("The playlist “%(name)s” is empty: add items to it first.") % {"name": playlist.name},
                fields={"playlist": [_("Empty playlist.")]},
            )
    return SlotFields(
        start_time=fields.start_time.replace(microsecond=0),
        item=item,
        playlist=playlist,
        recurrence=fields.recurrence,
        weekdays=weekdays,
        dates=dates,
        start_date=start_date,
        end_date=end_date,
    )


def _slot_state(slot: ScheduleSlot) -> dict[str, Any]:
    return {
        "schedule": slot.schedule_id,
        "start_time": slot.start_time.isoformat(),
        "item": slot.item_id,
        "playlist": slot.playlist_id,
        "recurrence": slot.recurrence,
        "weekdays": slot.weekdays,
        "dates": slot.dates,
        "start_date": slot.start_date.isoformat() if slot.start_date else None,
        "end_date": slot.end_date.isoformat() if slot.end_date else None,
    }


def _slot_apply(slot: ScheduleSlot, fields: SlotFields) -> None:
    slot.start_time, slot.item, slot.playlist = fields.start_time, fields.item, fields.playlist
    slot.recurrence = fields.recurrence
    slot.weekdays, slot.dates = fields.weekdays, [day.isoformat() for day in fields.dates]
    slot.start_date, slot.end_date = fields.start_date, fields.end_date


def slot_create(*, actor: User, schedule: Schedule, fields: SlotFields) -> ScheduleSlot:
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)
    fields = slot_fields_validate(actor=actor, schedule=schedule, fields=fields)
    slot = ScheduleSlot(schedule=schedule)
    _slot_apply(slot, fields)

    with transaction.atomic():
        _publish_change(schedule=schedule, verb="slot.create", areas=[schedule.target_region], mutate=slot.save)
        audit_record(
            actor=actor, verb="schedule.slot.create", obj=slot, region_code=schedule.owner_region_id,
            after=_slot_state(slot),
        )  # fmt: skip
    return slot


def slot_update(*, actor: User, slot: ScheduleSlot, fields: SlotFields) -> ScheduleSlot:
    schedule = slot.schedule
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)
    fields = slot_fields_validate(actor=actor, schedule=schedule, fields=fields)
    before = _slot_state(slot)

    def write() -> None:
        _slot_apply(slot, fields)
        slot.save()

    with transaction.atomic():
        _publish_change(schedule=schedule, verb="slot.update", areas=[schedule.target_region], mutate=write)
        audit_record(
            actor=actor, verb="schedule.slot.update", obj=slot, region_code=schedule.owner_region_id,
            before=before, after=_slot_state(slot),
        )  # fmt: skip
    return slot


def slot_delete(*, actor: User, slot: ScheduleSlot) -> None:
    schedule = slot.schedule
    access_require(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)
    before, pk, label = _slot_state(slot), slot.pk, str(slot)
    with transaction.atomic():
        _publish_change(schedule=schedule, verb="slot.delete", areas=[schedule.target_region], mutate=slot.delete)
        audit_record(
            actor=actor, verb="schedule.slot.delete", object_type="broadcasting.scheduleslot", object_id=str(pk),
            object_label=label, region_code=schedule.owner_region_id, before=before,
        )  # fmt: skip


def require_schedule_manage(*, actor: User, schedule: Schedule) -> None:
    """For pages that offer editing: PermissionDenied unless the actor manages this schedule."""
    if not access_check(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region):
        raise PermissionDenied(
            _("You may not change the schedules of %(region)s.") % {"region": schedule.owner_region.name}
        )


REFRESH_VERB = "schedule.refresh"


def schedules_refresh() -> ScheduleChange | None:
    """Send every village with terminals under an active schedule its document again (once a day, after midnight).

    Documents cover the next `DEFAULT_DAYS` days from the day they were built, so without a change
    a terminal's horizon would run out; this moves it on. Idempotent per local day: a second call on
    the same day queues nothing and returns None (as does a day with no scheduled terminal).
    """
    today = local_today()
    with transaction.atomic():
        for change in ScheduleChange.objects.filter(verb=REFRESH_VERB).order_by("-id")[:1]:
            if change.created_at.astimezone(local_zone()).date() == today:
                return None
        targets = {
            schedule.target_region_id: schedule.target_region
            for schedule in Schedule.objects.filter(active=True, slots__isnull=False).select_related("target_region")
        }
        if not targets:
            return None
        codes = scheduled_villages(areas=list(targets.values()))
        if not codes:
            return None
        change = ScheduleChange.objects.create(schedule=None, verb=REFRESH_VERB, villages=codes)

        outbox_enqueue(kind=OUTBOX_PUBLISH, key=str(change.pk))
        audit_record(actor=None, verb=REFRESH_VERB, obj=change, after={"villages": len(codes)})
    return change
