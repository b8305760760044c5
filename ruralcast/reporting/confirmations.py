"""What the approval page's buttons will do, said before they are pressed (core/confirmations.py).

A county's submission (上报) locks entry for the whole county and sends its figures up; a city's or
the province's approval (审核通过) takes the reports of every region directly below into its own
and locks them. The page says so, with how many regions and which, and disables the button, with
the reason, when the service would refuse it (a region below has not finished its step).
"""

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from ruralcast.core.confirmations import Confirmation, confirmation
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_children
from ruralcast.reporting.models import DataSet
from ruralcast.reporting.selectors import ChainRow


def advance_confirmation(*, data_set: DataSet, period: str, region: Region, rows: list[ChainRow]) -> Confirmation:
    """The county's submission or a higher level's approval of `data_set` for `period`."""
    facts = {"data_set": data_set.label, "period": period, "region": region.name}
    if region.level == Level.COUNTY:
        below = list(region_children(region=region).values_list("name", flat=True))
        what = ngettext(
            "%(region)s submits “%(data_set)s” %(period)s; entry is locked for the county and its %(n)d region below",
            "%(region)s submits “%(data_set)s” %(period)s; entry is locked for the county and its %(n)d regions below",
            len(below),
        ) % {**facts, "n": len(below)}
        return confirmation(what=what, names=below, total=len(below))
    what = ngettext(
        "%(region)s approves “%(data_set)s” %(period)s with the reports of %(n)d region below",
        "%(region)s approves “%(data_set)s” %(period)s with the reports of %(n)d regions below",
        len(rows),
    ) % {**facts, "n": len(rows)}
    missing = [row.region.name for row in rows if row.approval is None]
    blocked = ""
    if missing:
        blocked = _("Not every region below has finished its step: %(names)s.") % {
            "names": "、".join(missing[:10]) + ("…" if len(missing) > 10 else "")
        }
    return confirmation(what=what, names=[row.region.name for row in rows], total=len(rows), blocked=blocked)


def accept_confirmation(*, data_set: DataSet, period: str, province: Region) -> Confirmation:
    """The national level's acceptance of a province's approved report (the last step)."""
    return confirmation(
        what=_("The national level accepts “%(data_set)s” %(period)s of %(region)s: the report's last step")
        % {"data_set": data_set.label, "period": period, "region": province.name},
        names=[],
        total=0,
    )
