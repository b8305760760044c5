"""The effective-schedule document of a village and its publication through the outbox."""

import base64
import io
from datetime import date, time

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from ruralcast_terminal.protocol import TrustList, open_envelope

from ruralcast.accounts.models import User
from ruralcast.broadcasting.documents import document_bytes, schedule_document
from ruralcast.broadcasting.models import ScheduleChange
from ruralcast.broadcasting.programme import local_today
from ruralcast.broadcasting.services import (
    OUTBOX_PUBLISH,
    SlotFields,
    schedule_update,
    schedules_refresh,
    slot_create,
    slot_delete,
)
from ruralcast.broadcasting.wiring import LEGACY_CLEAR
from ruralcast.messaging.dispatcher import payload_sign
from ruralcast.messaging.handlers import outbox_handler
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.services import outbox_prepare
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db

START = date(2026, 12, 2)


def _outbox_villages() -> list[list[str]]:
    """Per queued schedule row, the villages it sends a document to."""
    rows = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).order_by("id")
    return [sorted(ScheduleChange.objects.get(pk=int(row.key)).villages) for row in rows]


def test_document_lists_the_merged_programme_with_audio_and_tier(
    county_station_operator: User, rongjiang: Region, guzhou: Region, terminals, make_item, make_schedule
) -> None:
    news = make_item(rongjiang, 600.2, "县新闻")
    make_schedule(county_station_operator, rongjiang, [("07:00", news)], volume=80)
    make_schedule(
        county_station_operator,
        guzhou,
        [("07:05", make_item(guzhou, 60, "dropped")), ("12:00", make_item(guzhou, 60, "农技"))],
    )
    village = terminals["dashizi"][0].village

    document = schedule_document(village=village, start=START, version=7, days=2)

    assert document["kind"] == "schedule" and document["version"] == 7 and document["days"] == 2
    assert document["village"] == village.code and "terminal" not in document
    assert [(e["start"], e["title"], e["tier"]) for e in document["entries"]] == [
        ("2026-12-02T07:00:00+08:00", "县新闻", 3),
        ("2026-12-02T12:00:00+08:00", "农技", 4),
        ("2026-12-03T07:00:00+08:00", "县新闻", 3),
        ("2026-12-03T12:00:00+08:00", "农技", 4),
    ]
    first = document["entries"][0]
    assert first["volume"] == 80 and first["ms"] == 600_200 and first["region"] == rongjiang.code
    assert first["audio"]["sha256"] == news.audio_sha256 and first["audio"]["bytes"] == news.audio_bytes
    assert first["audio"]["seconds"] == 601
    assert first["audio"]["url"].endswith(f"/broadcasting/audio/{news.audio_sha256}.mp3")


def test_document_is_deterministic(
    county_station_operator: User, rongjiang: Region, terminals, make_item, make_schedule
) -> None:
    make_schedule(
        county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 600)), ("19:30", make_item(rongjiang, 90))]
    )
    village = terminals["liziyuan"][0].village_id

    first = document_bytes(schedule_document(village=village, start=START, version=3))
    second = document_bytes(schedule_document(village=village, start=START, version=3))

    assert first == second
    assert b" " not in first.replace("县".encode(), b"")[:20]  # canonical: no white space between tokens


def test_change_queues_documents_for_exactly_the_villages_whose_programme_changed(
    county_station_operator: User,
    village_broadcaster: User,
    rongjiang: Region,
    dashizi: Region,
    terminals,
    make_item,
    make_schedule,
) -> None:
    dashizi_codes = [dashizi.code]
    all_codes = sorted([dashizi.code, terminals["liziyuan"][0].village_id])
    county = make_schedule(county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 600))])
    assert _outbox_villages() == [all_codes]  # the county slot reaches both villages with terminals

    village = make_schedule(village_broadcaster, dashizi, [("18:00", make_item(dashizi, 60))])
    assert _outbox_villages()[-1] == dashizi_codes  # the village slot: only 大十字

    # A village slot lying under the county news is dropped: nobody's programme changes, nothing is sent.
    slot_create(actor=village_broadcaster, schedule=village, fields=SlotFields(time(7, 2), make_item(dashizi, 30, "b")))
    assert len(_outbox_villages()) == 2

    # Pausing the county schedule changes every terminal's programme.
    schedule_update(
        actor=county_station_operator,
        schedule=county,
        name=county.name,
        target_region=rongjiang,
        volume=70,
        active=False,
    )
    assert _outbox_villages()[-1] == all_codes


