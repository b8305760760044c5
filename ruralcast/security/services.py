"""Recording security events: the one writer of `SecurityEvent`, `SecurityCount` and `SecurityAlarm`.

`security_events_record(events=[…])` is a deliberate bulk writer (CONTRIBUTING.md): what devices,
the broker and anonymous login attempts report, with no person acting, in batches from the ingest
worker, the broker-log watch and the login path. Each event is counted per (region, hour, kind)
and kept up to `EVENTS_KEPT_PER_HOUR` per count; then each county touched whose total of the day reached
`RURALCAST_SECURITY["THRESHOLD"]` gets one `SecurityAlarm` and its duty roster is paged
(`notifications.paging.duty_page`, audited there). The alarm row is unique per (county, day), so a
window pages once however many events follow.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy

from ruralcast.audit.services import audit_record
from ruralcast.notifications.kinds import NotificationKind, kind_register
from ruralcast.notifications.paging import duty_page
from ruralcast.regions.codes import PREFIX_LENGTH, Level, is_valid_code, level_of_code, pad, subtree_q
from ruralcast.regions.models import Region
from ruralcast.security.models import SecurityAlarm, SecurityCount, SecurityEvent, SecurityKind

DEFAULT_THRESHOLD = 20
# Events kept per (region, hour, kind); beyond it they are counted only (a flood must not fill the disk).
EVENTS_KEPT_PER_HOUR = 200
SURGE_SUBJECT = "security.surge"

SURGE = kind_register(
    NotificationKind(
        "security.surge",
        gettext_lazy("Possible attack on %(region)s: %(total)s security events today"),
        gettext_lazy(
            "%(region)s has had %(total)s security events on %(day)s (the alarm threshold is %(threshold)s): "
            "refused publishes, rejected signatures or keys, receipts for unknown messages or refused logins. "
            "Open the security panel and find the terminals or accounts involved."
        ),
    )
)


@dataclass(frozen=True)
class SecurityEventIn:
    kind: str
    region_code: str = ""
    terminal_code: str = ""
    username: str = ""
    detail: str = ""
    at: datetime | None = None


def security_threshold() -> int:
    """Events per county and day that page its duty roster (RURALCAST_SECURITY["THRESHOLD"])."""
    return int(getattr(settings, "RURALCAST_SECURITY", {}).get("THRESHOLD", DEFAULT_THRESHOLD))


def terminal_region_code(terminal_code: str) -> str:
    """The region a resource code names (digits 2–13 of the EBRID, docs/protocols.md §1), or ""."""
    code = terminal_code[1:13]
    return code if len(terminal_code) == 23 and terminal_code.isdigit() and is_valid_code(code) else ""


def county_of(region_code: str) -> str:
    """The county whose duty roster answers for `region_code` (itself when it is higher)."""
    if not is_valid_code(region_code) or level_of_code(region_code) <= Level.COUNTY:
        return region_code if is_valid_code(region_code) else ""
    return pad(region_code[: PREFIX_LENGTH[Level.COUNTY]])


def day_bounds(day: date) -> tuple[datetime, datetime]:
    start = timezone.make_aware(datetime.combine(day, time.min))
    return start, start + timedelta(days=1)


def security_events_record(*, events: Sequence[SecurityEventIn]) -> int:
    """Keep and count `events`, then page the counties that crossed the threshold; see the module."""
    if not events:
        return 0
    now = timezone.now()
    kinds = set(SecurityKind.values)
    rows = [
        SecurityEvent(
            at=event.at or now,
            kind=event.kind,
            region_code=event.region_code[:12] if is_valid_code(event.region_code[:12]) else "",
            terminal_code=event.terminal_code[:23],
            username=event.username[:150],
            detail=event.detail[:200],
        )
        for event in events
        if event.kind in kinds
    ]
    if not rows:
        return 0
    groups: dict[tuple[str, datetime, str], list[SecurityEvent]] = {}
    for row in rows:
        groups.setdefault((row.region_code, hour_of(row.at), row.kind), []).append(row)
    with transaction.atomic():
        hours = {hour for _code, hour, _kind in groups}
        before = {
            (code, hour, kind): count
            for code, hour, kind, count in SecurityCount.objects.filter(
                hour__in=hours, region_code__in={code for code, _hour, _kind in groups}
            ).values_list("region_code", "hour", "kind", "count")
        }
        kept: list[SecurityEvent] = []
        for key, members in groups.items():
            kept.extend(members[: max(0, EVENTS_KEPT_PER_HOUR - before.get(key, 0))])
        SecurityEvent.objects.bulk_create(kept)
        for (region_code, hour, kind), members in sorted(groups.items()):
            _count_add(region_code=region_code, hour=hour, kind=kind, count=len(members))
        for county, day in sorted({(county_of(code), timezone.localdate(hour)) for code, hour, _kind in groups}):
            if county:
                _alarm_if_crossed(county=county, day=day, now=now)
    return len(rows)


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def _count_add(*, region_code: str, hour: datetime, kind: str, count: int) -> None:
    counted = SecurityCount.objects.filter(region_code=region_code, hour=hour, kind=kind)
    if counted.update(count=F("count") + count):
        return
    try:
        with transaction.atomic():
            SecurityCount.objects.create(region_code=region_code, hour=hour, kind=kind, count=count)
    except IntegrityError:  # a concurrent writer created the row first: add to it
        counted.update(count=F("count") + count)


def _alarm_if_crossed(*, county: str, day: date, now: datetime) -> None:
    if SecurityAlarm.objects.filter(region_code=county, day=day).exists():
        return
    threshold = security_threshold()
    counted = SecurityCount.objects.filter(subtree_q(county[: PREFIX_LENGTH[level_of_code(county)]], "region_code"))
    start, end = day_bounds(day)
    total = counted.filter(hour__gte=start, hour__lt=end).aggregate(total=Sum("count"))["total"] or 0
    if total < threshold:
        return
    try:
        with transaction.atomic():
            alarm = SecurityAlarm.objects.create(region_code=county, day=day, total=total, raised_at=now)
    except IntegrityError:
        return  # another batch raised this window's alarm
    region = Region.objects.filter(code=county).first()
    audit_record(
        actor=None,
        verb="security.alarm",
        obj=alarm,
        region_code=county,
        after={"day": day.isoformat(), "total": total, "threshold": threshold},
    )
    if region is None:
        return  # a code outside the imported tree (a forged resource code): counted, nobody to page
    duty_page(
        subject_type=SURGE_SUBJECT,
        subject_id=f"{county}:{day.isoformat()}",
        region=region,
        kind=SURGE.code,
        params={"region": region.name, "total": total, "day": day.isoformat(), "threshold": threshold},
        url="/security/",
        expires_at=day_bounds(day)[1],
    )
