"""The console's navigation: only modules that exist, only entries the user may open.

Each domain app registers its entries in its AppConfig.ready() or here; an entry names the action
(from accounts.roles) that makes it visible, checked against the user's grants anywhere.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.urls import reverse
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.access import action_prefixes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.notifications.selectors import notification_unread_count


@dataclass(frozen=True)
class NavEntry:
    url_name: str
    label: str | Promise
    action: str | None = None  # None: every logged-in user
    badge: Callable[[User], int] | None = None  # a count shown beside the label (e.g. unread)


def _unread(user: User) -> int:
    return notification_unread_count(user=user)


NAV_ENTRIES: list[NavEntry] = [
    NavEntry("web:dashboard", _("Dashboard")),
    NavEntry("notifications:inbox", _("Notifications"), badge=_unread),
    NavEntry("alerts:list", _("Emergency broadcasting"), Action.ALERT_VIEW),
    NavEntry("reporting:index", _("Reporting"), Action.REPORT_VIEW),
    NavEntry("broadcasting:schedules", _("Daily broadcasting"), Action.PROGRAMME_VIEW),
    NavEntry("live:index", _("Live voice"), Action.BROADCAST_LIVE),
    NavEntry("media:catalogue", _("Media")),
    NavEntry("media:live_list", _("Live")),
    NavEntry("terminals:fleet", _("Terminal fleet"), Action.TERMINAL_VIEW),
    NavEntry("terminals:firmware_releases", _("Firmware"), Action.FIRMWARE_MANAGE),
    NavEntry("maintenance:list", _("Work orders"), Action.TERMINAL_VIEW),
    NavEntry("villagers:screens", _("Household screens"), Action.SCREEN_MANAGE),
    NavEntry("regions:browse", _("Regions"), Action.REGION_VIEW),
    NavEntry("regions:designations", _("Designations"), Action.REGION_VIEW),
    NavEntry("accounts:users", _("Users & roles"), Action.USER_VIEW),
    NavEntry("audit:events", _("Audit trail"), Action.AUDIT_VIEW),
    NavEntry("security:panel", _("Security"), Action.AUDIT_VIEW),
    NavEntry("accounts:tokens", _("API tokens")),
]


def nav_for(user: User, current_path: str) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    for entry in NAV_ENTRIES:
        if entry.action and not action_prefixes(user=user, action=entry.action):
            continue
        url = reverse(entry.url_name)
        active = current_path == url if url == "/" else current_path.startswith(url)
        items.append(
            {"url": url, "label": entry.label, "active": active, "badge": entry.badge(user) if entry.badge else 0}
        )
    return items
