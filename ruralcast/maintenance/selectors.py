"""Reads of work orders, scoped by the reader's `terminal.view` grants."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.maintenance.models import FaultKind, OrderState, WorkOrder
from ruralcast.regions.codes import subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal

STATE_FILTERS = ("open", "overdue", "resolved", "mine")


def work_order_list(
    *, user: User, region: Region | None = None, state: str = "open", fault: str = ""
) -> QuerySet[WorkOrder]:
    scope = action_scope_q(user=user, action=Action.TERMINAL_VIEW, field="village_code")
    if scope is None:
        return WorkOrder.objects.none()
    orders = WorkOrder.objects.filter(scope).select_related("terminal", "terminal__village", "assignee")
    if region is not None:
        orders = orders.filter(subtree_q(region.prefix, "village_code"))
    if state == "open":
        orders = orders.filter(resolved_at__isnull=True)
    elif state == "overdue":
        orders = orders.filter(resolved_at__isnull=True, due_at__lt=timezone.now())
    elif state == "resolved":
        orders = orders.filter(state=OrderState.RESOLVED)
    elif state == "mine":
        orders = orders.filter(resolved_at__isnull=True, assignee=user)
    if fault in FaultKind.values:
        orders = orders.filter(fault=fault)
    return orders.order_by("-opened_at", "-id")


def access_work_order(*, user: User, pk: int) -> WorkOrder:
    """A work order in the user's `terminal.view` scope, or NotFound."""
    order = work_order_list(user=user, state="").filter(pk=pk).first()
    if order is None:
        raise NotFound(_("No work order %(id)s in your regions.") % {"id": pk})
    return order


def terminal_work_orders(*, terminal: Terminal) -> QuerySet[WorkOrder]:
    """The work orders of one terminal (for its history), newest first; the caller has accessed it."""
    return WorkOrder.objects.filter(terminal=terminal).select_related("assignee").order_by("-opened_at", "-id")
