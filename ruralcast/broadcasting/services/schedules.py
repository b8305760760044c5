"""Schedules of counties, townships and villages (三级).

`schedule.manage` on the owner region creates and changes its schedules. The owner's level is the
schedule's tier: a township operator cannot touch the county's schedule (the county is outside the
township's subtree) and a village broadcaster schedules only for their own village. The target
must lie inside the owner's subtree.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.models import SCHEDULE_LEVELS, Schedule, ScheduleChange
from ruralcast.broadcasting.services.publishing import programme_change_publish
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.regions.models import Region


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
        programme_change_publish(schedule=schedule, verb="schedule.update", areas=areas, mutate=write)
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
        programme_change_publish(
            schedule=None, verb="schedule.delete", areas=[schedule.target_region], mutate=schedule.delete
        )
        audit_record(
            actor=actor, verb="schedule.delete", object_type="broadcasting.schedule", object_id=str(pk),
            object_label=label, region_code=region, before=before,
        )  # fmt: skip


def require_schedule_manage(*, actor: User, schedule: Schedule) -> None:
    """For pages that offer editing: PermissionDenied unless the actor manages this schedule."""
    if not access_check(user=actor, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region):
        raise PermissionDenied(
            _("You may not change the schedules of %(region)s.") % {"region": schedule.owner_region.name}
        )
