"""Forged traffic is counted per region, day and kind, shown by scope, and pages a county once a day."""

from collections.abc import Callable
from datetime import time
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Alert
from ruralcast.alerts.services import ReceiptIn, receipts_store
from ruralcast.notifications.models import Notification
from ruralcast.notifications.services import duty_slot_add
from ruralcast.regions.models import Region
from ruralcast.security.models import SecurityAlarm, SecurityCount, SecurityEvent, SecurityKind
from ruralcast.security.selectors import security_event_list, security_totals
from ruralcast.security.services import EVENTS_KEPT_PER_HOUR, SecurityEventIn, security_events_record

pytestmark = pytest.mark.django_db

DASHIZI_TERMINAL = "65226321000010314010401"  # village 522632100001 (荣江), serial 01
CONGJIANG_TERMINAL = "65226331000010314010401"  # a village of 从江, the neighbouring county


def _counts() -> dict[tuple[str, str], int]:
    return {(c.region_code, c.kind): c.count for c in SecurityCount.objects.all()}


def test_receipts_for_unknown_messages_and_forged_signature_rejections_are_counted_per_terminal_region(
    drafted: Alert,
) -> None:
    receipts_store(
        [
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id="9" * 35, event="received"),
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id="8" * 35, event="rejected", reason="bad_signature"),
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id=drafted.ebm_id, event="rejected", reason="unknown_key"),
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id=drafted.ebm_id, event="rejected", reason="revoked_key"),
            # Not forged traffic: a known message, refused for an honest reason, or received.
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id=drafted.ebm_id, event="rejected", reason="expired"),
            ReceiptIn(terminal_code=DASHIZI_TERMINAL, ebm_id=drafted.ebm_id, event="received"),
        ]
    )
    assert _counts() == {
        ("522632100001", SecurityKind.UNKNOWN_RECEIPT): 1,
        ("522632100001", SecurityKind.BAD_SIGNATURE): 1,
        ("522632100001", SecurityKind.UNKNOWN_KEY): 2,
    }
    assert set(SecurityEvent.objects.values_list("terminal_code", flat=True)) == {DASHIZI_TERMINAL}


def test_a_refused_login_is_counted_in_the_persons_home_region_and_an_unknown_name_without_one(
    client: Client, county_station_operator: User
) -> None:
    client.post(reverse("accounts:login"), {"username": county_station_operator.username, "password": "wrong"})
    client.post(reverse("accounts:login"), {"username": "nobody-here", "password": "wrong"})
    events = {(e.username, e.region_code, e.kind) for e in SecurityEvent.objects.all()}
    assert events == {
        (county_station_operator.username, county_station_operator.home_region_id, SecurityKind.LOGIN_REFUSED),
        ("nobody-here", "", SecurityKind.LOGIN_REFUSED),
    }


def test_a_county_sees_its_own_events_only_and_the_province_sees_both(
    county_bureau_admin: User, neighbour_county_bureau_admin: User, province_bureau_admin: User
) -> None:
    security_events_record(
        events=[
            SecurityEventIn(
                kind=SecurityKind.BAD_SIGNATURE, region_code="522632100001", terminal_code=DASHIZI_TERMINAL
            ),
            SecurityEventIn(
                kind=SecurityKind.BAD_SIGNATURE, region_code="522633100001", terminal_code=CONGJIANG_TERMINAL
            ),
            SecurityEventIn(kind=SecurityKind.LOGIN_REFUSED, username="nobody-here"),  # no region: the top only
        ]
    )

    def seen(user: User) -> set[str]:
        return set(security_event_list(user=user).values_list("region_code", flat=True))

    assert seen(county_bureau_admin) == {"522632100001"}
    assert seen(neighbour_county_bureau_admin) == {"522633100001"}
    assert seen(province_bureau_admin) == {"522632100001", "522633100001"}
    totals = {t.kind: (t.last_day, t.last_week) for t in security_totals(user=county_bureau_admin)}
    assert totals[SecurityKind.BAD_SIGNATURE] == (1, 1)
    assert totals[SecurityKind.LOGIN_REFUSED] == (0, 0)


@pytest.fixture
def on_duty(county_alert_approver: User, province_bureau_admin: User, rongjiang: Region) -> User:
    duty_slot_add(
        actor=province_bureau_admin, region=rongjiang, user=county_alert_approver, tier=1,
        weekdays=range(7), starts=time(0), ends=time(0),
    )  # fmt: skip
    return county_alert_approver


