"""Room for uploads: quotas per person and per county, and the free-space floor of the disks that
hold the platform's state, refused with 507 before anything is written (media.quotas, core.disk)."""

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

from ruralcast.accounts.roles import Role
from ruralcast.media.models import Asset, Upload
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def _start(client: Client, size: int, region: str = "522632000000", name: str = "lesson.mp4"):  # type: ignore[no-untyped-def]
    return client.post(
        "/api/v1/media/uploads",
        {"owner_region": region, "filename": name, "size": size, "title": name},
        content_type="application/json",
    )


def _put(client: Client, url: str, data: bytes, start: int, total: int):  # type: ignore[no-untyped-def]
    end = start + len(data) - 1
    return client.put(
        url, data, content_type="application/octet-stream", headers={"Content-Range": f"bytes {start}-{end}/{total}"}
    )


def _part_files() -> list[Path]:
    folder = Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"])
    return sorted(folder.iterdir()) if folder.exists() else []


def test_a_person_over_their_quota_is_refused_with_507_and_nothing_is_written(
    operator_client, api_upload, media_samples, media_settings, settings
):  # type: ignore[no-untyped-def]
    audio = media_samples["audio"]
    settings.RURALCAST_MEDIA = {**media_settings, "USER_QUOTA_BYTES": audio.stat().st_size * 3 // 2}
    assert api_upload(operator_client, audio).status_code == 200  # the first fits
    refused = _start(operator_client, audio.stat().st_size)
    assert refused.status_code == 507, refused.content
    error = refused.json()["error"]
    assert error["code"] == "quota_exceeded" and "your upload quota" in error["message"]
    assert Upload.objects.filter(state="receiving").count() == 0 and _part_files() == []
    assert Asset.objects.count() == 1


def test_the_county_quota_counts_uploads_still_arriving_and_ends_at_the_county(
    operator_client, make_user, rongjiang, congjiang, media_settings, settings
):  # type: ignore[no-untyped-def]
    settings.RURALCAST_MEDIA = {**media_settings, "REGION_QUOTA_BYTES": 1_000_000, "USER_QUOTA_BYTES": 0}
    assert _start(operator_client, 600_000, region="522632100000").status_code == 201  # a township of 榕江县
    colleague = Client()
    colleague.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    colleague.force_login(make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-op-2"))
    refused = _start(colleague, 600_000, region="522632100001")  # a village of that township: same county
    assert refused.status_code == 507 and "the quota of 榕江县" in refused.json()["error"]["message"]
    neighbour = Client()
    neighbour.force_login(make_user(role=Role.STATION_OPERATOR, region=congjiang, username="congjiang-op"))
    assert _start(neighbour, 600_000, region=congjiang.code).status_code == 201  # its own county, its own quota


def test_the_free_space_floor_refuses_at_the_start_and_before_any_chunk(operator_client, media_samples, settings):  # type: ignore[no-untyped-def]
    data = media_samples["video"].read_bytes()
    settings.RURALCAST_DISK_FREE_PERCENT = 100  # as if the disk of SQLite, keys and broker were full
    refused = _start(operator_client, len(data))
    assert refused.status_code == 507 and refused.json()["error"]["code"] == "insufficient_storage"
    assert "kept free" in refused.json()["error"]["message"] and not Upload.objects.exists()

    settings.RURALCAST_DISK_FREE_PERCENT = 0
    url = _start(operator_client, len(data)).json()["upload_url"]
    assert _put(operator_client, url, data[:20_000], 0, len(data)).json()["offset"] == 20_000
    settings.RURALCAST_DISK_FREE_PERCENT = 100  # the disk filled up while the upload was under way
    full = _put(operator_client, url, data[20_000:40_000], 20_000, len(data))
    assert full.status_code == 507
    (part,) = _part_files()
    assert part.stat().st_size == 20_000 and operator_client.get(url).json()["offset"] == 20_000  # nothing half-written
    settings.RURALCAST_DISK_FREE_PERCENT = 0  # space freed: the same chunk goes on from there
    assert _put(operator_client, url, data[20_000:40_000], 20_000, len(data)).json()["offset"] == 40_000


def test_the_upload_page_shows_the_limits_before_anything_is_sent(
    operator_client, county_station_operator, media_settings, settings
):  # type: ignore[no-untyped-def]
    county_station_operator.home_region = Region.objects.get(code="522632100001")  # a village of 榕江县
    county_station_operator.save(update_fields=["home_region"])
    settings.RURALCAST_MEDIA = {**media_settings, "MAX_UPLOAD_BYTES": 4 * 1024**3}
    page = operator_client.get("/media/upload/").content.decode()
    assert "at most 4.0\xa0GB" in page
    assert "Your uploads" in page and "50.0\xa0GB" in page  # the default quota per person
    assert "Uploads of 榕江县" in page and "200.0\xa0GB" in page
    assert "Server disk (database, keys, broker)" in page and "kept free" in page
