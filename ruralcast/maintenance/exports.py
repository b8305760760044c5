"""The work-order list as a spreadsheet: one row per order, the columns a county office counts.

Written through `core.exports` (a fault detail or a resolution is text people and devices wrote:
a cell beginning like a formula is neutralised). Times are local, as on the page; codes sit next
to names so the file can be sorted and joined to the terminal registry export.
"""

from collections.abc import Iterator
from typing import Any

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.core.templatetags.people import person
from ruralcast.maintenance.models import WorkOrder


def export_header() -> list[str]:
    return [
        _("Number"),
        _("Fault"),
        _("Detail"),
        _("Resource code"),
        _("Terminal"),
        _("Village code"),
        _("Village"),
        _("Assigned to"),
        _("Opened"),
        _("Due by"),
        _("State"),
        _("Resolved at"),
        _("Resolution"),
    ]


def _local(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def export_rows(orders: QuerySet[WorkOrder]) -> Iterator[list[Any]]:
    for o in orders.iterator(chunk_size=2000):
        yield [
            o.pk,
            o.get_fault_display(),
            o.detail,
            o.terminal.code,
            o.terminal.name,
            o.village_code,
            o.terminal.village.name,
            person(o.assignee),
            _local(o.opened_at),
            _local(o.due_at),
            o.get_state_display(),
            _local(o.resolved_at),
            o.resolution_label,
        ]
