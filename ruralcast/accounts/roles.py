"""Roles and the actions they allow, declared once.

A role is granted to a user on a region; it then covers that region's whole subtree (a county
station operator acts on the county, its townships and their villages, never on the neighbouring
county or on the city above). Every service asks one question through `accounts.access`:
"may this user do this action on this region?" and the answer comes from this table.

Later modules add their actions here, next to the roles that may do them.
"""

from django.db.models import TextChoices
from django.utils.translation import gettext_lazy as _


class Role(TextChoices):
    PLATFORM_ADMIN = "platform_admin", _("Platform administrator")
    BUREAU_ADMIN = "bureau_admin", _("Bureau administrator")
    STATION_OPERATOR = "station_operator", _("Station operator")
    ALERT_APPROVER = "alert_approver", _("Alert approver")
    VILLAGE_BROADCASTER = "village_broadcaster", _("Village broadcaster")
    CONTENT_EDITOR = "content_editor", _("Content editor")
    MAINTAINER = "maintainer", _("Maintainer")
    FIRMWARE_MANAGER = "firmware_manager", _("Firmware manager")
    VIEWER = "viewer", _("Viewer")
    # The system account of a CAP feed subscription (alerts.feeds): drafts only, never a person.
    CAP_FEED = "cap_feed", _("CAP feed (system account)")


class Action(TextChoices):
    REGION_VIEW = "region.view", _("View regions")
    DESIGNATION_MANAGE = "designation.manage", _("Manage designations")
    USER_VIEW = "user.view", _("View users")
    USER_MANAGE = "user.manage", _("Create and change users")
    ROLE_GRANT = "role.grant", _("Grant and revoke roles")
    AUDIT_VIEW = "audit.view", _("Read the audit trail")
    ALERT_VIEW = "alert.view", _("View emergency alerts and their receipts")
    ALERT_DRAFT = "alert.draft", _("Draft emergency alerts")
    ALERT_APPROVE = "alert.approve", _("Approve emergency alerts")
    BROADCAST_LIVE = "broadcast.live", _("Speak live to loudspeakers")
    SCHEDULE_MANAGE = "schedule.manage", _("Manage broadcast schedules")
    PROGRAMME_VIEW = "programme.view", _("View the programme library, schedules and what villages hear")
    PROGRAMME_EDIT = "programme.edit", _("Add items to the programme library")
    CONTENT_EDIT = "content.edit", _("Edit content and media")
    TERMINAL_VIEW = "terminal.view", _("View terminals")
    TERMINAL_CONTROL = "terminal.control", _("Control terminals")
    TERMINAL_MAINTAIN = "terminal.maintain", _("Maintain terminals and work orders")
    # Firmware is code on every loudspeaker: its own role, and a second person approves (fleet.md §4).
    FIRMWARE_MANAGE = "firmware.manage", _("Upload, approve and send terminal firmware")
    REPORT_VIEW = "report.view", _("Read reports")
    REPORT_ENTER = "report.enter", _("Enter report data")
    REPORT_APPROVE = "report.approve", _("Approve reports")
    DUTY_MANAGE = "duty.manage", _("Manage duty rosters and read the delivery log")
    # Household screens of the villagers' portal (issue 17): the people who run a village's
    # loudspeakers know its households; they pair the boxes there and revoke lost ones.
    SCREEN_MANAGE = "screen.manage", _("Pair and revoke household screens")
    FEED_MANAGE = "feed.manage", _("Register and change CAP feed subscriptions")


_VIEW = {Action.REGION_VIEW}

