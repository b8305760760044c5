"""Playback: range requests and caching headers on media files; who may watch; signed links expire."""

import re
from typing import Any

import pytest
from django.test import Client

from ruralcast.accounts.roles import Role
from ruralcast.media import links
from ruralcast.media.models import Access, Asset
from ruralcast.media.services import AssetFields, asset_create_from_file


@pytest.fixture
def ready_asset(county_station_operator, rongjiang, media_samples, run_jobs) -> Any:
    def make(access: str = Access.PUBLIC, title: str = "Lesson") -> Asset:
        with run_jobs():
            asset = asset_create_from_file(
                actor=county_station_operator,
                owner_region=rongjiang,
                path=media_samples["video"],
                filename="lesson.mp4",
                fields=AssetFields(title=title, access=access, tags=["farming"]),
            )
        asset.refresh_from_db()
        assert asset.state == "ready"
        return asset

    return make


def test_media_files_answer_range_requests_with_caching_headers(ready_asset):
    asset = ready_asset()
    url = links.file_url(asset.uid, "hls/144p/seg_0000.ts")
    client = Client()
    whole = client.get(url)
    assert whole.status_code == 200 and whole["Content-Type"] == "video/mp2t"
    body = whole.content
    assert whole["Accept-Ranges"] == "bytes" and "max-age" in whole["Cache-Control"] and whole["ETag"]
    part = client.get(url, headers={"Range": "bytes=100-199"})
    assert part.status_code == 206 and part.content == body[100:200]
    assert part["Content-Range"] == f"bytes 100-199/{len(body)}"
    tail = client.get(url, headers={"Range": "bytes=-50"})
    assert tail.content == body[-50:]
    assert client.get(url, headers={"Range": f"bytes={len(body) + 5}-"}).status_code == 416
    assert client.get(url, headers={"If-None-Match": whole["ETag"]}).status_code == 304
    playlist = client.get(links.file_url(asset.uid, "hls/master.m3u8"))
    assert playlist["Content-Type"] == "application/vnd.apple.mpegurl"


def test_logged_in_assets_need_a_session(ready_asset, township_viewer):
    asset = ready_asset(access=Access.LOGGED_IN)
    url = links.file_url(asset.uid, "hls/master.m3u8")
    assert Client().get(url).status_code == 403
    assert Client().get(f"/media/a/{asset.uid}/").status_code in (302, 404)
    client = Client()
    client.force_login(township_viewer)
    assert client.get(url).status_code == 200


def test_region_restricted_assets_play_only_through_unexpired_signed_links(
    ready_asset, township_viewer, make_user, congjiang
):
    asset = ready_asset(access=Access.REGION)
    path = "hls/144p/index.m3u8"
    member = Client()
    member.force_login(township_viewer)  # 古州镇 lies in 榕江县, the owner region
    assert member.get(links.file_url(asset.uid, path)).status_code == 403, "no signature, no file"
    page = member.get(f"/media/a/{asset.uid}/")
    assert page.status_code == 200
    signed = page.context["player"]["hls"]
    assert signed != links.file_url(asset.uid, "hls/master.m3u8")
    assert member.get(signed).status_code == 200
    assert Client().get(links.file_url(links.signed_key(asset.uid), path)).status_code == 200
    expired = links.file_url(links.signed_key(asset.uid, seconds=-1), path)
    answer = Client().get(expired)
    assert answer.status_code == 403
    tampered_key = links.signed_key(asset.uid).rsplit(".", 1)[0] + ".forged"
    assert Client().get(links.file_url(tampered_key, path)).status_code == 403
    outsider = Client()
    outsider.force_login(make_user(role=Role.VIEWER, region=congjiang, username="congjiang-viewer"))
    assert outsider.get(f"/media/a/{asset.uid}/").status_code == 404


def test_the_player_page_and_embed_use_the_vendored_hls_js(ready_asset):
    asset = ready_asset()
    page = Client().get(f"/media/a/{asset.uid}/embed/")
    assert page.status_code == 200 and "X-Frame-Options" not in page
    assert b"vendor/hls/hls.min.js" in page.content and b"data-hls=" in page.content


def test_the_portal_player_loads_the_light_build_of_hls_js(ready_asset):
    """The TV's player needs no subtitles, alternative audio or DRM: the light build, 70 KB less gzip."""
    asset = ready_asset()
    page = Client().get(f"/portal/media/replay/{asset.uid}/")
    assert page.status_code == 200
    assert b"vendor/hls/hls.light.min.js" in page.content and b"vendor/hls/hls.min.js" not in page.content


