"""Who may hold a push connection, and for which region.

A screen authenticates with its device token (the `rc_screen` cookie the portal set when the box
first opened it): no token or one the platform never issued is 401, a revoked screen is 403 (the box
starts over with a new pairing code). A live screen is told the alerts of its paired village; one
not paired yet those of the deployment's top region (`villagers.selectors.portal_screen`).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext as _

from ruralcast.core.errors import ApplicationError, PermissionDenied
from ruralcast.villagers.models import Screen
from ruralcast.villagers.selectors import portal_screen, token_hash


class NotAScreen(ApplicationError):
    status_code = 401
    code = "not_a_screen"


@dataclass(frozen=True)
class PushAccess:
    screen_id: int
    region_code: str
    paired: bool


def push_access(*, token: str) -> PushAccess:
    """The region whose alerts the screen holding `token` is shown. Raises NotAScreen (401) or
    PermissionDenied (403, revoked). One query, two when the screen is not paired."""
    screen = (
        Screen.objects.filter(token_hash=token_hash(token))
        .only("pk", "village_id", "household_id", "revoked_at")
        .first()
        if token
        else None
    )
    if screen is None:
        raise NotAScreen(_("This screen is not known to the platform: open the portal on it to get a pairing code."))
    if screen.revoked_at is not None:
        raise PermissionDenied(_("This screen's pairing was revoked: open the portal to pair it again."))
    return PushAccess(screen_id=screen.pk, region_code=portal_screen(screen).region_code, paired=screen.is_paired)
