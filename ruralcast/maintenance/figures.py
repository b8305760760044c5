"""Fleet and maintenance figures for the reporting module, one plain function each.

Every function is `fn(*, region_code, start, end) -> int | float | None`: the value for the subtree of
`region_code` over the days [start, end) (dates in the platform's time zone). `FIGURES` lists them as
figure sources (code, label, value_type "number" | "percent", aggregation "sum" | "average" |
"last", fn): `MaintenanceConfig.ready` publishes them to reporting through the figure registry
(`core.registries.figures`), and the maintenance statistics page and API read the same list.

- `terminals`: active terminals registered before `end` (last);
- `availability`: share of terminal-time online over the period, in percent, from the status
  history (a terminal counts from its first time online, when it was commissioned: one imported that
  never connected is not commissioned and left out; average);
- `orders_opened`: work orders opened in the period (sum);
- `orders_open`: work orders open at the end of the period (last);
- `mttr_hours`: mean time to repair, hours from opening to resolution of the orders resolved in the
  period (None without any; average);
- `orders_overdue`: orders open at the end of the period past their SLA deadline (last).
"""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import FigureSource
from ruralcast.maintenance.models import WorkOrder
from ruralcast.regions.codes import level_of_code, prefix_of, subtree_q
from ruralcast.terminals.models import EventKind, Terminal, TerminalEvent


def _bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end, datetime.time.min, tzinfo=zone),
    )


def _prefix(region_code: str) -> str:
    return prefix_of(region_code, level_of_code(region_code))


def _terminals(region_code: str, until: datetime.datetime) -> Q:
    return (
        subtree_q(_prefix(region_code), "village_id")
        & Q(created_at__lt=until)
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gte=until))
    )


def terminals(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    _begin, until = _bounds(start, end)
    return Terminal.objects.filter(_terminals(region_code, until)).count()


def availability(*, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """Online terminal-seconds ÷ terminal-seconds in the period (percent, one decimal)."""
    begin, until = _bounds(start, end)
    until = min(until, timezone.now())
    if until <= begin:
        return None
    fleet = list(Terminal.objects.filter(_terminals(region_code, until)).values_list("code", flat=True))
    if not fleet:
        return None
    events = (
        TerminalEvent.objects.filter(
            terminal_code__in=list(fleet), kind__in=[EventKind.ONLINE, EventKind.OFFLINE], at__lt=until
        )
        .order_by("terminal_code", "at", "id")
        .values_list("terminal_code", "at", "kind")
    )
    online_at: dict[str, datetime.datetime | None] = {}
    commissioned: dict[str, datetime.datetime] = {}  # its first time online (ordered by time)
    online_seconds = 0.0
    for code, at, kind in events.iterator(chunk_size=5000):
        since = online_at.get(code)
        if kind == EventKind.ONLINE:
            commissioned.setdefault(code, at)
            if since is None:
                online_at[code] = max(at, begin)
        elif since is not None:
            online_seconds += max(0.0, (at - since).total_seconds()) if at > begin else 0.0
            online_at[code] = None
    for since in online_at.values():
        if since is not None:
            online_seconds += (until - since).total_seconds()
    total = sum((until - max(begin, first)).total_seconds() for first in commissioned.values())
    return round(100 * online_seconds / total, 1) if total > 0 else None


def _orders(region_code: str) -> Q:
    return subtree_q(_prefix(region_code), "village_code")


def orders_opened(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    begin, until = _bounds(start, end)
    return WorkOrder.objects.filter(_orders(region_code), opened_at__gte=begin, opened_at__lt=until).count()


def orders_open(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    _begin, until = _bounds(start, end)
    return (
        WorkOrder.objects.filter(_orders(region_code), opened_at__lt=until)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=until))
        .count()
    )


def orders_overdue(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    _begin, until = _bounds(start, end)
    return (
        WorkOrder.objects.filter(_orders(region_code), opened_at__lt=until, due_at__lt=until)
        .filter(Q(resolved_at__isnull=True) | Q(resolved_at__gte=until))
        .count()
    )


def mttr_hours(*, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    begin, until = _bounds(start, end)
    spans = [
        (resolved - opened).total_seconds()
        for opened, resolved in WorkOrder.objects.filter(
            _orders(region_code), resolved_at__gte=begin, resolved_at__lt=until
        ).values_list("opened_at", "resolved_at")
        if resolved is not None
    ]
    return round(sum(spans) / len(spans) / 3600, 2) if spans else None


FIGURES = [
    FigureSource("fleet.terminals", _("Terminals"), "number", "last", terminals),
    FigureSource("fleet.availability", _("Terminal availability"), "percent", "average", availability),
    FigureSource("fleet.orders_opened", _("Work orders opened"), "number", "sum", orders_opened),
    FigureSource("fleet.orders_open", _("Work orders open"), "number", "last", orders_open),
    FigureSource("fleet.orders_overdue", _("Work orders overdue"), "number", "last", orders_overdue),
    FigureSource("fleet.mttr_hours", _("Mean time to repair (hours)"), "number", "average", mttr_hours),
]

__all__ = ["FIGURES", "availability", "mttr_hours", "orders_open", "orders_opened", "orders_overdue", "terminals"]
