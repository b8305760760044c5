"""The slots of a schedule: when an item or a playlist plays, and how it recurs.

A slot plays exactly one library item or one playlist of the schedule's library; every change
re-sends the documents of the villages whose programme it changes.
"""

from dataclasses import dataclass, field
from datetime import date, time
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.models import MONDAY_TO_FRIDAY, Playlist, ProgrammeItem, Recurrence, Schedule, ScheduleSlot
from ruralcast.broadcasting.services.library import content_usable_by
from ruralcast.broadcasting.services.publishing import programme_change_publish
from ruralcast.core.errors import ValidationError

MAX_DATES = 366


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
    if item is not None and not content_usable_by(actor=actor, owner=schedule.owner_region, region=item.owner_region):
        raise ValidationError(
            _("Choose an item of this schedule's library (its own region, a region above or below it)."),
            fields={"item": [_("Not available to this schedule.")]},
        )
    if playlist is not None:
        if not content_usable_by(actor=actor, owner=schedule.owner_region, region=playlist.owner_region):
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
        programme_change_publish(
            schedule=schedule, verb="slot.create", areas=[schedule.target_region], mutate=slot.save
        )
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
        programme_change_publish(schedule=schedule, verb="slot.update", areas=[schedule.target_region], mutate=write)
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
        programme_change_publish(
            schedule=schedule, verb="slot.delete", areas=[schedule.target_region], mutate=slot.delete
        )
        audit_record(
            actor=actor, verb="schedule.slot.delete", object_type="broadcasting.scheduleslot", object_id=str(pk),
            object_label=label, region_code=schedule.owner_region_id, before=before,
        )  # fmt: skip
