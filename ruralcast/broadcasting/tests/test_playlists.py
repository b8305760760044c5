"""Playlists: ordered library items played as one block (model, services, scope, precedence, the
document's expanded entries and the re-send of changed villages only)."""

from datetime import date, time

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.broadcasting.documents import schedule_document
from ruralcast.broadcasting.models import Playlist, PlaylistItem, ScheduleChange, ScheduleSlot
from ruralcast.broadcasting.programme import HIGHER_TIER, effective_programme
from ruralcast.broadcasting.selectors import access_playlist, playlist_list, slot_conflicts
from ruralcast.broadcasting.services import (
    OUTBOX_PUBLISH,
    SlotFields,
    playlist_create,
    playlist_delete,
    playlist_item_add,
    playlist_item_move,
    playlist_item_remove,
    playlist_items_set,
    playlist_update,
    schedule_create,
    slot_create,
    slot_update,
)
from ruralcast.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from ruralcast.messaging.handlers import outbox_handler
from ruralcast.messaging.models import OutboxMessage
from ruralcast.regions.models import Region
from ruralcast.terminals.services import terminal_register

pytestmark = pytest.mark.django_db

WEDNESDAY = date(2026, 12, 2)


def _playlist(actor: User, owner: Region, items: list, name: str = "晚间节目") -> Playlist:
    playlist = playlist_create(actor=actor, owner_region=owner, name=name, tags="晚间, 综合")
    return playlist_items_set(actor=actor, playlist=playlist, items=items)


def _titles(playlist: Playlist) -> list[str]:
    return [row.item.title for row in Playlist.objects.get(pk=playlist.pk).ordered_items()]


def _publish_rows() -> list[list[str]]:
    rows = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).order_by("id")
    return [sorted(ScheduleChange.objects.get(pk=int(row.key)).villages) for row in rows]


def test_playlist_keeps_its_items_in_order_and_sums_their_exact_lengths(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item
) -> None:
    a, b, c = make_item(rongjiang, 60.0004, "a"), make_item(guzhou, 30, "b"), make_item(dashizi, 10.5, "c")
    playlist = _playlist(county_station_operator, guzhou, [a, b])  # the county's item above, the township's own
    assert playlist.tag_list == ["晚间", "综合"]

    playlist_item_add(actor=county_station_operator, playlist=playlist, item=c)  # a village's item below
    playlist_item_add(actor=county_station_operator, playlist=playlist, item=b)  # the same item twice
    assert _titles(playlist) == ["a", "b", "c", "b"]
    assert Playlist.objects.get(pk=playlist.pk).total_seconds == pytest.approx(60.001 + 30 + 10.5 + 30)

    playlist_item_move(actor=county_station_operator, playlist=playlist, position=2, offset=-1)
    assert _titles(playlist) == ["a", "c", "b", "b"]
    playlist_item_move(actor=county_station_operator, playlist=playlist, position=0, offset=-1)  # already first
    assert _titles(playlist) == ["a", "c", "b", "b"]
    playlist_item_remove(actor=county_station_operator, playlist=playlist, position=3)
    assert _titles(playlist) == ["a", "c", "b"]
    assert list(PlaylistItem.objects.filter(playlist=playlist).values_list("position", flat=True)) == [0, 1, 2]

    with pytest.raises(ValidationError) as error:
        playlist_item_remove(actor=county_station_operator, playlist=playlist, position=3)
    assert "position" in error.value.fields
    playlist_update(actor=county_station_operator, playlist=playlist, name="周末节目", tags="")
    assert Playlist.objects.get(pk=playlist.pk).name == "周末节目"

    verbs = list(AuditEvent.objects.filter(region_code=guzhou.code).order_by("seq").values_list("verb", flat=True))
    assert verbs == ["playlist.create", "playlist.items", "playlist.items", "playlist.items", "playlist.items",
                     "playlist.items", "playlist.items", "playlist.update"]  # fmt: skip
    last_items = AuditEvent.objects.filter(verb="playlist.items").order_by("-seq").first()
    assert last_items is not None and last_items.before is not None
    assert last_items.before["items"] == [a.pk, c.pk, b.pk, b.pk]


