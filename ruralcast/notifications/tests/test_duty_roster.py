"""The duty roster: who is on duty when, the ladder a page climbs, and who may change the roster."""

from collections.abc import Callable
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import Action, Role
from ruralcast.accounts.services import role_revoke
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.notifications.ladder import duty_ladder, on_duty
from ruralcast.notifications.models import Tier
from ruralcast.notifications.services import duty_override_add, duty_slot_add
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY = datetime(2026, 3, 2, tzinfo=SHANGHAI)  # a Monday


def at(day: int, hour: int, minute: int = 0) -> datetime:
    return MONDAY + timedelta(days=day, hours=hour, minutes=minute)


def duty_now(region: Region, moment: datetime) -> dict[int, set[int]]:
    return {tier: users for (code, tier), users in on_duty(region_codes=[region.code], at=moment).items() if users}


def test_a_day_slot_puts_its_person_on_duty_in_its_hours_only(roster, rongjiang, county_alert_approver) -> None:  # type: ignore[no-untyped-def]
    roster(rongjiang, county_alert_approver, days=[0], starts=time(8), ends=time(18))
    me = county_alert_approver.pk
    assert duty_now(rongjiang, at(0, 8)) == {1: {me}}
    assert duty_now(rongjiang, at(0, 17, 59)) == {1: {me}}
    assert duty_now(rongjiang, at(0, 18)) == {}
    assert duty_now(rongjiang, at(1, 9)) == {}  # Tuesday


def test_a_night_slot_runs_past_midnight_into_the_next_morning(roster, rongjiang, county_alert_approver) -> None:  # type: ignore[no-untyped-def]
    roster(rongjiang, county_alert_approver, days=[0], starts=time(18), ends=time(8))
    me = county_alert_approver.pk
    assert duty_now(rongjiang, at(0, 23)) == {1: {me}}
    assert duty_now(rongjiang, at(1, 3)) == {1: {me}}  # Tuesday 03:00, the Monday night's duty
    assert duty_now(rongjiang, at(1, 8)) == {}
    assert duty_now(rongjiang, at(0, 7)) == {}  # Monday morning belongs to Sunday's night (none)


def test_the_same_start_and_end_is_the_whole_day(roster, rongjiang, county_alert_approver) -> None:  # type: ignore[no-untyped-def]
    roster(rongjiang, county_alert_approver, days=[6])
    assert duty_now(rongjiang, at(6, 0)) == duty_now(rongjiang, at(6, 23, 59)) == {1: {county_alert_approver.pk}}
    assert duty_now(rongjiang, at(0, 12)) == {}


def test_leave_takes_a_person_off_duty_and_a_stand_in_is_added(  # type: ignore[no-untyped-def]
    roster, rongjiang, county_alert_approver, backup_approver, province_bureau_admin
) -> None:
    roster(rongjiang, county_alert_approver)
    duty_override_add(
        actor=province_bureau_admin, region=rongjiang, user=county_alert_approver, on_duty=False,
        starts_at=at(0, 0), ends_at=at(1, 0), note="病假",
    )  # fmt: skip
    duty_override_add(
        actor=province_bureau_admin, region=rongjiang, user=backup_approver, on_duty=True, tier=Tier.FIRST,
        starts_at=at(0, 0), ends_at=at(1, 0),
    )  # fmt: skip
    assert duty_now(rongjiang, at(0, 12)) == {1: {backup_approver.pk}}
    assert duty_now(rongjiang, at(1, 12)) == {1: {county_alert_approver.pk}}  # the leave has ended


def test_the_ladder_climbs_the_tiers_then_every_county_approver_then_the_city(  # type: ignore[no-untyped-def]
    roster,
    rongjiang,
    qiandongnan,
    county_alert_approver,
    backup_approver,
    unrostered_approver,
    city_approver,
    county_station_operator,
) -> None:
    roster(rongjiang, county_alert_approver, Tier.FIRST)
    roster(rongjiang, backup_approver, Tier.SECOND)
    roster(qiandongnan, city_approver, Tier.FIRST)
    ladder = duty_ladder(region=rongjiang, action=Action.ALERT_APPROVE, at=at(2, 3))
    steps = [(step.region.code, step.tier, {u.username for u in step.users}) for step in ladder]
    assert steps[:5] == [
        ("522632000000", 1, {"rongjiang-approver"}),
        ("522632000000", 2, {"rongjiang-backup"}),
        ("522632000000", None, {"rongjiang-approver", "rongjiang-backup", "rongjiang-third"}),
        ("522600000000", 1, {"qdn-approver"}),
        ("522600000000", None, {"qdn-approver"}),
    ]
    assert all("rongjiang-operator" not in names for _code, _tier, names in steps)  # operators do not approve
    excluded = duty_ladder(
        region=rongjiang, action=Action.ALERT_APPROVE, at=at(2, 3), exclude=[county_alert_approver.pk]
    )
    assert excluded[0].tier == 2


