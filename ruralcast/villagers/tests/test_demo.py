"""The demo's household screens and villager."""

import pytest

from ruralcast.accounts.roles import Role
from ruralcast.regions.models import Region
from ruralcast.villagers.demo import DEMO_VILLAGER_PHONE, demo_villagers_create
from ruralcast.villagers.models import Screen, Villager

pytestmark = pytest.mark.django_db


def test_the_demo_pairs_screens_in_the_county_and_makes_a_villager_once(make_user, rongjiang: Region) -> None:
    make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-operator")
    made = demo_villagers_create(county=rongjiang)
    assert made is not None and made.screens == 3
    assert Screen.objects.filter(village__code__startswith="522632", revoked_at__isnull=True).count() == 3
    villager = Villager.objects.get(phone=DEMO_VILLAGER_PHONE)
    assert villager.household is not None and villager.consents.count() == 2
    assert demo_villagers_create(county=rongjiang) is None
    assert Screen.objects.count() == 3
