"""Reads of the terminal registry, scoped by the reader's `terminal.view` grants."""

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.regions.codes import subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal


def terminals_active() -> QuerySet[Terminal]:
    return Terminal.objects.filter(revoked_at__isnull=True)


def terminals_in_regions(*, regions: list[Region]) -> QuerySet[Terminal]:
    """Active terminals whose village lies in the subtree of any of `regions`."""
    if not regions:
        return Terminal.objects.none()
    query = subtree_q(regions[0].prefix, "village_id")
    for region in regions[1:]:
        query |= subtree_q(region.prefix, "village_id")
    return terminals_active().filter(query)


# Filters of the console list and the API ("status").
STATUS_FILTERS = ("online", "offline", "fault", "unprovisioned", "revoked")


def terminal_list(
    *,
    user: User,
    action: str = Action.TERMINAL_VIEW,
    query: str = "",
    region: Region | None = None,
    kind: str = "",
    transport: str = "",
    status: str = "",
) -> QuerySet[Terminal]:
    """Terminals in the regions where the user may do `action`, filtered; revoked ones only on request.

    `query`: a code prefix (digits), or part of the name, model or owner station.
    """
    scope = action_scope_q(user=user, action=action, field="village_id")
    if scope is None:
        return Terminal.objects.none()
    terminals = Terminal.objects.filter(scope).select_related("village", "maintainer", "state")
    if region is not None:
        terminals = terminals.filter(subtree_q(region.prefix, "village_id"))
    query = (query or "").strip()
    if query:
        if query.isascii() and query.isdigit():
            terminals = terminals.filter(code__startswith=query)
        else:
            terminals = terminals.filter(
                Q(name__icontains=query) | Q(model__icontains=query) | Q(owner_station__icontains=query)
            )
    if kind:
        terminals = terminals.filter(kind=kind)
    if transport:
        terminals = terminals.filter(transport=transport)
    if status == "revoked":
        return terminals.filter(revoked_at__isnull=False)
    terminals = terminals.filter(revoked_at__isnull=True)
    if status == "online":
        terminals = terminals.filter(state__online=True)
    elif status == "offline":
        terminals = terminals.filter(state__online=False)
    elif status == "fault":
        terminals = terminals.exclude(state__faults="")
    elif status == "unprovisioned":
        terminals = terminals.filter(broker_password_hash="")
    return terminals.order_by("code")


def terminal_get(*, user: User, code: str, action: str = Action.TERMINAL_VIEW) -> Terminal:
    """A terminal (revoked ones included) in the user's scope for `action`, or NotFound."""
    scope = action_scope_q(user=user, action=action, field="village_id")
    terminal = (
        None
        if scope is None
        else Terminal.objects.filter(scope, code=code).select_related("village", "maintainer", "state").first()
    )
    if terminal is None:
        raise NotFound(_("No terminal %(code)s in your regions.") % {"code": code})
    return terminal
