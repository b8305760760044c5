"""Reads of villagers, households and screens."""

import hashlib

from django.http import HttpRequest

from ruralcast.core.registries.portal import Screen as PortalScreen
from ruralcast.regions.codes import ancestor_codes, level_of_code
from ruralcast.regions.selectors import region_deployment_top
from ruralcast.villagers.models import Screen

# The cookie a household screen keeps its device token in (HttpOnly, long-lived, revocable).
SCREEN_COOKIE = "rc_screen"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def screen_for_token(*, token: str) -> Screen | None:
    """The live (not revoked) screen holding `token`, or None."""
    if not token:
        return None
    return (
        Screen.objects.filter(token_hash=token_hash(token), revoked_at__isnull=True).select_related("village").first()
    )


def screen_for_request(request: HttpRequest) -> Screen | None:
    """The screen whose device token the request carries (cookie `rc_screen`), or None."""
    return screen_for_token(token=request.COOKIES.get(SCREEN_COOKIE, ""))


def portal_screen(screen: Screen | None) -> PortalScreen:
    """What the portal's rails are computed for: the paired village (and household), or the
    deployment's top region for an unpaired, revoked or unknown screen."""
    if screen is not None and screen.is_paired and screen.village_id:
        return PortalScreen(region_code=screen.village_id, household=screen.household_id)
    return PortalScreen(region_code=region_deployment_top().code)


def screen_region_codes(screen: PortalScreen) -> list[str]:
    """The screen's region and every region above it, top first: whose content the screen sees
    (notices, alerts, region-restricted media), never a neighbour's. The one place that decides it."""
    return [*ancestor_codes(screen.region_code, level_of_code(screen.region_code)), screen.region_code]
