"""The demo county's household screens and one villager (`make run`, demo_setup).

Three screens are paired to the first villages of the county by the county's operator (as if the
boxes had shown their codes; nobody holds their tokens, so they fill the console's list), and a
villager with a made-up number (not a real mobile: numbers starting 100 are not issued) gets a
household in the first village. Signing in as that villager sends a code through the log-only SMS
STAND-IN: it appears in the log and in RUN_DIR/sms-stand-in.log, nothing is sent.
"""

from dataclasses import dataclass

from django.db import transaction

from ruralcast.accounts.models import User
from ruralcast.regions.codes import Level, prefix_of
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen, Villager
from ruralcast.villagers.services import household_create, screen_pair, screen_register, villager_enrol

DEMO_OPERATOR = "rongjiang-operator"
DEMO_VILLAGER_PHONE = "10000000017"


@dataclass(frozen=True)
class DemoVillagers:
    screens: int
    phone: str


def demo_villagers_create(*, county: Region) -> DemoVillagers | None:
    """Idempotent: does nothing when the county already has paired screens or the operator is missing."""
    operator = User.objects.filter(username=DEMO_OPERATOR).first()
    prefix = prefix_of(county.code, county.level)
    if operator is None or Screen.objects.filter(village__code__startswith=prefix).exists():
        return None
    villages = list(Region.objects.filter(code__startswith=prefix, level=Level.VILLAGE).order_by("code")[:3])
    with transaction.atomic():
        for number, village in enumerate(villages, start=1):
            screen, _token = screen_register(user_agent="demo box")
            screen_pair(actor=operator, code=screen.pairing_code, village=village, label=f"演示电视 {number}")
        villager = villager_enrol(phone=DEMO_VILLAGER_PHONE, display_name="演示村民")
        if villager.household_id is None and villages:
            household_create(
                villager=Villager.objects.get(pk=villager.pk), village=villages[0], label="演示户", address="1 号"
            )
    return DemoVillagers(screens=len(villages), phone=DEMO_VILLAGER_PHONE)