def test_catalogue_filters_by_tag_kind_and_region_and_hides_other_regions(
    ready_asset, township_viewer, make_user, congjiang, media_samples, run_jobs
):
    farming = ready_asset(access=Access.REGION, title="Rice planting")
    client = Client()
    client.force_login(township_viewer)
    api = client.get("/api/v1/media/assets", {"tag": "farming"}).json()
    assert [item["uid"] for item in api["items"]] == [farming.uid]
    assert client.get("/api/v1/media/assets", {"tag": "farm"}).json()["count"] == 0, "whole tags only"
    assert client.get("/api/v1/media/assets", {"kind": "audio"}).json()["count"] == 0
    assert client.get("/api/v1/media/assets", {"region": "522633000000"}).json()["count"] == 0
    hls = client.get(f"/api/v1/media/assets/{farming.uid}").json()["hls_url"]
    assert client.get(hls).status_code == 200
    outsider = Client()
    outsider.force_login(make_user(role=Role.VIEWER, region=congjiang, username="congjiang-viewer"))
    assert outsider.get("/api/v1/media/assets").json()["count"] == 0
    page = client.get("/media/", {"view": "tv"})
    assert page.status_code == 200 and b"data-tv-item" in page.content and b"Rice planting" in page.content
    listing = client.get("/media/", {"q": "Rice"})
    assert listing.context["page_obj"].paginator.count == 1
    poster = re.search(rb'<img src="([^"]+poster.jpg)"', listing.content)
    assert poster and f"/media/f/{farming.uid}.".encode() in poster.group(1), "a signed poster link"
    assert client.get(poster.group(1).decode()).status_code == 200


def test_collections_keep_their_order(ready_asset, operator_client):
    first, second, third = (ready_asset(title=t) for t in ("One", "Two", "Three"))
    created = operator_client.post(
        "/api/v1/media/collections",
        {"title": "Spring farming course", "kind": "course", "owner_region": "522632000000"},
        content_type="application/json",
    )
    assert created.status_code == 201
    uid = created.json()["uid"]
    answer = operator_client.put(
        f"/api/v1/media/collections/{uid}/items",
        {"assets": [third.uid, first.uid, second.uid]},
        content_type="application/json",
    )
    assert answer.json()["assets"] == [third.uid, first.uid, second.uid]
    operator_client.post(f"/media/collections/{uid}/", {"asset": second.uid, "position": "1"})
    assert operator_client.get(f"/api/v1/media/collections/{uid}").json()["assets"] == [
        second.uid,
        third.uid,
        first.uid,
    ]
    tv = operator_client.get(f"/media/collections/{uid}/", {"view": "tv"})
    assert tv.content.index(b"Two") < tv.content.index(b"Three") < tv.content.index(b"One")


def test_collections_are_seen_only_by_those_who_may_watch_something_in_them_or_edit_there(
    ready_asset, operator_client, make_user, congjiang
):
    empty = operator_client.post(
        "/api/v1/media/collections",
        {"title": "Draft course", "kind": "course", "owner_region": "522632000000"},
        content_type="application/json",
    ).json()["uid"]
    restricted = ready_asset(access=Access.REGION, title="County only")
    course = operator_client.post(
        "/api/v1/media/collections",
        {"title": "County course", "kind": "course", "owner_region": "522632000000"},
        content_type="application/json",
    ).json()["uid"]
    operator_client.put(
        f"/api/v1/media/collections/{course}/items", {"assets": [restricted.uid]}, content_type="application/json"
    )
    titles = {c["title"] for c in operator_client.get("/api/v1/media/collections").json()["items"]}
    assert titles == {"Draft course", "County course"}  # the editor sees both, the empty one too

    outsider = Client()
    outsider.force_login(make_user(role=Role.VIEWER, region=congjiang, username="congjiang-viewer-2"))
    assert outsider.get("/api/v1/media/collections").json()["count"] == 0
    for uid in (empty, course):
        assert outsider.get(f"/api/v1/media/collections/{uid}").status_code == 404
        assert outsider.get(f"/media/collections/{uid}/").status_code == 404

    public = ready_asset(title="For everyone")
    operator_client.put(
        f"/api/v1/media/collections/{course}/items",
        {"assets": [restricted.uid, public.uid]},
        content_type="application/json",
    )
    seen = outsider.get(f"/api/v1/media/collections/{course}").json()
    assert seen["assets"] == [public.uid]  # the collection, with only what this viewer may watch
