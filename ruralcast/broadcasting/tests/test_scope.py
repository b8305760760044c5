"""Who may schedule where: tiers, scope, and the audit trail of every write."""

from datetime import date, time

import pytest

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.broadcasting.models import Schedule
from ruralcast.broadcasting.selectors import access_schedule, item_list, schedule_list, village_programme
from ruralcast.broadcasting.services import SlotFields, schedule_create, schedule_update, slot_create, slot_delete
from ruralcast.core.errors import NotFound, PermissionDenied, ValidationError
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def test_village_broadcaster_schedules_their_own_village(village_broadcaster: User, dashizi: Region, make_item) -> None:
    schedule = schedule_create(actor=village_broadcaster, owner_region=dashizi, target_region=dashizi, name="村通知")
    slot_create(
        actor=village_broadcaster,
        schedule=schedule,
        fields=SlotFields(start_time=time(18), item=make_item(dashizi, 60)),
    )
    assert schedule.tier == 5 and schedule.slots.count() == 1


def test_village_broadcaster_cannot_reach_the_next_village(
    village_broadcaster: User, dashizi: Region, liziyuan: Region, guzhou: Region
) -> None:
    with pytest.raises(PermissionDenied):
        schedule_create(actor=village_broadcaster, owner_region=liziyuan, target_region=liziyuan, name="x")
    with pytest.raises(ValidationError):  # their own village may not aim at the neighbour
        schedule_create(actor=village_broadcaster, owner_region=dashizi, target_region=liziyuan, name="x")
    with pytest.raises(PermissionDenied):  # nor act as the township above
        schedule_create(actor=village_broadcaster, owner_region=guzhou, target_region=dashizi, name="x")
    with pytest.raises(PermissionDenied):
        village_programme(user=village_broadcaster, village=liziyuan, day=date(2026, 12, 2))


def test_township_operator_cannot_touch_the_county_schedule(
    county_station_operator: User, township_station_operator: User, rongjiang: Region, guzhou: Region, make_item
) -> None:
    county = schedule_create(actor=county_station_operator, owner_region=rongjiang, target_region=rongjiang, name="县")
    slot = slot_create(
        actor=county_station_operator, schedule=county,
        fields=SlotFields(start_time=time(7), item=make_item(rongjiang, 600)),
    )  # fmt: skip
    with pytest.raises(PermissionDenied):
        schedule_update(
            actor=township_station_operator, schedule=county, name="mine", target_region=guzhou, volume=1, active=False
        )
    with pytest.raises(PermissionDenied):
        slot_delete(actor=township_station_operator, slot=slot)
    with pytest.raises(NotFound):  # and does not even see it listed
        access_schedule(user=township_station_operator, schedule_id=county.pk)
    county.refresh_from_db()
    assert county.active and county.slots.count() == 1


def test_slot_may_not_use_an_item_of_an_unrelated_library(
    township_station_operator: User, county_station_operator: User, guzhou: Region, zhongcheng: Region, make_item
) -> None:
    schedule = schedule_create(actor=township_station_operator, owner_region=guzhou, target_region=guzhou, name="镇")
    neighbours = make_item(zhongcheng, 60)
    with pytest.raises(ValidationError) as error:
        slot_create(actor=township_station_operator, schedule=schedule, fields=SlotFields(time(12), neighbours))
    assert "item" in error.value.fields


@pytest.mark.parametrize("owner", ["guizhou", "national"])
def test_only_counties_townships_and_villages_own_schedules(platform_admin: User, request, owner: str) -> None:
    region = request.getfixturevalue(owner)
    with pytest.raises(ValidationError):
        schedule_create(actor=platform_admin, owner_region=region, target_region=region, name="省")


def test_lists_are_scoped_to_the_viewers_regions(
    county_station_operator: User, village_broadcaster: User, rongjiang: Region, dashizi: Region, make_item
) -> None:
    schedule_create(actor=county_station_operator, owner_region=rongjiang, target_region=rongjiang, name="县")
    own = schedule_create(actor=village_broadcaster, owner_region=dashizi, target_region=dashizi, name="村")
    make_item(rongjiang, 60, "县稿")
    make_item(dashizi, 60, "村稿")

    assert list(schedule_list(user=village_broadcaster)) == [own]
    assert [i.title for i in item_list(user=village_broadcaster)] == ["村稿"]
    assert schedule_list(user=county_station_operator).count() == 2


def test_every_write_is_audited(county_station_operator: User, guzhou: Region, make_item) -> None:
    schedule = schedule_create(actor=county_station_operator, owner_region=guzhou, target_region=guzhou, name="镇")
    slot = slot_create(
        actor=county_station_operator, schedule=schedule, fields=SlotFields(time(12), make_item(guzhou, 60))
    )
    schedule_update(
        actor=county_station_operator, schedule=schedule, name="镇2", target_region=guzhou, volume=50, active=True
    )
    slot_delete(actor=county_station_operator, slot=slot)

    verbs = list(AuditEvent.objects.filter(region_code=guzhou.code).order_by("seq").values_list("verb", flat=True))
    assert verbs[-4:] == ["schedule.create", "schedule.slot.create", "schedule.update", "schedule.slot.delete"]
    assert Schedule.objects.get(pk=schedule.pk).name == "镇2"


def test_library_is_searched_by_title_or_tag(county_station_operator: User, rongjiang: Region, make_item) -> None:
    news, advice = make_item(rongjiang, 60, "早间新闻"), make_item(rongjiang, 60, "小贴士")
    advice.tags = "农技,冬季"
    advice.save()

    assert list(item_list(user=county_station_operator, query="农技")) == [advice]
    assert list(item_list(user=county_station_operator, query="新闻")) == [news]
