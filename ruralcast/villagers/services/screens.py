"""Writes of household screens: a box registers itself, shows a code, someone confirms the code.

A box that opens the portal without a valid device token is registered (`screen_register`): it
gets a long random token (kept only as its SHA-256) in the `rc_screen` cookie and a 6-digit code,
renewed while the pairing screen is shown (`screen_code_refresh`). The code is confirmed either by
an operator in the console (`screen_pair`, scoped by the *target village*: the operator's
`screen.manage` grant must cover it) or by a signed-in villager on the phone
(`screen_pair_by_villager`: the screen joins their household and its village). `screen_revoke`
makes the token worthless at once (the selectors filter revoked screens); the box then starts
over. See `throttle` for the limits that keep codes from being guessed.
"""

import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Attempt, Screen, Villager
from ruralcast.villagers.selectors import token_hash
from ruralcast.villagers.services.throttle import (
    attempt_key,
    attempt_limit,
    attempt_record,
    villagers_setting,
)

CODE_DIGITS = 6


def pairing_code_minutes() -> int:
    """How long a pairing code lives before the screen shows a new one
    (`RURALCAST_VILLAGERS["PAIRING_CODE_MINUTES"]`); the pairing page says it."""
    return villagers_setting("PAIRING_CODE_MINUTES")


def _code_lifetime() -> timedelta:
    return timedelta(minutes=pairing_code_minutes())


def _new_code() -> str:
    """A 6-digit code no other waiting screen shows now (codes are looked up among live ones)."""
    now = timezone.now()
    for _attempt in range(20):
        code = f"{secrets.randbelow(10**CODE_DIGITS):0{CODE_DIGITS}d}"
        taken = Screen.objects.filter(
            pairing_code=code, pairing_code_expires_at__gt=now, village__isnull=True, revoked_at__isnull=True
        ).exists()
        if not taken:
            return code
    raise Conflict(_("No free pairing code right now; reload the page in a minute."))


def screen_register(*, user_agent: str, address: str = "") -> tuple[Screen, str]:
    """Register a box that has no valid token: returns the screen and its token (shown only now,
    for the cookie). At most SCREEN_REGISTRATIONS_PER_ADDRESS_HOUR registrations per address."""
    key = attempt_key(address) if address else ""
    attempt_limit(
        kind=Attempt.Kind.SCREEN_REGISTER,
        key=key,
        limit=villagers_setting("SCREEN_REGISTRATIONS_PER_ADDRESS_HOUR"),
        within=timedelta(hours=1),
    )
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        screen = Screen.objects.create(
            token_hash=token_hash(token),
            user_agent=user_agent[:200],
            pairing_code=_new_code(),
            pairing_code_expires_at=timezone.now() + _code_lifetime(),
            last_seen_at=timezone.now(),
        )
        if key:
            attempt_record(kind=Attempt.Kind.SCREEN_REGISTER, key=key)
    return screen, token


def screen_code_refresh(*, screen: Screen) -> Screen:
    """Give a waiting screen a fresh code when its code has expired or will within a minute (the
    pairing page calls this on every view and poll, so the code on the TV is always valid)."""
    if screen.is_paired or screen.revoked_at is not None:
        return screen
    now = timezone.now()
    fields = ["last_seen_at"]
    screen.last_seen_at = now
    if (
        not screen.pairing_code
        or not screen.pairing_code_expires_at
        or screen.pairing_code_expires_at < now + timedelta(minutes=1)
    ):
        screen.pairing_code = _new_code()
        screen.pairing_code_expires_at = now + _code_lifetime()
        fields += ["pairing_code", "pairing_code_expires_at"]
    screen.save(update_fields=fields)
    return screen


def _waiting_screen(*, code: str, address: str) -> Screen:
    """The unpaired screen showing `code` now; a wrong code counts against the address."""
    key = attempt_key(address) if address else ""
    backoff = timedelta(minutes=villagers_setting("PAIR_BACKOFF_MINUTES"))
    limit = villagers_setting("PAIR_FAILURES_PER_ADDRESS")
    attempt_limit(kind=Attempt.Kind.PAIR_FAILURE, key=key, limit=limit, within=backoff)
    code = code.strip().replace(" ", "")
    screen = (
        Screen.objects.select_for_update()
        .filter(
            pairing_code=code,
            pairing_code_expires_at__gt=timezone.now(),
            village__isnull=True,
            revoked_at__isnull=True,
        )
        .first()
        if len(code) == CODE_DIGITS and code.isdigit()
        else None
    )
    if screen is None:
        # Counted by the caller after its transaction has rolled back (`_wrong_code`).
        raise _WrongCode(key)
    return screen