ROLE_ACTIONS: dict[str, frozenset[str]] = {
    Role.PLATFORM_ADMIN: frozenset(Action.values),
    Role.BUREAU_ADMIN: frozenset(
        _VIEW
        | {
            Action.DESIGNATION_MANAGE,
            Action.USER_VIEW,
            Action.USER_MANAGE,
            Action.ROLE_GRANT,
            Action.AUDIT_VIEW,
            Action.ALERT_VIEW,
            Action.TERMINAL_VIEW,
            Action.REPORT_VIEW,
            Action.REPORT_APPROVE,
            Action.PROGRAMME_VIEW,
            Action.DUTY_MANAGE,
            Action.FEED_MANAGE,
        }
    ),
    Role.STATION_OPERATOR: frozenset(
        _VIEW
        | {
            Action.ALERT_VIEW,
            Action.ALERT_DRAFT,
            Action.BROADCAST_LIVE,
            Action.SCHEDULE_MANAGE,
            Action.PROGRAMME_VIEW,
            Action.PROGRAMME_EDIT,
            Action.CONTENT_EDIT,
            Action.TERMINAL_VIEW,
            Action.TERMINAL_CONTROL,
            Action.REPORT_VIEW,
            Action.REPORT_ENTER,
            Action.SCREEN_MANAGE,
        }
    ),
    Role.ALERT_APPROVER: frozenset(_VIEW | {Action.ALERT_VIEW, Action.ALERT_APPROVE, Action.TERMINAL_VIEW}),
    Role.VILLAGE_BROADCASTER: frozenset(
        _VIEW
        | {
            Action.BROADCAST_LIVE,
            Action.SCHEDULE_MANAGE,
            Action.PROGRAMME_VIEW,
            Action.PROGRAMME_EDIT,
            Action.SCREEN_MANAGE,
        }
    ),
    Role.CONTENT_EDITOR: frozenset(_VIEW | {Action.CONTENT_EDIT, Action.PROGRAMME_VIEW, Action.PROGRAMME_EDIT}),
    Role.MAINTAINER: frozenset(
        _VIEW | {Action.ALERT_VIEW, Action.TERMINAL_VIEW, Action.TERMINAL_CONTROL, Action.TERMINAL_MAINTAIN}
    ),
    Role.FIRMWARE_MANAGER: frozenset(_VIEW | {Action.TERMINAL_VIEW, Action.FIRMWARE_MANAGE}),
    Role.CAP_FEED: frozenset(_VIEW | {Action.ALERT_VIEW, Action.ALERT_DRAFT}),
    Role.VIEWER: frozenset(
        _VIEW | {Action.ALERT_VIEW, Action.TERMINAL_VIEW, Action.REPORT_VIEW, Action.PROGRAMME_VIEW}
    ),
}

# Roles that only a platform administrator may hand out.
RESERVED_ROLES = frozenset({Role.PLATFORM_ADMIN, Role.CAP_FEED})

# Roles held by system accounts, never by people: a CAP feed's account drafts the feed's messages
# (alerts.feeds.services.feed_create makes it with one such grant). The users page lists these
# accounts apart, and nobody edits them as a person: they are managed from what owns them.
SYSTEM_ROLES = frozenset({Role.CAP_FEED})


# Actions whose holders must log in with a second factor (accounts.second_factor): approving what
# thousands of loudspeakers play, deciding who may do so, and anything about firmware (the actions
# a firmware role brings are named "firmware.…" and are covered by that prefix automatically).
SECOND_FACTOR_ACTIONS = frozenset({Action.ALERT_APPROVE, Action.USER_MANAGE, Action.ROLE_GRANT})
SECOND_FACTOR_ACTION_PREFIXES = ("firmware.",)


def action_needs_second_factor(action: str) -> bool:
    return action in SECOND_FACTOR_ACTIONS or action.startswith(SECOND_FACTOR_ACTION_PREFIXES)


def role_needs_second_factor(role: str) -> bool:
    """True when the role allows any action that needs a second factor."""
    return any(action_needs_second_factor(action) for action in ROLE_ACTIONS.get(role, frozenset()))


def role_allows(role: str, action: str) -> bool:
    return action in ROLE_ACTIONS.get(role, frozenset())
