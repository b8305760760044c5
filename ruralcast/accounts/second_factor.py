"""The second factor: an authenticator app (TOTP, django-otp) plus one-time recovery codes.

Who needs it is derived from the roles table: anyone holding a role that allows an action in
`roles.SECOND_FACTOR_ACTIONS` (approving alerts, managing users, granting roles, anything
`firmware.…`). Such a person logs in with the password and then a six-digit code; until they have
enrolled and verified, their session reaches only the enrolment and verification pages
(`accounts.middleware.SecondFactorMiddleware`), in the console and in the API alike.

- Enrolment: `totp_enrol_start` gives a fresh secret (QR code and otpauth:// URI on the page);
  `totp_enrol_confirm` checks a first code, confirms the device and returns ten recovery codes,
  shown once and stored as SHA-256 digests.
- Verification: `second_factor_check` takes a code from the app or a recovery code (each works
  once), throttled per (username, address) like the password (`accounts.lockout`); django-otp's
  own per-device throttle is off, so nobody can lock an approver's phone from everywhere.
- Security keys (WebAuthn) are a further way to pass the step, added from a verified session
  (`accounts.security_keys`).
- A lost phone: an administrator who may manage the person resets the factor with a reason
  (`second_factor_reset`, audited: the app, the recovery codes and every security key); the
  person enrols again at the next login.
- API tokens of such people are created only from a verified console session, never with another
  token: the token then stands for both factors (a 256-bit secret shown once).
"""

import secrets
from base64 import b32encode
from binascii import unhexlify
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp.plugins.otp_totp.models import TOTPDevice

from ruralcast.accounts.access import access_require_manage_user, user_scopes
from ruralcast.accounts.lockout import login_failure_record, login_locked_until, login_success_record
from ruralcast.accounts.models import (
    RECOVERY_CODE_LENGTH,
    LoginThrottle,
    RecoveryCode,
    RecoveryCodeDevice,
    User,
    WebAuthnCredential,
    recovery_code_digest,
)
from ruralcast.accounts.roles import role_needs_second_factor
from ruralcast.accounts.services import refuse_system_account
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ApplicationError, PermissionDenied, ValidationError

RECOVERY_CODE_COUNT = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i: read off paper


class SecondFactorLocked(ApplicationError):
    """Too many wrong codes from this address; try again later."""

    status_code = 429
    code = "locked"


def second_factor_required(user: User) -> bool:
    """True when one of the user's roles allows an action that needs a second factor."""
    return any(role_needs_second_factor(scope.role) for scope in user_scopes(user))


def second_factor_enrolled(user: User) -> bool:
    """True when the person has a confirmed authenticator app or a security key (`accounts.security_keys`)."""
    return (
        TOTPDevice.objects.filter(user=user, confirmed=True).exists()
        or WebAuthnCredential.objects.filter(user=user, confirmed=True).exists()
    )


def session_verified(user: Any) -> bool:
    """True for a session that passed the second factor (django-otp's OTPMiddleware decides)."""
    is_verified = getattr(user, "is_verified", None)
    return bool(is_verified and is_verified())


def totp_secret(device: TOTPDevice) -> str:
    """The secret in base32, as authenticator apps take it ("enter a setup key")."""
    return b32encode(unhexlify(device.key)).decode().rstrip("=")


