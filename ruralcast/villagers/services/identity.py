"""Villagers' identity on the phone: a one-time code by SMS, the account, the household.

Signing in: `villager_code_send` sends a 6-digit code to the number through notifications' SMS
gateway (by default the log-only STAND-IN: nothing leaves the machine, the code is in the log and
RUN_DIR/sms-stand-in.log). Only an HMAC of the code is kept (keyed with SECRET_KEY and the number,
so a copy of the database does not reveal codes); it expires after CODE_MINUTES, is void after
CODE_ATTEMPTS wrong entries and works once. `villager_sign_in` checks it, creates the account on
first sign-in and records the consent the person gave to the notice shown (PIPL).

A villager is not a console `User`: the session only carries the villager's id (`VILLAGER_SESSION_KEY`),
Django's login is never called, so no villager can reach a console page or hold a grant.
"""

import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ServiceUnavailable, ValidationError
from ruralcast.notifications.sms import SmsError, sms_gateway
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.villagers.models import (
    Attempt,
    Consent,
    ConsentPurpose,
    Household,
    HouseholdMember,
    OneTimeCode,
    Villager,
)
from ruralcast.villagers.services.throttle import attempt_key, attempt_limit, attempt_record, villagers_setting

_PHONE = re.compile(r"^1\d{10}$")


def phone_normalise(phone: str) -> str:
    """A mainland mobile number as 11 digits ("+86 138-0000-0000" → "13800000000"), or a
    ValidationError saying what is wrong."""
    digits = re.sub(r"[\s\-()]", "", phone or "")
    if digits.startswith("+86"):
        digits = digits[3:]
    elif digits.startswith("0086"):
        digits = digits[4:]
    if not _PHONE.match(digits):
        raise ValidationError(
            _("Enter an 11-digit mobile number starting with 1, e.g. 138 0000 0000."),
            fields={"phone": [_("Enter an 11-digit mobile number.")]},
        )
    return digits


def _code_hash(phone: str, code: str) -> str:
    return hmac.new(settings.SECRET_KEY.encode(), f"{phone}:{code}".encode(), hashlib.sha256).hexdigest()


def notice_version() -> str:
    return str(settings.RURALCAST_VILLAGERS["NOTICE_VERSION"])


def villager_code_send(*, phone: str, address: str = "") -> str:
    """Send a one-time sign-in code to `phone`; returns the normalised number.

    At most CODES_PER_NUMBER_HOUR codes to one number and CODES_PER_ADDRESS_HOUR asked from one
    address per hour. A new code voids the earlier ones of the number.
    """
    number = phone_normalise(phone)
    hour = timedelta(hours=1)
    address_key = attempt_key(address) if address else ""
    attempt_limit(
        kind=Attempt.Kind.CODE_SENT_NUMBER, key=number, limit=villagers_setting("CODES_PER_NUMBER_HOUR"), within=hour
    )
    attempt_limit(
        kind=Attempt.Kind.CODE_SENT_ADDRESS,
        key=address_key,
        limit=villagers_setting("CODES_PER_ADDRESS_HOUR"),
        within=hour,
    )
    code = f"{secrets.randbelow(10**6):06d}"
    minutes = villagers_setting("CODE_MINUTES")
    with transaction.atomic():
        now = timezone.now()
        OneTimeCode.objects.filter(phone=number, used_at__isnull=True).update(expires_at=now)
        OneTimeCode.objects.create(
            phone=number, code_hash=_code_hash(number, code), expires_at=now + timedelta(minutes=minutes)
        )
        attempt_record(kind=Attempt.Kind.CODE_SENT_NUMBER, key=number)
        if address_key:
            attempt_record(kind=Attempt.Kind.CODE_SENT_ADDRESS, key=address_key)
        text = _("Your village TV sign-in code is %(code)s (valid %(minutes)d minutes). Do not tell anyone.") % {
            "code": code,
            "minutes": minutes,
        }
        try:
            sms_gateway().send(number=number, text=text)
        except SmsError as error:
            raise ServiceUnavailable(_("The SMS could not be sent; please try again later.")) from error
    return number


def _wrong(message: str) -> ValidationError:
    return ValidationError(message, fields={"code": [message]})


