"""Operational figures of the modules that existed before reporting: terminals and alerts.

Each function answers for the subtree of `region_code` over the dates [start, end) (local days).
Other modules (fleet: online rate, work orders, availability) register their own the same way.
"""

import datetime
import importlib

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.models import Alert, MsgType
from ruralcast.alerts.selectors import reach_counts
from ruralcast.regions.codes import ancestor_codes, level_of_code, prefix_of, subtree_q
from ruralcast.reporting.sources import register_figure_source
from ruralcast.terminals.models import Terminal


def _moment(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _prefix(region_code: str) -> str:
    return prefix_of(region_code, level_of_code(region_code))


def _terminals_at(prefix: str, end: datetime.date) -> "Q":
    moment = _moment(end)
    return (
        subtree_q(prefix, "village_id")
        & Q(created_at__lt=moment)
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gte=moment))
    )


def terminals_installed(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Terminals registered and not revoked at the end of the range."""
    return Terminal.objects.filter(_terminals_at(_prefix(region_code), end)).count()


def _alerts_reaching(region_code: str, start: datetime.date, end: datetime.date) -> list[Alert]:
    """Original messages sent in the range whose targets lie in the subtree or above it."""
    prefix = _prefix(region_code)
    above = [*ancestor_codes(region_code, level_of_code(region_code)), region_code]
    reach = subtree_q(prefix, "target_rows__region_id") | Q(target_rows__region_id__in=above)
    return list(
        Alert.objects.filter(reach, msg_type=MsgType.ALERT, sent_at__gte=_moment(start), sent_at__lt=_moment(end))
        .distinct()
        .prefetch_related("targets")
    )


def alerts_issued(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    return len(_alerts_reaching(region_code, start, end))


def alerts_received(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Receipts: (message, terminal) pairs where a targeted terminal of the subtree confirmed reception."""
    return reach_counts(alerts=_alerts_reaching(region_code, start, end), prefix=_prefix(region_code))[1]


def alerts_coverage(*, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """Percent of targeted terminals of the subtree that confirmed reception (None: nothing sent).

    The terminals a message targeted are those recorded when it was dispatched (alerts'
    `TargetedTerminal`), so a terminal registered later never changes a past figure."""
    targeted, received = reach_counts(alerts=_alerts_reaching(region_code, start, end), prefix=_prefix(region_code))
    if not targeted:
        return None
    return round(100.0 * received / targeted, 2)


register_figure_source("terminals.installed", _("Terminals installed"), "number", "last", terminals_installed)
register_figure_source("alerts.issued", _("Emergency messages issued"), "number", "sum", alerts_issued)
register_figure_source("alerts.received", _("Emergency message receipts"), "number", "sum", alerts_received)
register_figure_source("alerts.coverage", _("Emergency message coverage"), "percent", "average", alerts_coverage)


def _register_module_figures(module_name: str) -> None:
    """Publish a module's `FIGURES` list [(code, label, value_type, aggregation, fn)] when that
    module is installed (the fleet's `ruralcast.maintenance.figures`; absent on older checkouts)."""
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        return
    for code, label, value_type, aggregation, fn in getattr(module, "FIGURES", []):
        register_figure_source(code, label, value_type, aggregation, fn)


_register_module_figures("ruralcast.maintenance.figures")