def test_playlist_refuses_items_of_a_neighbour_and_bad_names_writing_nothing(
    county_station_operator: User, guzhou: Region, zhongcheng: Region, make_item
) -> None:
    own = make_item(guzhou, 30, "own")
    playlist = _playlist(county_station_operator, guzhou, [own])
    with pytest.raises(ValidationError) as error:
        playlist_item_add(actor=county_station_operator, playlist=playlist, item=make_item(zhongcheng, 30, "neighbour"))
    assert "items" in error.value.fields
    with pytest.raises(ValidationError):
        playlist_create(actor=county_station_operator, owner_region=guzhou, name="  ")
    with pytest.raises(ValidationError):
        playlist_items_set(actor=county_station_operator, playlist=playlist, items=[own] * 101)
    assert _titles(playlist) == ["own"] and Playlist.objects.count() == 1


def test_village_broadcaster_cannot_use_or_change_a_playlist_of_the_next_village(
    county_station_operator: User, village_broadcaster: User, dashizi: Region, liziyuan: Region, make_item
) -> None:
    neighbours = _playlist(county_station_operator, liziyuan, [make_item(liziyuan, 30)], name="梨子园")
    own_schedule = schedule_create(actor=village_broadcaster, owner_region=dashizi, target_region=dashizi, name="村")

    with pytest.raises(ValidationError) as error:
        slot_create(actor=village_broadcaster, schedule=own_schedule, fields=SlotFields(time(18), playlist=neighbours))
    assert "playlist" in error.value.fields
    with pytest.raises(PermissionDenied):
        playlist_item_add(actor=village_broadcaster, playlist=neighbours, item=make_item(dashizi, 5))
    with pytest.raises(PermissionDenied):
        playlist_create(actor=village_broadcaster, owner_region=liziyuan, name="x")
    with pytest.raises(NotFound):
        access_playlist(user=village_broadcaster, playlist_id=neighbours.pk)
    assert not own_schedule.slots.exists() and len(_titles(neighbours)) == 1

    mine = _playlist(village_broadcaster, dashizi, [make_item(dashizi, 20)], name="大十字")
    assert list(playlist_list(user=village_broadcaster)) == [mine]
    slot_create(actor=village_broadcaster, schedule=own_schedule, fields=SlotFields(time(18), playlist=mine))


def test_slot_plays_exactly_one_of_an_item_and_a_playlist(
    county_station_operator: User, guzhou: Region, make_item, make_schedule
) -> None:
    item = make_item(guzhou, 30)
    playlist = _playlist(county_station_operator, guzhou, [item])
    empty = playlist_create(actor=county_station_operator, owner_region=guzhou, name="空")
    schedule = make_schedule(county_station_operator, guzhou, [])
    changes = ScheduleChange.objects.count()

    for fields, field in [
        (SlotFields(time(9), item=item, playlist=playlist), "playlist"),
        (SlotFields(time(9)), "item"),
        (SlotFields(time(9), playlist=empty), "playlist"),
    ]:
        with pytest.raises(ValidationError) as error:
            slot_create(actor=county_station_operator, schedule=schedule, fields=fields)
        assert field in error.value.fields
    assert not schedule.slots.exists() and ScheduleChange.objects.count() == changes

    slot = slot_create(actor=county_station_operator, schedule=schedule, fields=SlotFields(time(9), item=item))
    slot_update(actor=county_station_operator, slot=slot, fields=SlotFields(time(9), playlist=playlist))
    slot.refresh_from_db()
    assert slot.item_id is None and slot.playlist_id == playlist.pk


def test_database_refuses_a_slot_with_both_or_neither(
    county_station_operator: User, guzhou: Region, make_item, make_schedule
) -> None:
    item = make_item(guzhou, 30)
    playlist = _playlist(county_station_operator, guzhou, [item])
    schedule = make_schedule(county_station_operator, guzhou, [])
    for item_value, playlist_value in [(item, playlist), (None, None)]:
        with pytest.raises(IntegrityError), transaction.atomic():
            ScheduleSlot.objects.create(schedule=schedule, start_time=time(9), item=item_value, playlist=playlist_value)


