"""Reads of the security panel, scoped by the reader: who may read the audit trail of a region reads
its security events (an event without a region, a login by an unknown name, only from the top)."""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.security.models import SecurityCount, SecurityEvent, SecurityKind
from ruralcast.security.services import hour_of

SCOPE_ACTION = Action.AUDIT_VIEW


@dataclass(frozen=True)
class KindTotals:
    kind: str
    label: str
    last_day: int  # the last 24 hours (the hour under way and the 23 before it)
    last_week: int  # the last 7 days, in hours likewise


def security_event_list(*, user: User, days: int = 7) -> QuerySet[SecurityEvent]:
    """The events of the last `days` days in the reader's scope, newest first."""
    scope = action_scope_q(user=user, action=SCOPE_ACTION, field="region_code")
    if scope is None:
        return SecurityEvent.objects.none()
    return SecurityEvent.objects.filter(scope, at__gte=timezone.now() - timedelta(days=days)).order_by("-at", "-id")


def security_totals(*, user: User) -> list[KindTotals]:
    """Per kind: events in the reader's scope over the last 24 hours and the last 7 days."""
    scope = action_scope_q(user=user, action=SCOPE_ACTION, field="region_code")
    day: dict[str, int] = {}
    week: dict[str, int] = {}
    if scope is not None:
        this_hour = hour_of(timezone.now())
        counted = SecurityCount.objects.filter(scope)

        def since(hours: int) -> dict[str, int]:
            rows = counted.filter(hour__gt=this_hour - timedelta(hours=hours)).values_list("kind")
            return dict(rows.annotate(n=Sum("count")).values_list("kind", "n"))

        day, week = since(24), since(24 * 7)
    return [
        KindTotals(kind=kind, label=str(label), last_day=day.get(kind, 0), last_week=week.get(kind, 0))
        for kind, label in SecurityKind.choices
    ]


def security_totals_by_kind_and_county() -> dict[tuple[str, str], int]:
    """Every count ever, per (kind, county prefix): what the Prometheus counter shows (unscoped:
    /metrics is for the monitoring server only)."""
    totals: dict[tuple[str, str], int] = {}
    for region_code, kind, count in (
        SecurityCount.objects.values_list("region_code", "kind")
        .annotate(n=Sum("count"))
        .values_list("region_code", "kind", "n")
    ):
        county = region_code[:6].ljust(12, "0") if region_code else ""
        totals[(kind, county)] = totals.get((kind, county), 0) + int(count or 0)
    return totals