def totp_enrol_start(*, user: User) -> TOTPDevice:
    """An unconfirmed authenticator for `user` (the same one until confirmed, so a reload shows one QR)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=False)
    return device


def _new_recovery_codes(user: User) -> list[str]:
    RecoveryCodeDevice.objects.filter(user=user).delete()
    device = RecoveryCodeDevice.objects.create(user=user, name="recovery codes", confirmed=True)
    codes = [
        "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(RECOVERY_CODE_LENGTH))
        for _ in range(RECOVERY_CODE_COUNT)
    ]
    RecoveryCode.objects.bulk_create(
        [RecoveryCode(device=device, code_hash=recovery_code_digest(code) or "") for code in codes]
    )
    return [f"{code[:4]}-{code[4:8]}-{code[8:12]}-{code[12:]}" for code in codes]


def totp_enrol_confirm(*, user: User, device: TOTPDevice, token: str) -> list[str]:
    """Confirm the authenticator with its first code; returns the recovery codes (shown once)."""
    if device.user_id != user.pk or device.confirmed:
        raise ValidationError(_("Start the enrolment again."))
    if not device.verify_token("".join(token.split())):
        raise ValidationError(
            _("That code is not right. Check the phone's clock and type the six digits shown now."),
            fields={"token": [_("Wrong code.")]},
        )
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        codes = _new_recovery_codes(user)
        audit_record(actor=user, verb="second_factor.enrol", obj=user, region_code=user.home_region_id or "")
    return codes


def totp_provision(*, user: User) -> TOTPDevice:
    """A confirmed authenticator set up by the system (the demo prints its secret once); no recovery codes."""
    with transaction.atomic():
        TOTPDevice.objects.filter(user=user).delete()
        device = TOTPDevice.objects.create(user=user, name="authenticator", confirmed=True)
        audit_record(actor=None, verb="second_factor.provision", obj=user, region_code=user.home_region_id or "")
    return device


def recovery_codes_regenerate(*, user: User) -> list[str]:
    """New recovery codes for an enrolled person (the old ones stop working)."""
    if not second_factor_enrolled(user):
        raise ValidationError(_("Set up the authenticator app first."))
    with transaction.atomic():
        codes = _new_recovery_codes(user)
        audit_record(actor=user, verb="second_factor.recovery_codes", obj=user, region_code=user.home_region_id or "")
    return codes


def recovery_codes_left(*, user: User) -> int:
    return RecoveryCode.objects.filter(device__user=user, used_at__isnull=True).count()


def second_factor_check(*, user: User, token: str, address: str) -> TOTPDevice | RecoveryCodeDevice:
    """The device that accepts `token` (authenticator code or recovery code), or an error.

    Wrong codes count per (username, address) and lock that pair out with back-off, as passwords do.
    """
    step = LoginThrottle.Step.SECOND_FACTOR
    if login_locked_until(username=user.username, address=address, step=step) is not None:
        raise SecondFactorLocked(_("Too many wrong codes from your address. Wait a few minutes and try again."))
    token = "".join(token.split())
    device: TOTPDevice | RecoveryCodeDevice | None = None
    with transaction.atomic():
        if token.isdigit():
            device = next(
                (
                    d
                    for d in TOTPDevice.objects.select_for_update().filter(user=user, confirmed=True)
                    if d.verify_token(token)
                ),
                None,
            )
        else:
            recovery = RecoveryCodeDevice.objects.filter(user=user, confirmed=True).first()
            if recovery is not None and recovery.verify_token(token):
                device = recovery
                audit_record(
                    actor=user,
                    verb="second_factor.recovery_code_used",
                    obj=user,
                    region_code=user.home_region_id or "",
                    after={"left": recovery_codes_left(user=user)},
                )
    if device is None:
        if login_failure_record(username=user.username, address=address, step=step) is not None:
            raise SecondFactorLocked(_("Too many wrong codes from your address. Wait a few minutes and try again."))
        raise ValidationError(
            _("That code is not right. Type the six digits the app shows now, or one of your recovery codes."),
            fields={"token": [_("Wrong code.")]},
        )
    login_success_record(username=user.username, address=address, step=step)
    return device


def second_factor_reset(*, actor: User, user: User, reason: str) -> None:
    """An administrator removes a person's lost second factor; they enrol again at the next login.

    The administrator's scope must cover every grant of the person; nobody resets their own factor
    this way (that is what the recovery codes are for); the reason goes into the audit trail.
    """
    if actor.pk == user.pk:
        raise PermissionDenied(_("Ask another administrator to reset your own second factor."))
    access_require_manage_user(actor=actor, target=user)
    refuse_system_account(user)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Say why (e.g. “phone lost, identity checked in person”)."), fields={"reason": [_("Required.")]}
        )
    with transaction.atomic():
        removed = TOTPDevice.objects.filter(user=user).delete()[0]
        removed += WebAuthnCredential.objects.filter(user=user).delete()[0]
        RecoveryCodeDevice.objects.filter(user=user).delete()
        audit_record(
            actor=actor,
            verb="second_factor.reset",
            obj=user,
            region_code=user.home_region_id or "",
            after={"reason": reason[:500], "devices_removed": removed, "at": timezone.now()},
        )
