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

from ruralcast.alerts.models import Alert, MsgType
from ruralcast.alerts.selectors import reach_counts
from ruralcast.core.registries.figures import FigureSource
from ruralcast.regions.codes import ancestor_codes, level_of_code, prefix_of, subtree_q


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


FIGURES = [
    FigureSource("alerts.issued", _("Emergency messages issued"), "number", "sum", alerts_issued),
    FigureSource("alerts.received", _("Emergency message receipts"), "number", "sum", alerts_received),
    FigureSource("alerts.coverage", _("Emergency message coverage"), "percent", "average", alerts_coverage),
]
