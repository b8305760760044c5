"""Approval up the chain: county submits, city approves, province approves, national accepts; a
level approves only when every region below it has; sending back needs a reason and reopens entry."""

import pytest
from django.utils import timezone

from ruralcast.accounts.roles import Role
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.reporting.models import Approval, ApprovalState
from ruralcast.reporting.services import approval_accept, approval_advance, approval_revoke, values_save

PERIOD = "2026-03"
QIANDONGNAN = "522600000000"


@pytest.fixture
def qiandongnan(db):  # type: ignore[no-untyped-def]
    return region_get(code=QIANDONGNAN)


@pytest.fixture
def city_admin(make_user, qiandongnan):  # type: ignore[no-untyped-def]
    return make_user(role=Role.BUREAU_ADMIN, region=qiandongnan, username="qdn-bureau")


def _submit_all_counties_but(data_set, city, actor, skip=()):  # type: ignore[no-untyped-def]
    for county in Region.objects.filter(parent=city).exclude(code__in=skip):
        approval_advance(actor=actor, data_set=data_set, period=PERIOD, region=county)


def test_the_whole_chain_in_order(
    consumption_set,
    county_station_operator,
    city_admin,
    province_bureau_admin,
    national_bureau_admin,
    rongjiang,
    qiandongnan,
    guizhou,
    platform_admin,
):  # type: ignore[no-untyped-def]
    submitted = approval_advance(
        actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=rongjiang
    )
    assert submitted.state == ApprovalState.SUBMITTED
    with pytest.raises(Conflict) as caught:
        approval_advance(actor=city_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan)
    assert caught.value.code == "incomplete"
    _submit_all_counties_but(consumption_set, qiandongnan, platform_admin, skip=[rongjiang.code])
    assert (
        approval_advance(actor=city_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan).state
        == "approved"
    )
    with pytest.raises(Conflict):  # the other cities of Guizhou have not approved
        approval_advance(actor=province_bureau_admin, data_set=consumption_set, period=PERIOD, region=guizhou)
    for city in Region.objects.filter(parent=guizhou).exclude(code=QIANDONGNAN):
        _submit_all_counties_but(consumption_set, city, platform_admin)
        approval_advance(actor=platform_admin, data_set=consumption_set, period=PERIOD, region=city)
    approval_advance(actor=province_bureau_admin, data_set=consumption_set, period=PERIOD, region=guizhou)
    with pytest.raises(PermissionDenied):  # a province cannot accept its own report
        approval_accept(actor=province_bureau_admin, data_set=consumption_set, period=PERIOD, province=guizhou)
    accepted = approval_accept(actor=national_bureau_admin, data_set=consumption_set, period=PERIOD, province=guizhou)
    assert accepted.state == ApprovalState.ACCEPTED
    verbs = list(AuditEvent.objects.filter(verb__startswith="report.").values_list("verb", flat=True))
    assert verbs.count("report.approved") == 1 + Region.objects.filter(parent=guizhou).count()
    assert "report.accepted" in verbs


def test_a_county_cannot_submit_twice_or_for_its_neighbour(
    consumption_set, county_station_operator, rongjiang, congjiang
):  # type: ignore[no-untyped-def]
    approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=rongjiang)
    with pytest.raises(Conflict):
        approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=rongjiang)
    with pytest.raises(PermissionDenied):
        approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=congjiang)


def test_a_county_cannot_approve_for_its_city(consumption_set, county_bureau_admin, qiandongnan):  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        approval_advance(actor=county_bureau_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan)


def test_townships_and_villages_do_not_submit(consumption_set, county_station_operator, guzhou):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=guzhou)


def test_sending_back_needs_a_reason_and_reopens_entry(consumption_set, county_station_operator, city_admin, rongjiang):  # type: ignore[no-untyped-def]
    approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=rongjiang)
    with pytest.raises(ValidationError):
        approval_revoke(actor=city_admin, data_set=consumption_set, period=PERIOD, region=rongjiang, reason="  ")
    approval_revoke(
        actor=city_admin, data_set=consumption_set, period=PERIOD, region=rongjiang, reason="交易额与台账不符"
    )
    assert not Approval.objects.filter(region=rongjiang).exists()
    values_save(
        actor=county_station_operator,
        data_set=consumption_set,
        period=PERIOD,
        region=rongjiang,
        raw={"sales_volume": "1000"},
    )
    event = AuditEvent.objects.filter(verb="report.revoke").latest("seq")
    assert event.after == {"period": PERIOD, "reason": "交易额与台账不符"}


def test_a_step_cannot_be_sent_back_once_the_level_above_approved(
    consumption_set, county_station_operator, city_admin, platform_admin, rongjiang, qiandongnan
):  # type: ignore[no-untyped-def]
    _submit_all_counties_but(consumption_set, qiandongnan, platform_admin)
    approval_advance(actor=city_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan)
    with pytest.raises(Conflict):
        approval_revoke(actor=city_admin, data_set=consumption_set, period=PERIOD, region=rongjiang, reason="错")
    approval_revoke(actor=city_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan, reason="重新审核")
    approval_revoke(actor=city_admin, data_set=consumption_set, period=PERIOD, region=rongjiang, reason="错")


def test_a_neighbouring_county_cannot_send_back(
    consumption_set, county_station_operator, neighbour_county_bureau_admin, rongjiang
):  # type: ignore[no-untyped-def]
    approval_advance(actor=county_station_operator, data_set=consumption_set, period=PERIOD, region=rongjiang)
    with pytest.raises(PermissionDenied):
        approval_revoke(
            actor=neighbour_county_bureau_admin, data_set=consumption_set, period=PERIOD, region=rongjiang, reason="x"
        )


def test_the_national_level_can_return_an_accepted_report(
    consumption_set, platform_admin, national_bureau_admin, guizhou
):  # type: ignore[no-untyped-def]
    Approval.objects.create(
        data_set=consumption_set, period=PERIOD, region=guizhou, state="accepted", by=platform_admin, at=timezone.now()
    )
    approval_revoke(
        actor=national_bureau_admin, data_set=consumption_set, period=PERIOD, region=guizhou, reason="补充说明"
    )
    assert Approval.objects.get(region=guizhou).state == ApprovalState.APPROVED


def test_the_national_level_accepts_only_a_provinces_report_not_a_citys(
    consumption_set, city_admin, national_bureau_admin, qiandongnan, platform_admin
):  # type: ignore[no-untyped-def]
    """A city's approved report is one step below the province: "accepting" it (as the API let a
    national approver do) would mark a city's report as the end of the chain."""
    _submit_all_counties_but(consumption_set, qiandongnan, platform_admin)
    approval_advance(actor=city_admin, data_set=consumption_set, period=PERIOD, region=qiandongnan)
    with pytest.raises(ValidationError) as caught:
        approval_accept(actor=national_bureau_admin, data_set=consumption_set, period=PERIOD, province=qiandongnan)
    assert "region" in caught.value.fields
    approval = Approval.objects.get(data_set=consumption_set, period=PERIOD, region=qiandongnan)
    assert approval.state == ApprovalState.APPROVED
