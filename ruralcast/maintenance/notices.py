"""Work orders tell their assignee through ruralcast.notifications: a rule opened an order for them,
or an overdue order escalated to them."""

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.maintenance.models import FaultKind, WorkOrder
from ruralcast.notifications.kinds import WORK_ORDER_ASSIGNED
from ruralcast.notifications.services import notify


def work_order_assigned_notify(*, order: WorkOrder, escalated: bool = False) -> None:
    """Call inside the transaction that assigned the order (maintenance.rules)."""
    if order.assignee is None:
        return
    terminal = order.terminal
    notify(
        recipients=[order.assignee],
        kind=WORK_ORDER_ASSIGNED.code,
        params={
            "order": order.pk, "fault_code": order.fault, "fault": FaultKind(order.fault).label,
            "terminal": terminal.name or terminal.code, "village": terminal.village.name,
            "due": timezone.localtime(order.due_at).strftime("%Y-%m-%d %H:%M"),
            "escalated": _(" It was overdue and is escalated to you.") if escalated else "",
        },
        url=reverse("maintenance:detail", args=[order.pk]),
        region_code=order.village_code,
    )  # fmt: skip
