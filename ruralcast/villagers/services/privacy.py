"""PIPL: consent withdrawn, a villager's data deleted, and what is past its retention pruned.

Deleting a villager removes the account, its consents, its sign-in codes and counted tries, and
the household members it is guardian of (a minor's data exists only with its guardian's consent).
What must be kept is kept without the person: screens they paired stay paired (the TV in the
house still works) with no villager named; a household left with nobody has its name and address
replaced by "household <id>". The audit trail already names villagers only by id.
"""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict
from ruralcast.villagers.models import (
    Attempt,
    Consent,
    ConsentPurpose,
    HouseholdMember,
    OneTimeCode,
    Screen,
    Villager,
)


def villager_delete(*, villager: Villager, reason: str = "villager") -> None:
    """Delete the villager's data (see the module docstring). `reason`: "villager" when they asked,
    "retention" when `villagers_prune` found the account unused past its retention period."""
    with transaction.atomic():
        pk, household = villager.pk, villager.household
        HouseholdMember.objects.filter(guardian=villager).delete()
        OneTimeCode.objects.filter(phone=villager.phone).delete()
        Attempt.objects.filter(key=villager.phone).delete()
        Screen.objects.filter(paired_by_villager=villager).update(paired_by_villager=None)
        villager.consents.all().delete()
        villager.delete()
        if household is not None and not Villager.objects.filter(household=household).exists():
            household.label, household.address = f"household {household.pk}", ""
            household.save(update_fields=["label", "address"])
        audit_record(
            actor=None,
            verb="villager.delete",
            object_type="villagers.villager",
            object_id=str(pk),
            object_label=f"villager {pk}",
            after={"reason": reason},
        )


def consent_withdraw(*, villager: Villager, consent: Consent) -> None:
    """Withdraw a consent, and stop what it allowed: the account's consent deletes the account,
    the household's takes the villager out of the household, a guardian's removes the child."""
    if consent.villager_id != villager.pk:
        raise Conflict(_("This consent is not yours."))
    if consent.withdrawn_at is not None:
        raise Conflict(_("This consent was already withdrawn."))
    if consent.purpose == ConsentPurpose.ACCOUNT:
        villager_delete(villager=villager)
        return
    with transaction.atomic():
        consent.withdrawn_at = timezone.now()
        consent.save(update_fields=["withdrawn_at"])
        if consent.purpose == ConsentPurpose.MINOR:
            HouseholdMember.objects.filter(guardian_consent=consent).delete()
        elif consent.purpose == ConsentPurpose.HOUSEHOLD:
            villager.household = None
            villager.save(update_fields=["household"])
        audit_record(actor=None, verb="consent.withdraw", obj=consent, after={"purpose": consent.purpose})


def villagers_prune(*, now: datetime | None = None) -> dict[str, int]:
    """Delete what is past its retention (settings RURALCAST_*_RETENTION_DAYS): villagers not
    signed in for that long, unused sign-in codes, screens never paired, counted tries older than
    a day. Returns the counts; the command `villagers_prune` runs it daily."""
    now = now or timezone.now()
    villager_cutoff = now - timedelta(days=settings.RURALCAST_VILLAGER_RETENTION_DAYS)
    stale = Villager.objects.filter(last_login_at__lt=villager_cutoff) | Villager.objects.filter(
        last_login_at__isnull=True, created_at__lt=villager_cutoff
    )
    villagers = 0
    for villager in stale.select_related("household"):
        villager_delete(villager=villager, reason="retention")
        villagers += 1
    code_cutoff = now - timedelta(days=settings.RURALCAST_ONE_TIME_CODE_RETENTION_DAYS)
    codes, _rows = OneTimeCode.objects.filter(created_at__lt=code_cutoff).delete()
    screen_cutoff = now - timedelta(days=settings.RURALCAST_UNPAIRED_SCREEN_RETENTION_DAYS)
    screens, _rows = Screen.objects.filter(
        village__isnull=True, paired_at__isnull=True, created_at__lt=screen_cutoff
    ).delete()
    attempts, _rows = Attempt.objects.filter(at__lt=now - timedelta(days=1)).delete()
    counts = {"villagers": villagers, "codes": codes, "screens": screens, "attempts": attempts}
    if any(counts.values()):
        audit_record(actor=None, verb="villagers.prune", object_type="villagers.retention", after=counts)
    return counts


__all__ = ["consent_withdraw", "villager_delete", "villagers_prune"]
