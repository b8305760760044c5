"""Reads of notifications, deliveries, escalations and the duty roster, scoped by the reader.

- A person reads their own notifications (the inbox) and their own deliveries.
- The delivery log and the escalations of a region are read by those who manage its duty roster
  (`duty.manage`), within their grants.
- A region's roster is read by anyone who may see its alerts (`alert.view`): the station operator
  needs to know whom to ring.
"""

from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, action_scope_q
from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import ROLE_ACTIONS, Action
from ruralcast.core.errors import NotFound, PermissionDenied
from ruralcast.notifications.models import (
    ACTIVE_ESCALATION_STATES,
    Delivery,
    DutyOverride,
    DutySlot,
    Escalation,
    Notification,
    NotificationContact,
)
from ruralcast.regions.models import Region


def notification_list(*, user: User, unread_only: bool = False) -> QuerySet[Notification]:
    notifications = Notification.objects.filter(recipient=user).select_related(
        "escalation", "escalation__claimed_by", "escalation__closed_by"
    )
    if unread_only:
        notifications = notifications.filter(read_at__isnull=True)
    return notifications.order_by("-created_at", "-id")


def notification_unread_count(*, user: User) -> int:
    """The number in the navigation's inbox entry (one indexed COUNT)."""
    if not user.is_authenticated:
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def access_notification(*, user: User, pk: int) -> Notification:
    notification = Notification.objects.filter(pk=pk, recipient=user).select_related("escalation").first()
    if notification is None:
        raise NotFound(_("No such notification."))
    return notification


def access_escalation(*, user: User, pk: int) -> Escalation:
    """An escalation the user was paged about, or may act on by their grants."""
    escalation = Escalation.objects.select_related("region").filter(pk=pk).first()
    if escalation is None or not (
        user.pk in escalation.paged or access_check(user=user, action=escalation.action, region=escalation.region)
    ):
        raise NotFound(_("No such page."))
    return escalation


def delivery_list(*, viewer: User, channel: str = "", state: str = "") -> QuerySet[Delivery]:
    """Deliveries in the regions whose duty the viewer manages, and the viewer's own."""
    scope = action_scope_q(user=viewer, action=Action.DUTY_MANAGE, field="notification__region_code")
    visible = Q(notification__recipient=viewer)
    if scope is not None:
        visible |= scope
    deliveries = Delivery.objects.filter(visible).select_related("notification", "notification__recipient")
    if channel:
        deliveries = deliveries.filter(channel=channel)
    if state:
        deliveries = deliveries.filter(state=state)
    return deliveries.order_by("-created_at", "-id")


def escalation_list(*, viewer: User, active_only: bool = True) -> QuerySet[Escalation]:
    """Escalations in the regions whose duty the viewer manages."""
    scope = action_scope_q(user=viewer, action=Action.DUTY_MANAGE, field="region_id")
    if scope is None:
        return Escalation.objects.none()
    escalations = Escalation.objects.filter(scope).select_related("region", "claimed_by", "closed_by")
    if active_only:
        escalations = escalations.filter(state__in=ACTIVE_ESCALATION_STATES)
    return escalations.order_by("-opened_at")


def roster_require_view(*, user: User, region: Region) -> None:
    if not (
        access_check(user=user, action=Action.ALERT_VIEW, region=region)
        or access_check(user=user, action=Action.DUTY_MANAGE, region=region)
    ):
        raise PermissionDenied(_("You may not see the duty roster of %(region)s.") % {"region": region.name})


def duty_slot_list(*, region: Region) -> QuerySet[DutySlot]:
    return DutySlot.objects.filter(region=region).select_related("user").order_by("tier", "weekday", "starts")


def duty_override_list(*, region: Region) -> QuerySet[DutyOverride]:
    """Overrides of `region` that have not ended yet, soonest first."""
    return (
        DutyOverride.objects.filter(region=region, ends_at__gt=timezone.now())
        .select_related("user")
        .order_by("starts_at")
    )


def access_duty_slot(*, region: Region, pk: int) -> DutySlot:
    slot = DutySlot.objects.filter(pk=pk, region=region).select_related("user", "region").first()
    if slot is None:
        raise NotFound(_("No such duty slot."))
    return slot


def access_duty_override(*, region: Region, pk: int) -> DutyOverride:
    override = DutyOverride.objects.filter(pk=pk, region=region).select_related("user", "region").first()
    if override is None:
        raise NotFound(_("No such override."))
    return override


def region_people(*, region: Region, action: str) -> list[User]:
    """Active people with a grant on `region` itself whose role allows `action` (a county's report
    enterers, a city's approvers): the people a message "to the county" goes to."""
    roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    ids = RoleGrant.objects.filter(region=region, role__in=roles).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("pk"))


def duty_candidates(*, region: Region, action: str) -> list[User]:
    """Active people whose own grants allow `action` over `region` (on it or above it): who may be
    put on its duty roster."""
    roles = [role for role, actions in ROLE_ACTIONS.items() if action in actions]
    codes = [*region.ancestor_codes, region.code]
    ids = RoleGrant.objects.filter(region_id__in=codes, role__in=roles).values_list("user_id", flat=True)
    return list(User.objects.filter(pk__in=ids, is_active=True).order_by("username"))


def contact_of(*, user: User) -> NotificationContact | None:
    """The person's own phone and e-mail for paging, if they have saved any."""
    return NotificationContact.objects.filter(user=user).first()
