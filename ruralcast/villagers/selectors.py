"""Reads of villagers, households and screens."""

import hashlib
from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.core.registries.portal import Screen as PortalScreen
from ruralcast.regions.codes import ancestor_codes, level_of_code
from ruralcast.regions.selectors import region_deployment_top
from ruralcast.villagers.models import Consent, HouseholdMember, Screen, Villager

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
        return PortalScreen(region_code=screen.village_id, household=screen.household_id, paired=True)
    return PortalScreen(region_code=region_deployment_top().code)


def screen_region_codes(screen: PortalScreen) -> list[str]:
    """The screen's region and every region above it, top first: whose content the screen sees
    (notices, alerts, region-restricted media), never a neighbour's. The one place that decides it."""
    return [*ancestor_codes(screen.region_code, level_of_code(screen.region_code)), screen.region_code]


# The session key a signed-in villager's id is kept under (never Django's login: see services.identity).
VILLAGER_SESSION_KEY = "rc_villager"


def screen_list(*, user: User, query: str = "") -> QuerySet[Screen]:
    """Paired, live screens in the villages where `user` may manage screens, newest first;
    `query` matches the label, the village's name or code."""
    scope = action_scope_q(user=user, action=Action.SCREEN_MANAGE, field="village__code")
    if scope is None:
        return Screen.objects.none()
    listing = Screen.objects.filter(scope, village__isnull=False, revoked_at__isnull=True)
    query = query.strip()
    if query:
        listing = listing.filter(
            Q(label__icontains=query) | Q(village__name__icontains=query) | Q(village__code__startswith=query)
        )
    return listing.select_related("village", "household", "paired_by").order_by("-paired_at", "-pk")


def access_screen(*, user: User, pk: int) -> Screen:
    """A paired screen the user may manage; NotFound when missing or out of reach alike."""
    screen = screen_list(user=user).filter(pk=pk).first()
    if screen is None:
        raise NotFound(_("No such screen in your regions."))
    return screen


def villager_for_request(request: HttpRequest) -> Villager | None:
    """The villager signed in on this phone (session), or None."""
    pk = request.session.get(VILLAGER_SESSION_KEY)
    if not isinstance(pk, int):
        return None
    return Villager.objects.filter(pk=pk).select_related("household", "household__village", "village").first()


def villager_screens(*, villager: Villager) -> QuerySet[Screen]:
    """The live screens of the villager's household."""
    if villager.household_id is None:
        return Screen.objects.none()
    return Screen.objects.filter(household_id=villager.household_id, revoked_at__isnull=True).select_related("village")


def villager_data(*, villager: Villager) -> dict[str, Any]:
    """Everything kept about the villager, as the JSON export gives it (PIPL: access and copy)."""
    household = villager.household
    return {
        "villager": {
            "id": villager.pk,
            "phone": villager.phone,
            "name": villager.display_name,
            "created_at": villager.created_at.isoformat(),
            "last_login_at": villager.last_login_at.isoformat() if villager.last_login_at else None,
            "village": villager.village_id,
        },
        "household": None
        if household is None
        else {
            "id": household.pk,
            "name": household.label,
            "address": household.address,
            "village": household.village_id,
            "members": [
                {
                    "name": member.display_name,
                    "minor": member.is_minor,
                    "guardian_is_you": member.guardian_id == villager.pk,
                }
                for member in household.members.all()
            ],
        },
        "screens": [
            {"id": screen.pk, "name": screen.label, "village": screen.village_id, "paired_at": _iso(screen.paired_at)}
            for screen in villager_screens(villager=villager)
        ],
        "consents": [
            {
                "purpose": consent.purpose,
                "notice_version": consent.notice_version,
                "given_at": consent.given_at.isoformat(),
                "withdrawn_at": _iso(consent.withdrawn_at),
            }
            for consent in villager.consents.all()
        ],
    }


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value else None


def villager_consent(*, villager: Villager, pk: int) -> Consent:
    """One of the villager's own consents; NotFound for anyone else's."""
    consent = villager.consents.filter(pk=pk).first()
    if consent is None:
        raise NotFound(_("No such consent."))
    return consent


def villager_members(*, villager: Villager) -> QuerySet[HouseholdMember]:
    if villager.household_id is None:
        return HouseholdMember.objects.none()
    return HouseholdMember.objects.filter(household_id=villager.household_id)
