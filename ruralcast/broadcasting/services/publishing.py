"""Sending terminals what they will play: effective-schedule documents, after a change and daily.

Every write that can change what a village hears (a slot, a schedule, a playlist that slots play)
runs through `programme_change_publish` inside its transaction; it compares each affected
village's programme before and after and queues one outbox row (`schedule.publish`) for the
villages whose programme changed. `schedules_refresh` re-sends every scheduled village its
document once a day, so a terminal's horizon never runs out.
"""

from collections.abc import Callable
from typing import Any

from django.db import transaction

from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.documents import DEFAULT_DAYS, ProgrammeMemo
from ruralcast.broadcasting.models import Schedule, ScheduleChange
from ruralcast.broadcasting.programme import local_today, local_zone, slots_touching
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.regions.models import Region
from ruralcast.terminals.selectors import terminals_in_regions

OUTBOX_PUBLISH = "schedule.publish"


def scheduled_villages(*, areas: list[Region]) -> list[str]:
    """Codes of the villages with at least one active terminal under `areas` (one query, no terminal rows)."""
    return list(
        terminals_in_regions(regions=areas).order_by("village_id").values_list("village_id", flat=True).distinct()
    )


def programme_change_publish(
    *, schedule: Schedule | None, verb: str, areas: list[Region], mutate: Callable[[], Any]
) -> Any:
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
