"""Identifiers of emergency messages: sender resource codes, EBM ids and CAP identifiers.

See docs/protocols.md §1 for our reading of the 23-digit resource code (EBRID):
level (1) + region code (12) + type 01 EB platform, subtype 01 general, system 01, sub-resource 01
the platform itself (8) + serial (2). An EBM id is the sender code + local date YYYYMMDD + a 4-digit
daily sequence (35 digits).
"""

from datetime import date

from django.db import transaction
from django.db.models import F
from django.utils.translation import gettext as _

from ruralcast.alerts.models import DailySequence
from ruralcast.core.errors import Conflict
from ruralcast.regions.models import Region

PLATFORM_TYPE_DIGITS = "01010101"
_LEVEL_DIGIT = {0: "1", 1: "2", 2: "3", 3: "4", 4: "5", 5: "6"}


def platform_code(region: Region, *, serial: int = 1) -> str:
    """The 23-digit resource code of the emergency-broadcast platform of `region`."""
    return f"{_LEVEL_DIGIT[region.level]}{region.code}{PLATFORM_TYPE_DIGITS}{serial:02d}"


def platform_name(region: Region) -> str:
    return f"{region.name}应急广播平台"


def next_ebm_id(*, sender_code: str, day: date) -> str:
    """Allocate the next EBM id of a sender for a day (serialised per sender and day)."""
    with transaction.atomic():
        DailySequence.objects.get_or_create(sender_code=sender_code, day=day)
        DailySequence.objects.filter(sender_code=sender_code, day=day).update(last=F("last") + 1)
        last = DailySequence.objects.get(sender_code=sender_code, day=day).last
    if last > 9999:
        raise Conflict(_("This platform has used all 9,999 message numbers for today."))
    return f"{sender_code}{day:%Y%m%d}{last:04d}"


def cap_identifier(*, sender_code: str, ebm_id: str) -> str:
    return f"urn:ruralcast:{sender_code}:{ebm_id}"
