"""Playlists through the API and the console: the same services, scoped, 4xx with nothing half-written."""

from datetime import date

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.broadcasting.models import Playlist, ScheduleSlot
from ruralcast.broadcasting.services import playlist_create, playlist_items_set
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db

API = "/api/v1/broadcasting"


def _client(user: User) -> Client:
    _token, secret = api_token_create(user=user, name="t")
    return Client(headers={"Authorization": f"Bearer {secret}"})


def test_api_builds_orders_and_schedules_a_playlist(
    county_station_operator: User, rongjiang: Region, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    a, b, c = make_item(guzhou, 30, "a"), make_item(rongjiang, 40, "b"), make_item(guzhou, 5, "c")
    api = _client(county_station_operator)

    created = api.post(
        f"{API}/playlists", {"owner_region": guzhou.code, "name": "午间", "tags": ["农技"], "items": [a.pk, b.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert created.status_code == 201, created.content
    body = created.json()
    assert [(row["position"], row["item"]["title"]) for row in body["items"]] == [(0, "a"), (1, "b")]
    assert body["total_seconds"] == 70 and body["tags"] == ["农技"] and body["owner_region"] == guzhou.code
    playlist_id = body["id"]

    added = api.post(f"{API}/playlists/{playlist_id}/items", {"item": c.pk}, content_type="application/json")
    assert [row["item"]["title"] for row in added.json()["items"]] == ["a", "b", "c"]
    ordered = api.put(f"{API}/playlists/{playlist_id}/items", {"items": [c.pk, a.pk]}, content_type="application/json")
    assert ordered.status_code == 200 and [row["item"]["id"] for row in ordered.json()["items"]] == [c.pk, a.pk]
    renamed = api.put(f"{API}/playlists/{playlist_id}", {"name": "午间节目"}, content_type="application/json")
    assert renamed.json()["name"] == "午间节目" and renamed.json()["tags"] == []
    assert [p["name"] for p in api.get(f"{API}/playlists?q=午间").json()["items"]] == ["午间节目"]
    assert api.get(f"{API}/playlists?q=nothing").json()["count"] == 0

    schedule = make_schedule(county_station_operator, guzhou, [], name="镇")
    slot = api.post(
        f"{API}/schedules/{schedule.pk}/slots", {"start_time": "12:00", "playlist": playlist_id},
        content_type="application/json",
    )  # fmt: skip
    assert slot.status_code == 201, slot.content
    assert slot.json()["playlist"] == playlist_id and slot.json()["item"] is None

    heard = api.get(f"{API}/effective?village={dashizi.code}&day=2026-12-02").json()
    (block,) = heard["entries"]
    assert block["playlist"] == playlist_id and block["item"] is None and block["title"] == "午间节目"
    assert [(p["position"], p["title"], p["ms"]) for p in block["items"]] == [(0, "c", 5000), (1, "a", 30000)]
    assert block["items"][1]["start"] == "2026-12-02T12:00:05.000+08:00"
    assert block["end"] == "2026-12-02T12:00:35.000+08:00"

    refused = api.delete(f"{API}/playlists/{playlist_id}")
    assert refused.status_code == 409 and "镇" in refused.json()["error"]["message"]
    ScheduleSlot.objects.filter(playlist_id=playlist_id).delete()
    assert api.delete(f"{API}/playlists/{playlist_id}").status_code == 204


def test_api_refuses_bad_input_with_nothing_half_written(
    county_station_operator: User, village_broadcaster: User, guzhou: Region, dashizi: Region, zhongcheng: Region,
    make_item, make_schedule,
) -> None:  # fmt: skip
    own, neighbours = make_item(guzhou, 30, "own"), make_item(zhongcheng, 30, "neighbour")
    api = _client(county_station_operator)

    response = api.post(
        f"{API}/playlists", {"owner_region": guzhou.code, "name": "x", "items": [own.pk, neighbours.pk]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["fields"].get("items")
    assert not Playlist.objects.exists()  # not even the empty playlist
    response = api.post(
        f"{API}/playlists", {"owner_region": guzhou.code, "name": "x", "items": [own.pk, 999_999]},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 404 and not Playlist.objects.exists()

    playlist = playlist_items_set(
        actor=county_station_operator,
        playlist=playlist_create(actor=county_station_operator, owner_region=guzhou, name="p"),
        items=[own],
    )
    schedule = make_schedule(county_station_operator, guzhou, [], name="镇")
    both = api.post(
        f"{API}/schedules/{schedule.pk}/slots", {"start_time": "12:00", "playlist": playlist.pk, "item": own.pk},
        content_type="application/json",
    )  # fmt: skip
    assert both.status_code == 400 and set(both.json()["error"]["fields"]) == {"item", "playlist"}
    neither = api.post(f"{API}/schedules/{schedule.pk}/slots", {"start_time": "12:00"}, content_type="application/json")
    assert neither.status_code == 400 and not schedule.slots.exists()
    check = api.post(
        f"{API}/schedules/{schedule.pk}/check", {"start_time": "12:00", "playlist": playlist.pk},
        content_type="application/json",
    )  # fmt: skip
    assert check.status_code == 200 and check.json() == []

    # A village broadcaster neither sees the township's playlist nor changes it.
    village_api = _client(village_broadcaster)
    assert village_api.get(f"{API}/playlists/{playlist.pk}").status_code == 404
    put = village_api.put(f"{API}/playlists/{playlist.pk}/items", {"items": []}, content_type="application/json")
    assert put.status_code == 404
    own_village = make_schedule(village_broadcaster, dashizi, [], name="村")
    response = village_api.post(
        f"{API}/schedules/{own_village.pk}/slots", {"start_time": "18:00", "playlist": playlist.pk},
        content_type="application/json",
    )  # fmt: skip
    assert response.status_code == 404 and not own_village.slots.exists()
    assert [row.item_id for row in Playlist.objects.get(pk=playlist.pk).ordered_items()] == [own.pk]


def test_console_playlist_pages_add_reorder_remove_and_refuse_deleting_a_used_playlist(
    county_station_operator: User, guzhou: Region, dashizi: Region, make_item, make_schedule
) -> None:
    a, b = make_item(guzhou, 30, "早安歌"), make_item(guzhou, 60, "农技讲座")
    make_item(guzhou, 10, "天气")
    client = Client()
    client.force_login(county_station_operator)

    assert client.get("/broadcasting/playlists/new/").status_code == 200
    bad = client.post("/broadcasting/playlists/new/", {"owner_region": guzhou.code, "name": "", "tags": ""})
    assert bad.status_code == 400 and not Playlist.objects.exists()
    response = client.post(
        "/broadcasting/playlists/new/", {"owner_region": guzhou.code, "name": "午间", "tags": "农技"}
    )
    assert response.status_code == 302
    playlist = Playlist.objects.get()
    url = f"/broadcasting/playlists/{playlist.pk}/"

    found = client.get(f"{url}?q=农技").content.decode()
    assert "农技讲座" in found and "天气" not in found.split("data-candidates")[1]
    change = f"{url}change/"
    assert client.post(change, {"action": "add", "item": a.pk}).status_code == 302
    assert (
        client.post(change, {"action": "add", "item": b.pk, "q": "农技"})["Location"] == f"{url}?q=%E5%86%9C%E6%8A%80"
    )
    assert client.post(change, {"action": "down", "position": 0}).status_code == 302
    assert [row.item_id for row in Playlist.objects.get().ordered_items()] == [b.pk, a.pk]
    page = client.get(url).content.decode()
    assert "1:30" in page and page.index("农技讲座") < page.index("早安歌")
    assert client.post(change, {"action": "up", "position": 1}).status_code == 302
    assert client.post(change, {"action": "remove", "position": 0}).status_code == 302
    assert [row.item_id for row in Playlist.objects.get().ordered_items()] == [b.pk]
    assert client.post(change, {"action": "remove", "position": 5}).status_code == 400
    assert client.post(change, {"action": "jump"}).status_code == 400
    assert client.post(change, {"action": "add", "item": 999_999}).status_code == 404

    schedule = make_schedule(county_station_operator, guzhou, [], name="镇午间")
    form = client.get(f"/broadcasting/schedules/{schedule.pk}/slots/new/").content.decode()
    assert 'name="playlist"' in form and "午间 (60 s)" in form
    check = client.post(
        f"/broadcasting/schedules/{schedule.pk}/slots/check/",
        {"start_time": "12:00", "playlist": playlist.pk, "recurrence": "daily"},
    )
    assert b"data-no-conflicts" in check.content
    both = client.post(
        f"/broadcasting/schedules/{schedule.pk}/slots/new/",
        {"start_time": "12:00", "playlist": playlist.pk, "item": a.pk, "recurrence": "daily"},
    )
    assert both.status_code == 400 and not schedule.slots.exists()
    saved = client.post(
        f"/broadcasting/schedules/{schedule.pk}/slots/new/",
        {"start_time": "12:00", "playlist": playlist.pk, "recurrence": "daily"},
    )
    assert saved.status_code == 302 and schedule.slots.get().playlist_id == playlist.pk
    assert b"data-playlist" in client.get(f"/broadcasting/schedules/{schedule.pk}/").content
    heard = client.get(f"/broadcasting/effective/?village={dashizi.code}&day={date(2026, 12, 2)}").content.decode()
    assert 'data-playlist="' in heard and "data-pieces" in heard and "农技讲座" in heard

    refused = client.post(f"{url}delete/")
    assert refused.status_code == 409 and "镇午间" in refused.content.decode()
    assert Playlist.objects.exists()
    for page_url in ("/broadcasting/playlists/", "/broadcasting/playlists/?q=午间", f"{url}edit/", url):
        assert client.get(page_url).status_code == 200, page_url
    assert client.post(f"{url}edit/", {"name": "午间节目", "tags": ""}).status_code == 302
    assert Playlist.objects.get().name == "午间节目"


def test_console_hides_playlists_of_other_regions_and_their_controls(
    county_station_operator: User, township_viewer: User, village_broadcaster: User, guzhou: Region, make_item
) -> None:
    playlist = playlist_create(actor=county_station_operator, owner_region=guzhou, name="镇")
    playlist_items_set(actor=county_station_operator, playlist=playlist, items=[make_item(guzhou, 30)])
    viewer, village = Client(), Client()
    viewer.force_login(township_viewer)
    village.force_login(village_broadcaster)

    page = viewer.get(f"/broadcasting/playlists/{playlist.pk}/")
    assert page.status_code == 200 and b"data-remove" not in page.content and b"data-candidates" not in page.content
    assert (
        viewer.post(f"/broadcasting/playlists/{playlist.pk}/change/", {"action": "remove", "position": 0}).status_code
        == 403
    )
    assert village.get(f"/broadcasting/playlists/{playlist.pk}/").status_code == 404
    assert "镇" not in village.get("/broadcasting/playlists/").content.decode().split("data-playlists")[1]
    assert len(Playlist.objects.get().ordered_items()) == 1


def test_a_library_item_is_renamed_and_deleted_unless_a_schedule_or_playlist_uses_it(
    county_station_operator: User, village_broadcaster: User, guzhou: Region, make_item, make_schedule
) -> None:
    used, free = make_item(guzhou, 30, "早安歌"), make_item(guzhou, 10, "天气")
    playlist_items_set(
        actor=county_station_operator,
        playlist=playlist_create(actor=county_station_operator, owner_region=guzhou, name="午间"),
        items=[used],
    )
    make_schedule(county_station_operator, guzhou, [("07:00", used)], name="古州镇日常")
    api = _client(county_station_operator)

    renamed = api.put(f"{API}/items/{used.pk}", {"title": "早安", "tags": ["音乐"]}, content_type="application/json")
    assert renamed.status_code == 200 and renamed.json()["title"] == "早安" and renamed.json()["tags"] == ["音乐"]
    blank = api.put(f"{API}/items/{used.pk}", {"title": " "}, content_type="application/json")
    assert blank.status_code == 400 and "title" in blank.json()["error"]["fields"]
    refused = api.delete(f"{API}/items/{used.pk}")
    assert refused.status_code == 409
    message = refused.json()["error"]["message"]
    assert "古州镇日常" in message and "午间" in message
    assert _client(village_broadcaster).delete(f"{API}/items/{free.pk}").status_code == 404  # out of reach

    client = Client()
    client.force_login(county_station_operator)
    library = client.get("/broadcasting/library/").content.decode()
    assert f"/broadcasting/library/{used.pk}/edit/" in library
    page = client.get(f"/broadcasting/library/{used.pk}/edit/").content.decode()
    assert "古州镇日常" in page and "午间" in page and "disabled" in page
    assert "节目单: <a" in page and "安排直播" not in page  # a schedule, not "schedule a live"
    kept = client.post(f"/broadcasting/library/{used.pk}/edit/", {"title": "", "tags": "x"})
    assert kept.status_code == 400 and 'value="x"' in kept.content.decode()  # input kept
    shown = client.post(f"/broadcasting/library/{used.pk}/delete/")
    assert shown.status_code == 409 and "古州镇日常" in shown.content.decode()
    assert client.post(f"/broadcasting/library/{used.pk}/edit/", {"title": "晨曲", "tags": ""}).status_code == 302
    assert client.post(f"/broadcasting/library/{free.pk}/delete/").status_code == 302
    assert not type(free).objects.filter(pk=free.pk).exists()
    assert type(used).objects.get(pk=used.pk).title == "晨曲"
