"""Broadcasting pages in Chinese write weekdays, tiers and terminals as words, not numbers and codes."""

from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.broadcasting.models import PlaybackLog, ProgrammeItem, Schedule
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db


def test_a_weekday_slot_reads_monday_to_friday_not_python_numbers(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    make_item: Callable[..., ProgrammeItem],
    make_schedule: Callable[..., Schedule],
) -> None:
    item = make_item(rongjiang, 60, "天气")
    schedule = make_schedule(
        county_station_operator, rongjiang, [("07:00", item, {"recurrence": "weekdays", "weekdays": [0, 1, 2, 3, 4]})]
    )
    client.force_login(county_station_operator)
    page = client.get(f"/broadcasting/schedules/{schedule.pk}/").content.decode()
    assert "周一至周五" in page
    assert "(0, 1, 2, 3, 4)" not in page
    assert "0 (Monday)" not in page and "0（星期一）" not in page


def test_playback_logs_name_the_terminal_not_its_resource_code(
    client: Client, county_station_operator: User, dashizi: Region
) -> None:
    terminal = terminal_register(actor=None, village=dashizi, name="广场大喇叭", issue_credentials=False).terminal
    start = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
    PlaybackLog.objects.create(
        terminal_code=terminal.code, village=dashizi, slot_id=1, item_id=1, title="天气", scheduled_start=start,
        outcome="played", played_ms=125_000,
    )  # fmt: skip
    client.force_login(county_station_operator)
    page = client.get("/broadcasting/playlogs/").content.decode()
    assert "广场大喇叭" in page
    assert "2:05" in page
    assert terminal.code not in page


def test_the_library_writes_durations_as_minutes_and_seconds(
    client: Client, county_station_operator: User, rongjiang: Region, make_item: Callable[..., ProgrammeItem]
) -> None:
    make_item(rongjiang, 125.0, "农技讲座")
    make_item(rongjiang, 3725.0, "长篇评书")
    client.force_login(county_station_operator)
    page = client.get("/broadcasting/library/").content.decode()
    assert "2:05" in page and "1:02:05" in page
    assert "125.0 s" not in page and "3725.0 s" not in page


def test_the_effective_programme_says_the_tier_in_words_not_as_a_number(
    client: Client,
    county_station_operator: User,
    rongjiang: Region,
    dashizi: Region,
    make_item: Callable[..., ProgrammeItem],
    make_schedule: Callable[..., Schedule],
) -> None:
    item = make_item(rongjiang, 60, "天气")
    make_schedule(county_station_operator, rongjiang, [("07:00", item, {"recurrence": "daily"})])
    client.force_login(county_station_operator)
    answer = client.get("/broadcasting/effective/", {"village": dashizi.code, "day": "2026-03-02"})
    assert answer.status_code == 200
    page = answer.content.decode()
    row = page.split("data-effective")[1].split("</table>")[0]
    assert "县级" in row
    assert "<td>3</td>" not in row
    assert "3 county" not in page and "3 县" not in page
