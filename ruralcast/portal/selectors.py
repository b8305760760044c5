"""Reads of the portal: notices for a screen (its region and the regions above it) and for the console."""

from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.core.registries.portal import Screen
from ruralcast.portal.models import Notice
from ruralcast.villagers.selectors import screen_region_codes


def notices_for_screen(*, screen: Screen) -> QuerySet[Notice]:
    """Notices shown now on `screen`: of its own region and the regions above it, not expired."""
    return Notice.objects.filter(region_id__in=screen_region_codes(screen), expires_at__gt=timezone.now())


def access_notice_for_screen(*, screen: Screen, notice_id: int) -> Notice:
    notice = notices_for_screen(screen=screen).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(_("This notice is not shown here (it may have expired)."))
    return notice


def notice_list(*, user: User) -> QuerySet[Notice]:
    """Notices in the regions where `user` may edit content, newest first (the console's list)."""
    scope = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="region_id")
    if scope is None:
        return Notice.objects.none()
    return Notice.objects.filter(scope).select_related("region")


def access_notice(*, user: User, notice_id: int) -> Notice:
    notice = notice_list(user=user).filter(pk=notice_id).first()
    if notice is None:
        raise NotFound(_("No notice %(id)s in your regions.") % {"id": notice_id})
    return notice