class _WrongCode(Exception):
    """No waiting screen shows the code (internal: turned into a ValidationError)."""

    def __init__(self, key: str) -> None:
        self.key = key


def _wrong_code(error: _WrongCode) -> ValidationError:
    if error.key:
        attempt_record(kind=Attempt.Kind.PAIR_FAILURE, key=error.key)
    return ValidationError(
        _("No screen shows this code now. Check the 6 digits on the TV; an expired code is renewed on the TV."),
        fields={"code": [_("No screen shows this code now.")]},
    )


def screen_pair(*, actor: User, code: str, village: Region, label: str = "", address: str = "") -> Screen:
    """An operator confirms the code a TV shows and ties the screen to `village`.

    Scoped by the target village: the operator's `screen.manage` grant must cover it (a county
    operator cannot pair a screen to a village of the neighbouring county). Audited.
    """
    if village.level != Level.VILLAGE:
        raise ValidationError(
            _("Choose a village (not a township or county)."), fields={"village": [_("Choose a village.")]}
        )
    access_require(user=actor, action=Action.SCREEN_MANAGE, region=village)
    try:
        with transaction.atomic():
            screen = _waiting_screen(code=code, address=address)
            screen.village, screen.household = village, None
            screen.label = label.strip()[:80] or screen.label
            screen.paired_at, screen.paired_by = timezone.now(), actor
            screen.pairing_code, screen.pairing_code_expires_at = "", None
            screen.save(
                update_fields=[
                    "village",
                    "household",
                    "label",
                    "paired_at",
                    "paired_by",
                    "pairing_code",
                    "pairing_code_expires_at",
                ]
            )
            audit_record(
                actor=actor, verb="screen.pair", obj=screen, region_code=village.code, after={"village": village.code}
            )
    except _WrongCode as error:
        raise _wrong_code(error) from None
    return screen


def screen_pair_by_villager(*, villager: Villager, code: str, address: str = "") -> Screen:
    """A signed-in villager confirms the code: the screen joins their household and its village."""
    household = villager.household
    if household is None:
        raise ValidationError(
            _("Set up your household first (its village and address), then pair the TV."),
            fields={"code": [_("Set up your household first.")]},
        )
    try:
        with transaction.atomic():
            screen = _waiting_screen(code=code, address=address)
            screen.village_id, screen.household = household.village_id, household
            screen.label = screen.label or household.label
            screen.paired_at, screen.paired_by_villager = timezone.now(), villager
            screen.pairing_code, screen.pairing_code_expires_at = "", None
            screen.save(
                update_fields=[
                    "village",
                    "household",
                    "label",
                    "paired_at",
                    "paired_by_villager",
                    "pairing_code",
                    "pairing_code_expires_at",
                ]
            )
            audit_record(
                actor=None,
                verb="screen.pair_household",
                obj=screen,
                object_label=f"screen {screen.pk}",
                region_code=household.village_id,
                after={"village": household.village_id, "household": household.pk, "villager": villager.pk},
            )
    except _WrongCode as error:
        raise _wrong_code(error) from None
    return screen


def screen_revoke(*, actor: User, screen: Screen) -> Screen:
    """Revoke a paired screen: its token stops working at once; the box shows a new code."""
    if screen.revoked_at is not None:
        raise Conflict(_("This screen is already revoked."))
    if screen.village is None:
        raise ValidationError(_("Only a paired screen can be revoked; an unpaired one expires by itself."))
    access_require(user=actor, action=Action.SCREEN_MANAGE, region=screen.village)
    with transaction.atomic():
        screen.revoked_at, screen.revoked_by = timezone.now(), actor
        screen.save(update_fields=["revoked_at", "revoked_by"])
        audit_record(actor=actor, verb="screen.revoke", obj=screen, region_code=screen.village.code)
    return screen