def test_outbox_handler_builds_one_retained_payload_per_village_on_its_region_topic(
    county_station_operator: User, guzhou: Region, terminals, make_item, make_schedule
) -> None:
    schedule = make_schedule(county_station_operator, guzhou, [("12:00", make_item(guzhou, 60))])
    row = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")

    messages = outbox_handler(OUTBOX_PUBLISH).build(row.key)  # type: ignore[union-attr]

    villages = sorted({t.village_id for group in terminals.values() for t in group})
    assert len(villages) == 2
    assert [m.topic for m in messages] == [f"rc/v1/down/r/{code}/schedule" for code in villages]
    for message, village in zip(messages, villages, strict=True):
        assert message.payload is not None
        assert message.retain and message.qos == 1 and message.payload["kind"] == "schedule"
        assert message.payload["village"] == village
        assert message.payload["version"] == int(row.key)
        assert message.payload["from"] == local_today().isoformat()
        assert [e["schedule"] for e in message.payload["entries"]] == [schedule.pk] * 3

    slot_delete(actor=county_station_operator, slot=schedule.slots.get())
    later = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    assert int(later.key) > int(row.key)
    emptied = outbox_handler(OUTBOX_PUBLISH).build(later.key)  # type: ignore[union-attr]
    assert all(m.payload is not None and m.payload["entries"] == [] for m in emptied)


def test_dispatcher_signs_each_document_so_that_a_terminal_verifies_the_exact_canonical_bytes(
    county_station_operator: User, guzhou: Region, terminals, make_item, make_schedule
) -> None:
    signing_key_generate(actor=None)
    make_schedule(county_station_operator, guzhou, [("12:00", make_item(guzhou, 60))])
    row = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    trust = TrustList.from_json(trust_list_build().to_json())

    prepared = outbox_prepare(message=row, sign=payload_sign)

    assert len(prepared) == 2  # one per village, not one per terminal
    for message in prepared:
        envelope, payload = open_envelope(base64.b64decode(message["payload_b64"]), trust)
        assert message["topic"] == f"rc/v1/down/r/{payload['village']}/schedule" and message["retain"]
        assert envelope.payload == document_bytes(payload)


def test_a_change_costs_the_same_queries_for_more_terminals_and_villages(
    county_station_operator: User, rongjiang: Region, dashizi: Region, terminals, make_item, make_schedule
) -> None:
    schedule = make_schedule(
        county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 60)), ("19:00", make_item(rongjiang, 9))]
    )
    handler = outbox_handler(OUTBOX_PUBLISH)
    assert handler is not None

    def change(volume: int) -> CaptureQueriesContext:
        with CaptureQueriesContext(connection) as queries:
            schedule_update(
                actor=county_station_operator, schedule=schedule, name=schedule.name, target_region=rongjiang,
                volume=volume, active=True,
            )  # fmt: skip
        return queries

    first_change = change(50)
    first = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    with CaptureQueriesContext(connection) as few:
        assert len(handler.build(first.key)) == 2
    for village in Region.objects.filter(parent=dashizi.parent).exclude(code=dashizi.code)[:3]:
        terminal_register(actor=None, village=village)
    for _ in range(5):
        terminal_register(actor=None, village=dashizi)
    second_change = change(60)
    second = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    with CaptureQueriesContext(connection) as many:
        built = handler.build(second.key)
    assert len(built) == len(ScheduleChange.objects.get(pk=int(second.key)).villages) > 2
    assert len(many.captured_queries) == len(few.captured_queries) <= 3
    assert len(second_change.captured_queries) == len(first_change.captured_queries)


def test_daily_refresh_sends_every_scheduled_terminal_once_a_day(
    county_station_operator: User, guzhou: Region, dashizi: Region, terminals, make_item, make_schedule
) -> None:
    assert schedules_refresh() is None  # no schedule yet
    make_schedule(county_station_operator, dashizi, [("18:00", make_item(dashizi, 60))])

    call_command("schedules_refresh", stdout=io.StringIO())

    refresh = ScheduleChange.objects.filter(verb="schedule.refresh").get()
    assert refresh.villages == [dashizi.code]
    assert OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH, key=str(refresh.pk)).exists()
    assert schedules_refresh() is None  # once a day


def test_the_legacy_clear_empties_every_active_terminals_own_retained_topic(terminals) -> None:
    messages = outbox_handler(LEGACY_CLEAR).build("format-1")  # type: ignore[union-attr]

    codes = sorted(t.code for group in terminals.values() for t in group)
    assert [(m.topic, m.payload, m.retain) for m in messages] == [(f"rc/v1/down/t/{c}", None, True) for c in codes]