def test_a_playlist_block_is_kept_or_dropped_whole_by_the_higher_tier(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    county_block = _playlist(
        county_station_operator, rongjiang, [make_item(rongjiang, 60, f"县{n}") for n in range(3)], name="县节目"
    )
    village_block = _playlist(
        county_station_operator, dashizi, [make_item(dashizi, 60, "村1"), make_item(dashizi, 60, "村2")], name="村节目"
    )
    # The county block plays 07:00–07:03; a township slot at 07:02 overlaps its third item only.
    county = make_schedule(county_station_operator, rongjiang, [], name="县")
    slot_create(actor=county_station_operator, schedule=county, fields=SlotFields(time(7), playlist=county_block))
    make_schedule(county_station_operator, guzhou, [("07:02", make_item(guzhou, 30, "镇"))])
    # The village block starts first (06:59) but runs into the county block: the village block goes, whole.
    village = make_schedule(county_station_operator, dashizi, [], name="村")
    slot_create(actor=county_station_operator, schedule=village, fields=SlotFields(time(6, 59), playlist=village_block))

    heard = effective_programme(village=dashizi, day=WEDNESDAY)

    assert [(e.item_title, e.tier, e.ms) for e in heard.entries] == [("县节目", 3, 180_000)]
    assert [p.item_title for p in heard.entries[0].pieces()] == ["县0", "县1", "县2"]
    assert sorted((d.entry.item_title, d.reason, d.by.item_title) for d in heard.dropped) == [
        ("村节目", HIGHER_TIER, "县节目"),
        ("镇", HIGHER_TIER, "县节目"),
    ]
    # The conflict check sees the block too, before saving.
    conflicts = slot_conflicts(
        schedule=village, fields=SlotFields(time(7, 2, 10), playlist=village_block), start=WEDNESDAY, days=1
    )
    assert sorted((c.other.item_title, c.relation, c.yours_plays) for c in conflicts) == [
        ("县节目", "above", False),
        ("镇", "above", False),
    ]


def test_document_expands_a_block_into_consecutive_entries(
    county_station_operator: User, guzhou: Region, terminals, make_item, make_schedule
) -> None:
    first, second = make_item(guzhou, 10.0005, "第一"), make_item(guzhou, 20, "第二")
    playlist = _playlist(county_station_operator, guzhou, [first, second, first])
    schedule = make_schedule(county_station_operator, guzhou, [("12:00", make_item(guzhou, 5, "单曲"))], volume=60)
    slot = slot_create(
        actor=county_station_operator, schedule=schedule, fields=SlotFields(time(23, 59, 30), playlist=playlist)
    )

    entries = schedule_document(village=terminals["dashizi"][0].village, start=WEDNESDAY, version=1, days=1)["entries"]

    single, *pieces = entries
    assert "playlist" not in single and "position" not in single  # an item's entry is unchanged
    assert [(e["start"], e["ms"], e["title"], e["item"], e["position"]) for e in pieces] == [
        ("2026-12-02T23:59:30+08:00", 10_001, "第一", first.pk, 0),
        ("2026-12-02T23:59:40.001+08:00", 20_000, "第二", second.pk, 1),  # where the one before ends
        ("2026-12-03T00:00:00.001+08:00", 10_001, "第一", first.pk, 2),  # the block runs past midnight
    ]
    for piece, item in zip(pieces, [first, second, first], strict=True):
        assert piece["playlist"] == playlist.pk and piece["slot"] == slot.pk and piece["schedule"] == schedule.pk
        assert piece["volume"] == 60 and piece["tier"] == 4 and piece["region"] == guzhou.code
        assert piece["audio"]["sha256"] == item.audio_sha256 and piece["audio"]["bytes"] == item.audio_bytes
        assert piece["audio"]["url"].endswith(f"/broadcasting/audio/{item.audio_sha256}.mp3")
    assert pieces[0]["audio"]["seconds"] == 11


def test_changing_a_playlist_resends_only_the_villages_whose_programme_changed(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, terminals, make_item,
    make_schedule,
) -> None:  # fmt: skip
    dashizi_codes = [dashizi.code]  # one document per village, whatever its number of terminals
    a, b = make_item(guzhou, 30, "a"), make_item(guzhou, 40, "b")
    playlist = _playlist(county_station_operator, guzhou, [a, b])
    unused = _playlist(county_station_operator, guzhou, [a], name="unused")
    village = make_schedule(county_station_operator, dashizi, [], name="村")
    slot_create(actor=county_station_operator, schedule=village, fields=SlotFields(time(18), playlist=playlist))
    assert _publish_rows()[-1] == dashizi_codes
    rows = len(_publish_rows())

    playlist_item_move(actor=county_station_operator, playlist=playlist, position=1, offset=-1)
    assert len(_publish_rows()) == rows + 1 and _publish_rows()[-1] == dashizi_codes  # 大十字 only, not 梨子园
    assert ScheduleChange.objects.latest("id").verb == "playlist.items"
    document = schedule_document(village=terminals["dashizi"][0].village, start=WEDNESDAY, version=1, days=1)
    assert [e["title"] for e in document["entries"]] == ["b", "a"]

    playlist_items_set(actor=county_station_operator, playlist=unused, items=[a, b])  # no slot plays it
    playlist_update(actor=county_station_operator, playlist=playlist, name="改名", tags="")  # the name is not sent
    assert len(_publish_rows()) == rows + 1

    # Under a county block that covers it all day long, the village's playlist is dropped: changing it sends nothing.
    make_schedule(county_station_operator, rongjiang, [("17:00", make_item(rongjiang, 7200, "县长节目"))])
    rows = len(_publish_rows())
    playlist_item_add(actor=county_station_operator, playlist=playlist, item=a)
    assert len(_publish_rows()) == rows


def test_a_playlist_that_slots_play_cannot_be_deleted_or_emptied(
    county_station_operator: User, guzhou: Region, make_item, make_schedule
) -> None:
    item = make_item(guzhou, 30)
    playlist = _playlist(county_station_operator, guzhou, [item])
    schedule = make_schedule(county_station_operator, guzhou, [], name="镇午间")
    slot_create(actor=county_station_operator, schedule=schedule, fields=SlotFields(time(12), playlist=playlist))

    with pytest.raises(Conflict) as error:
        playlist_delete(actor=county_station_operator, playlist=playlist)
    assert "镇午间" in error.value.message
    with pytest.raises(ValidationError) as emptied:
        playlist_item_remove(actor=county_station_operator, playlist=playlist, position=0)
    assert "镇午间" in emptied.value.message
    assert _titles(playlist) == [item.title]

    schedule.slots.all().delete()
    pk = playlist.pk
    playlist_delete(actor=county_station_operator, playlist=playlist)
    assert not Playlist.objects.exists()
    assert AuditEvent.objects.filter(
        verb="playlist.delete", object_type="broadcasting.playlist", object_id=str(pk)
    ).exists()


def test_building_documents_with_a_playlist_costs_the_same_queries_for_more_terminals(
    county_station_operator: User, rongjiang: Region, dashizi: Region, terminals, make_item, make_schedule
) -> None:
    playlist = _playlist(county_station_operator, rongjiang, [make_item(rongjiang, 60, "a"), make_item(rongjiang, 9)])
    schedule = make_schedule(county_station_operator, rongjiang, [("07:00", make_item(rongjiang, 30, "c"))])
    slot_create(actor=county_station_operator, schedule=schedule, fields=SlotFields(time(19), playlist=playlist))
    handler = outbox_handler(OUTBOX_PUBLISH)
    assert handler is not None
    first = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    with CaptureQueriesContext(connection) as few:
        villages = len(handler.build(first.key))  # one document per village with terminals
    assert villages == len({t.village_id for group in terminals.values() for t in group})
    for _ in range(5):
        terminal_register(actor=None, village=dashizi)
    playlist_item_move(actor=county_station_operator, playlist=playlist, position=1, offset=-1)
    second = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).latest("id")
    with CaptureQueriesContext(connection) as many:
        built = handler.build(second.key)
    assert len(built) == villages and all(m.payload is not None and len(m.payload["entries"]) == 9 for m in built)
    assert len(many.captured_queries) == len(few.captured_queries) <= 5
