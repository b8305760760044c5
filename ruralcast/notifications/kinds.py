"""What each kind of notification says, in words a county operator reads at 3 a.m.

A kind has a title and a body with `%(name)s` placeholders filled from the caller's `params`. The
text is composed once per recipient, in their language, when the notification is made (like an
e-mail: the inbox, the e-mail and the SMS say the same thing). Callers pass translatable words as
lazy labels (e.g. a `TextChoices` label), plain values as they are; a missing value shows as "—".
`drill` (true for anything but a live alert) prefixes the title with 【演练】/[DRILL].

Apps with a message of their own add a kind with `kind_register`.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, override


@dataclass(frozen=True)
class NotificationKind:
    code: str
    title: str | Promise
    body: str | Promise


_KINDS: dict[str, NotificationKind] = {}


def kind_register(kind: NotificationKind) -> NotificationKind:
    _KINDS[kind.code] = kind
    return kind


# Pages of the duty roster: something waits for approval by the person on duty.
ALERT_APPROVAL = kind_register(
    NotificationKind(
        "approval.alert",
        gettext_lazy("Alert awaiting your approval: %(title)s"),
        gettext_lazy(
            "%(by)s submitted the emergency message “%(title)s” for %(region)s at %(at)s. You are on duty: "
            "open it, listen to it and approve or send it back."
        ),
    )
)
WARNING_APPROVAL = kind_register(
    NotificationKind(
        "approval.warning",
        gettext_lazy("Imported warning awaiting approval: %(title)s"),
        gettext_lazy(
            "A warning from %(by)s for %(region)s arrived at %(at)s and waits for approval before it is "
            "broadcast. You are on duty: open it and approve or reject it."
        ),
    )
)
ESCALATED = kind_register(
    NotificationKind(
        "approval.escalated",
        gettext_lazy("Nobody has answered for %(minutes)s minutes: %(title)s"),
        gettext_lazy(
            "“%(title)s” for %(region)s has waited %(minutes)s minutes without anyone on duty approving or "
            "claiming it. You are paged as the next tier (%(step)s). Open it and act, or claim it."
        ),
    )
)
ALERT_SENT_BACK = kind_register(
    NotificationKind(
        "alert.sent_back",
        gettext_lazy("Your message was sent back: %(title)s"),
        gettext_lazy("%(by)s sent back “%(title)s” at %(at)s: %(reason)s"),
    )
)
REPORT_SENT_BACK = kind_register(
    NotificationKind(
        "report.sent_back",
        gettext_lazy("Report sent back: %(data_set)s %(period)s"),
        gettext_lazy(
            "%(by)s sent back the report of %(region)s (%(data_set)s, %(period)s) at %(at)s. Reason: %(reason)s"
        ),
    )
)
WORK_ORDER_ASSIGNED = kind_register(
    NotificationKind(
        "work_order.assigned",
        gettext_lazy("Work order #%(order)s is yours: %(fault)s"),
        gettext_lazy("%(terminal)s in %(village)s: %(fault)s. Due by %(due)s.%(escalated)s"),
    )
)


class _Params(dict[str, str]):
    def __missing__(self, key: str) -> str:
        return "—"


def kind_get(code: str) -> NotificationKind:
    return _KINDS.get(code) or NotificationKind(code, gettext_lazy("Notification"), "")


def render(code: str, params: Mapping[str, Any], *, language: str) -> tuple[str, str]:
    """(title, body) of a notification of kind `code` in `language`."""
    kind = kind_get(code)
    with override(language):
        values = _Params({key: "" if value is None else str(value) for key, value in params.items()})
        title, body = str(kind.title) % values, str(kind.body) % values
        if params.get("drill"):
            title = _("[DRILL] %(title)s") % {"title": title}
    return title[:200], body


def stored_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The values worth keeping for programs: codes and plain values, not translated words."""
    return {key: value for key, value in params.items() if isinstance(value, str | int | float | bool) or value is None}