def test_a_rostered_person_who_lost_the_approver_role_is_not_paged(  # type: ignore[no-untyped-def]
    roster, rongjiang, county_alert_approver, backup_approver, platform_admin
) -> None:
    roster(rongjiang, county_alert_approver, Tier.FIRST)
    roster(rongjiang, backup_approver, Tier.SECOND)
    role_revoke(actor=platform_admin, grant=RoleGrant.objects.get(user=county_alert_approver))
    ladder = duty_ladder(region=rongjiang, action=Action.ALERT_APPROVE)
    assert county_alert_approver.pk not in {u.pk for step in ladder for u in step.users}
    assert (ladder[0].tier, ladder[0].users) == (2, (backup_approver,))


def test_the_ladder_costs_the_same_queries_for_one_approver_or_ten(  # type: ignore[no-untyped-def]
    roster, rongjiang, make_user: Callable[..., User]
) -> None:
    roster(rongjiang, make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="only-one"))
    with CaptureQueriesContext(connection) as one:
        duty_ladder(region=rongjiang, action=Action.ALERT_APPROVE)
    for n in range(9):
        roster(rongjiang, make_user(role=Role.ALERT_APPROVER, region=rongjiang, username=f"many-{n}"), Tier.SECOND)
    with CaptureQueriesContext(connection) as ten:
        ladder = duty_ladder(region=rongjiang, action=Action.ALERT_APPROVE)
    assert sum(len(step.users) for step in ladder) >= 10
    assert len(ten.captured_queries) == len(one.captured_queries)


def test_a_county_admin_keeps_the_county_roster_but_not_the_neighbours(  # type: ignore[no-untyped-def]
    county_bureau_admin, rongjiang, congjiang, county_alert_approver, make_user: Callable[..., User]
) -> None:
    slots = duty_slot_add(
        actor=county_bureau_admin, region=rongjiang, user=county_alert_approver, tier=1, weekdays=[0, 1],
        starts=time(8), ends=time(20),
    )  # fmt: skip
    assert len(slots) == 2
    neighbour_approver = make_user(role=Role.ALERT_APPROVER, region=congjiang, username="congjiang-approver")
    with pytest.raises(PermissionDenied):
        duty_slot_add(
            actor=county_bureau_admin, region=congjiang, user=neighbour_approver, tier=1, weekdays=[0],
            starts=time(8), ends=time(20),
        )  # fmt: skip


def test_only_someone_who_may_approve_there_goes_on_a_roster(  # type: ignore[no-untyped-def]
    county_bureau_admin, rongjiang, congjiang, county_maintainer, make_user: Callable[..., User], city_approver
) -> None:
    neighbour_approver = make_user(role=Role.ALERT_APPROVER, region=congjiang, username="congjiang-approver")
    for person in (county_maintainer, neighbour_approver):
        with pytest.raises(ValidationError) as refused:
            duty_slot_add(
                actor=county_bureau_admin, region=rongjiang, user=person, tier=1, weekdays=[0],
                starts=time(8), ends=time(20),
            )  # fmt: skip
        assert "user" in refused.value.fields
    # A city approver may approve in the county (their grant covers it): they may stand in there.
    duty_slot_add(
        actor=county_bureau_admin,
        region=rongjiang,
        user=city_approver,
        tier=3,
        weekdays=[5],
        starts=time(0),
        ends=time(0),
    )
    with pytest.raises(ValidationError):
        duty_slot_add(
            actor=county_bureau_admin,
            region=rongjiang,
            user=city_approver,
            tier=1,
            weekdays=[],
            starts=time(0),
            ends=time(0),
        )