def villager_sign_in(*, phone: str, code: str, consent: bool, display_name: str = "", address: str = "") -> Villager:
    """Check the one-time code and sign the villager in (creating the account the first time).

    `consent` is the person's agreement to the privacy notice of the current version; without it
    nothing is collected (a new number is refused; an existing account must agree again when the
    notice changed). A wrong code counts against the code (CODE_ATTEMPTS) and the address.
    """
    number = phone_normalise(phone)
    address_key = attempt_key(address) if address else ""
    attempt_limit(
        kind=Attempt.Kind.CODE_FAILURE,
        key=address_key,
        limit=villagers_setting("CODE_FAILURES_PER_ADDRESS"),
        within=timedelta(hours=1),
    )
    entered = (code or "").strip()
    now = timezone.now()
    pending = (
        OneTimeCode.objects.filter(phone=number, used_at__isnull=True, expires_at__gt=now)
        .order_by("-created_at")
        .first()
    )
    if pending is None:
        raise _wrong(_("No valid code for this number: ask for a new code."))
    if not hmac.compare_digest(pending.code_hash, _code_hash(number, entered)):
        pending.attempts += 1
        update = ["attempts"]
        if pending.attempts >= villagers_setting("CODE_ATTEMPTS"):
            pending.expires_at = now
            update.append("expires_at")
        pending.save(update_fields=update)
        if address_key:
            attempt_record(kind=Attempt.Kind.CODE_FAILURE, key=address_key)
        if pending.attempts >= villagers_setting("CODE_ATTEMPTS"):
            raise _wrong(_("Too many wrong codes: this code no longer works. Ask for a new code."))
        raise _wrong(_("The code is not right. Check the SMS and try again."))
    version = notice_version()
    villager = Villager.objects.filter(phone=number).first()
    has_consent = (
        villager is not None
        and villager.consents.filter(
            purpose=ConsentPurpose.ACCOUNT, notice_version=version, withdrawn_at__isnull=True
        ).exists()
    )
    if not has_consent and not consent:
        raise ValidationError(
            _("Please read the privacy notice and agree to it to sign in."),
            fields={"consent": [_("Agree to the privacy notice to continue.")]},
        )
    with transaction.atomic():
        pending.used_at = now
        pending.save(update_fields=["used_at"])
        created = villager is None
        if villager is None:
            villager = Villager.objects.create(phone=number, display_name=display_name.strip()[:40])
        villager.last_login_at = now
        villager.save(update_fields=["last_login_at"])
        if not has_consent:
            Consent.objects.create(villager=villager, purpose=ConsentPurpose.ACCOUNT, notice_version=version)
        audit_record(
            actor=None,
            verb="villager.create" if created else "villager.sign_in",
            obj=villager,
            object_label=str(villager),
        )
    return villager


def villager_enrol(*, phone: str, display_name: str = "") -> Villager:
    """An account made without a code by SMS: for a person the village committee enrols, who gave
    their consent to the current notice on paper there (the demo's villager is made this way)."""
    number = phone_normalise(phone)
    with transaction.atomic():
        villager, created = Villager.objects.get_or_create(phone=number, defaults={"display_name": display_name[:40]})
        if created:
            Consent.objects.create(villager=villager, purpose=ConsentPurpose.ACCOUNT, notice_version=notice_version())
            audit_record(actor=None, verb="villager.create", obj=villager, after={"enrolled": True})
    return villager


def household_create(*, villager: Villager, village: Region, label: str, address: str = "") -> Household:
    """A villager sets up their household in `village` and joins it (with the household consent)."""
    if village.level != Level.VILLAGE:
        raise ValidationError(_("Choose a village."), fields={"village": [_("Choose a village.")]})
    if villager.household_id is not None:
        raise ValidationError(_("You already belong to a household."))
    label = label.strip()
    if not label:
        raise ValidationError(_("Give the household a name, e.g. 张家."), fields={"label": [_("Enter a name.")]})
    with transaction.atomic():
        household = Household.objects.create(village=village, label=label[:80], address=address.strip()[:200])
        villager.household, villager.village = household, village
        villager.save(update_fields=["household", "village"])
        Consent.objects.create(villager=villager, purpose=ConsentPurpose.HOUSEHOLD, notice_version=notice_version())
        audit_record(
            actor=None,
            verb="household.create",
            obj=household,
            region_code=village.code,
            object_label=f"household {household.pk}",
        )
    return household


def household_member_add(
    *, villager: Villager, display_name: str, is_minor: bool, guardian_consents: bool = False
) -> HouseholdMember:
    """Add a member without an account to the villager's household. A minor is kept only when
    the villager, as guardian, consents: the consent record is written with the member."""
    household = villager.household
    if household is None:
        raise ValidationError(_("Set up your household first."))
    name = display_name.strip()
    if not name:
        raise ValidationError(_("Enter the member's name."), fields={"display_name": [_("Enter a name.")]})
    if is_minor and not guardian_consents:
        raise ValidationError(
            _("A child's data is kept only with a guardian's consent: tick the box if you are the guardian."),
            fields={"guardian_consents": [_("As the guardian, agree to continue.")]},
        )
    with transaction.atomic():
        consent = (
            Consent.objects.create(villager=villager, purpose=ConsentPurpose.MINOR, notice_version=notice_version())
            if is_minor
            else None
        )
        member = HouseholdMember.objects.create(
            household=household,
            display_name=name[:40],
            is_minor=is_minor,
            guardian=villager if is_minor else None,
            guardian_consent=consent,
        )
        audit_record(
            actor=None,
            verb="household.member_add",
            obj=member,
            region_code=household.village_id,
            after={"household": household.pk, "minor": is_minor, "guardian": villager.pk if is_minor else None},
        )
    return member
