"""Emergency broadcasting's figures for reporting: messages issued, receipts and coverage.

Published through the figure registry (`core.registries.figures`) in `AlertsConfig.ready`. Each
function answers for the subtree of `region_code` over the dates [start, end) (local days); the
messages counted are original alerts (not updates or cancels) sent in the range whose targets lie
in the subtree or above it.
"""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.models import Alert, MsgType, Receipt, ReceiptEvent
from ruralcast.core.registries.figures import FigureSource
from ruralcast.regions.codes import ancestor_codes, level_of_code, prefix_of, subtree_q
from ruralcast.terminals.models import Terminal


def _moment(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _prefix(region_code: str) -> str:
    return prefix_of(region_code, level_of_code(region_code))


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


def _received_count(alerts: list[Alert], prefix: str) -> int:
    terminal_codes = Terminal.objects.filter(subtree_q(prefix, "village_id")).values("code")
    return (
        Receipt.objects.filter(alert__in=alerts, event=ReceiptEvent.RECEIVED, terminal_code__in=terminal_codes)
        .values("alert_id", "terminal_code")
        .distinct()
        .count()
    )


def alerts_received(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Receipts: (message, terminal) pairs where a terminal of the subtree confirmed reception."""
    return _received_count(_alerts_reaching(region_code, start, end), _prefix(region_code))


def alerts_coverage(*, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """Percent of targeted terminals of the subtree that confirmed reception (None: nothing sent)."""
    prefix = _prefix(region_code)
    alerts = _alerts_reaching(region_code, start, end)
    targeted = 0
    for alert in alerts:
        for target in alert.targets.all():
            inner = prefix if prefix.startswith(target.prefix) else target.prefix
            if inner.startswith(prefix):
                sent = alert.sent_at or _moment(end)
                targeted += Terminal.objects.filter(
                    subtree_q(inner, "village_id"),
                    Q(created_at__lte=sent),
                    Q(revoked_at__isnull=True) | Q(revoked_at__gt=sent),
                ).count()
    if not targeted:
        return None
    return round(100.0 * _received_count(alerts, prefix) / targeted, 2)


FIGURES = [
    FigureSource("alerts.issued", _("Emergency messages issued"), "number", "sum", alerts_issued),
    FigureSource("alerts.received", _("Emergency message receipts"), "number", "sum", alerts_received),
    FigureSource("alerts.coverage", _("Emergency message coverage"), "percent", "average", alerts_coverage),
]
