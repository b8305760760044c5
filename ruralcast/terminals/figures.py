"""The terminal registry's figures for reporting: terminals installed, and those not commissioned.

A terminal counts as installed once it has connected (come online) at least once; one registered
(imported) that never connected is *not commissioned* and counted apart (`terminals.selectors.
commissioned_by`), so a county's online rate is not dragged down by devices not yet put up.

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
from ruralcast.terminals.selectors import commissioned_by


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
    """Terminals registered, commissioned and not revoked at the end of the range."""
    prefix, moment = prefix_of(region_code, level_of_code(region_code)), _moment(end)
    return Terminal.objects.filter(_terminals_at(prefix, moment), commissioned_by(moment)).count()


def terminals_not_commissioned(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    """Terminals registered and not revoked at the end of the range that had never connected by then."""
    prefix, moment = prefix_of(region_code, level_of_code(region_code)), _moment(end)
    return Terminal.objects.filter(_terminals_at(prefix, moment), ~commissioned_by(moment)).count()


FIGURES = [
    FigureSource("terminals.installed", _("Terminals installed"), "number", "last", terminals_installed),
    FigureSource(
        "terminals.not_commissioned", _("Terminals not commissioned"), "number", "last", terminals_not_commissioned
    ),
]
