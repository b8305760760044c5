"""The merged programme of a village: the higher tier wins, equal tiers go by start time."""

from datetime import date, time

import pytest

from ruralcast.accounts.models import User
from ruralcast.broadcasting.programme import EARLIER_START, HIGHER_TIER, effective_programme
from ruralcast.broadcasting.services import schedule_update
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 2)  # a Wednesday


def _times(programme: object) -> list[tuple[str, int]]:
    return [(e.start_time.strftime("%H:%M"), e.tier) for e in programme.entries]  # type: ignore[attr-defined]


def test_higher_tier_slot_plays_and_overlapping_lower_tier_slot_is_dropped(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    news = make_item(rongjiang, 600, "县新闻")
    advice = make_item(guzhou, 300, "农技")
    make_schedule(county_station_operator, rongjiang, [("07:00", news)])
    make_schedule(county_station_operator, guzhou, [("07:05", advice), ("12:00", advice)])

    programme = effective_programme(village=dashizi, day=DAY)

    assert _times(programme) == [("07:00", 3), ("12:00", 4)]
    [dropped] = programme.dropped
    assert dropped.entry.start_time == time(7, 5) and dropped.reason == HIGHER_TIER
    assert dropped.by.item_title == "县新闻"


def test_village_schedule_never_overrides_county_even_when_it_starts_first(
    county_station_operator: User,
    village_broadcaster: User,
    rongjiang: Region,
    dashizi: Region,
    make_item,
    make_schedule,
) -> None:
    news = make_item(rongjiang, 600, "县新闻")
    notice = make_item(dashizi, 900, "村通知")
    make_schedule(county_station_operator, rongjiang, [("07:00", news)])
    # The village notice starts 10 minutes before the county news and would run over it.
    make_schedule(village_broadcaster, dashizi, [("06:50", notice), ("18:00", notice)])

    programme = effective_programme(village=dashizi, day=DAY)

    assert _times(programme) == [("07:00", 3), ("18:00", 5)]
    assert [(d.entry.start_time, d.reason) for d in programme.dropped] == [(time(6, 50), HIGHER_TIER)]


def test_equal_tier_overlap_the_earlier_start_wins(
    county_station_operator: User, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    long_item = make_item(guzhou, 600, "长节目")
    short_item = make_item(guzhou, 60, "短节目")
    make_schedule(county_station_operator, guzhou, [("12:05", short_item)], name="B")
    make_schedule(county_station_operator, guzhou, [("12:00", long_item)], name="A")

    programme = effective_programme(village=dashizi, day=DAY)

    assert [e.item_title for e in programme.entries] == ["长节目"]
    assert [(d.entry.item_title, d.reason) for d in programme.dropped] == [("短节目", EARLIER_START)]


def test_back_to_back_slots_do_not_conflict(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    make_schedule(county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 300))])
    make_schedule(county_station_operator, guzhou, [("07:05", make_item(guzhou, 300))])

    programme = effective_programme(village=dashizi, day=DAY)

    assert _times(programme) == [("07:00", 3), ("07:05", 4)] and programme.dropped == []


def test_a_dropped_lower_tier_slot_no_longer_blocks_an_equal_tier_one(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    """Township 07:50 (20 min) is dropped by county 08:00; township 08:20 then plays although it
    would have overlapped the dropped one."""
    make_schedule(county_station_operator, rongjiang, [("08:00", make_item(rongjiang, 600))])
    township = make_item(guzhou, 1200, "long")
    make_schedule(county_station_operator, guzhou, [("07:50", township), ("08:20", make_item(guzhou, 60, "s"))])

    programme = effective_programme(village=dashizi, day=DAY)

    assert _times(programme) == [("08:00", 3), ("08:20", 4)]


def test_only_active_schedules_aimed_at_the_village_count(
    county_station_operator: User,
    guzhou: Region,
    dashizi: Region,
    liziyuan: Region,
    make_item,
    make_schedule,
) -> None:
    item = make_item(guzhou, 60)
    to_liziyuan = make_schedule(county_station_operator, guzhou, [("09:00", item)], target=liziyuan)
    paused = make_schedule(county_station_operator, guzhou, [("10:00", item)])
    schedule_update(
        actor=county_station_operator, schedule=paused, name=paused.name, target_region=guzhou, volume=70, active=False
    )

    assert effective_programme(village=dashizi, day=DAY).entries == []
    assert [e.schedule_id for e in effective_programme(village=liziyuan, day=DAY).entries] == [to_liziyuan.pk]