def test_the_threshold_pages_the_countys_duty_roster_once_per_day(settings: Any, on_duty: User) -> None:
    settings.RURALCAST_SECURITY = {"THRESHOLD": 3}
    forged = SecurityEventIn(
        kind=SecurityKind.REFUSED_PUBLISH, region_code="522632100001", terminal_code=DASHIZI_TERMINAL
    )
    security_events_record(events=[forged, forged])
    assert not SecurityAlarm.objects.exists()
    assert not Notification.objects.filter(kind="security.surge").exists()
    security_events_record(events=[forged])  # the third of the day
    security_events_record(events=[forged, forged, forged])  # more of the same window
    alarm = SecurityAlarm.objects.get()
    assert (alarm.region_code, alarm.total) == ("522632000000", 3)
    pages = Notification.objects.filter(kind="security.surge")
    assert list(pages.values_list("recipient", flat=True)) == [on_duty.pk]


def test_events_of_another_county_do_not_add_up_to_an_alarm(settings: Any, on_duty: User) -> None:
    settings.RURALCAST_SECURITY = {"THRESHOLD": 2}
    security_events_record(
        events=[
            SecurityEventIn(kind=SecurityKind.BAD_SIGNATURE, region_code="522632100001"),
            SecurityEventIn(kind=SecurityKind.BAD_SIGNATURE, region_code="522633100001"),
        ]
    )
    assert not SecurityAlarm.objects.exists()


def test_an_unknown_kind_is_not_recorded() -> None:
    assert security_events_record(events=[SecurityEventIn(kind="made_up", region_code="522632100001")]) == 0
    assert not SecurityEvent.objects.exists()


def test_the_prometheus_counter_shows_each_kind_per_county(client: Client) -> None:
    security_events_record(
        events=[
            SecurityEventIn(kind=SecurityKind.BAD_SIGNATURE, region_code="522632100001"),
            SecurityEventIn(kind=SecurityKind.BAD_SIGNATURE, region_code="522632100002"),
            SecurityEventIn(kind=SecurityKind.LOGIN_REFUSED),
        ]
    )
    text = client.get("/metrics").content.decode()
    assert 'ruralcast_security_events_total{county="522632000000",kind="bad_signature"} 2.0' in text
    assert 'ruralcast_security_events_total{county="",kind="login_refused"} 1.0' in text


def test_the_panel_shows_the_readers_events_and_exports_them(
    client: Client, county_bureau_admin: User, make_user: Callable[..., User], guzhou: Region
) -> None:
    security_events_record(
        events=[
            SecurityEventIn(kind=SecurityKind.UNKNOWN_KEY, region_code="522632100001", terminal_code=DASHIZI_TERMINAL),
            SecurityEventIn(
                kind=SecurityKind.UNKNOWN_KEY, region_code="522633100001", terminal_code=CONGJIANG_TERMINAL
            ),
        ]
    )
    client.force_login(county_bureau_admin)
    page = client.get(reverse("security:panel"))
    assert page.status_code == 200
    assert DASHIZI_TERMINAL in page.content.decode() and CONGJIANG_TERMINAL not in page.content.decode()
    export = client.get(reverse("security:export"))
    assert export.status_code == 200 and export["content-type"].startswith("text/csv")
    body = b"".join(export.streaming_content).decode("utf-8-sig")  # type: ignore[attr-defined]
    assert DASHIZI_TERMINAL in body and CONGJIANG_TERMINAL not in body
    client.force_login(make_user(role=Role.VIEWER, region=guzhou))
    assert client.get(reverse("security:panel")).status_code == 403
    assert client.get(reverse("security:export")).status_code == 403


def test_a_flood_is_counted_in_full_but_kept_only_up_to_the_cap(settings: Any) -> None:
    settings.RURALCAST_SECURITY = {"THRESHOLD": 10_000}
    flood = SecurityEventIn(kind=SecurityKind.UNKNOWN_RECEIPT, region_code="522632100001")
    security_events_record(events=[flood] * (EVENTS_KEPT_PER_HOUR - 1))
    security_events_record(events=[flood] * 5)
    assert SecurityCount.objects.get().count == EVENTS_KEPT_PER_HOUR + 4
    assert SecurityEvent.objects.count() == EVENTS_KEPT_PER_HOUR
