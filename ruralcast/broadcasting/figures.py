"""Daily broadcasting's figures for reporting, from the terminals' playback logs (播出记录).

Published through the figure registry (`core.registries.figures`) in `BroadcastingConfig.ready`,
over a region subtree and the dates [start, end) (local days):

- `broadcasting.coverage` (percent, average): over the scheduled entries of the subtree, the mean
  share of each village's active terminals that reported the entry `played`
  (`playlogs.entry_coverage`; an entry no terminal reported at all is not known from logs);
- `broadcasting.plays` (number, sum): entries played to the end by terminals of the subtree.
"""

import datetime

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.broadcasting.models import Outcome, PlaybackLog
from ruralcast.broadcasting.playlogs import entry_coverage
from ruralcast.core.registries.figures import FigureSource
from ruralcast.regions.codes import level_of_code, prefix_of, subtree_q


def _bounds(start: datetime.date, end: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    return (
        datetime.datetime.combine(start, datetime.time.min, tzinfo=zone),
        datetime.datetime.combine(end, datetime.time.min, tzinfo=zone),
    )


def _logs_in(region_code: str, start: datetime.date, end: datetime.date) -> QuerySet[PlaybackLog]:
    begin, until = _bounds(start, end)
    prefix = prefix_of(region_code, level_of_code(region_code))
    return PlaybackLog.objects.filter(
        subtree_q(prefix, "village_id"), scheduled_start__gte=begin, scheduled_start__lt=until
    )


def broadcast_coverage(*, region_code: str, start: datetime.date, end: datetime.date) -> float | None:
    """Average, over the scheduled entries of the subtree in [start, end), of the share of the
    village's terminals that played them (percent, one decimal; None without any entry)."""
    entries = entry_coverage(logs=_logs_in(region_code, start, end))
    if not entries:
        return None
    return round(sum(entry.percent for entry in entries) / len(entries), 1)


def programme_plays(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Scheduled entries played to the end (or resumed to the end) by terminals of the subtree."""
    return _logs_in(region_code, start, end).filter(outcome=Outcome.PLAYED).count()


FIGURES = [
    FigureSource("broadcasting.coverage", _("Scheduled programme coverage"), "percent", "average", broadcast_coverage),
    FigureSource("broadcasting.plays", _("Scheduled programme plays"), "number", "sum", programme_plays),
]
