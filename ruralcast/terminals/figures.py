"""The terminal registry's figure for reporting: terminals installed.

Published through the figure registry (`core.registries.figures`) in `TerminalsConfig.ready`;
answers for the subtree of `region_code` over the dates [start, end) (local days).
"""

import datetime

from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.figures import FigureSource
from ruralcast.regions.codes import level_of_code, prefix_of, subtree_q
from ruralcast.terminals.models import Terminal


def _moment(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time()))


def _terminals_at(prefix: str, moment: datetime.datetime) -> Q:
    """Terminals of the subtree `prefix` registered before `moment` and not revoked by then."""
    return (
        subtree_q(prefix, "village_id")
        & Q(created_at__lt=moment)
        & (Q(revoked_at__isnull=True) | Q(revoked_at__gte=moment))
    )


def terminals_installed(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Terminals registered and not revoked at the end of the range."""
    prefix = prefix_of(region_code, level_of_code(region_code))
    return Terminal.objects.filter(_terminals_at(prefix, _moment(end))).count()


FIGURES = [
    FigureSource("terminals.installed", _("Terminals installed"), "number", "last", terminals_installed),
]
