"""A live pushed by a real ffmpeg over HTTP PUT is watchable and becomes a replay asset; jobs run on
the real django-tasks database worker."""

import os
import subprocess
import time
import urllib.error
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.management import call_command
from django.utils import timezone

from ruralcast.accounts.roles import Role
from ruralcast.media.models import Access, Asset, AssetState, Job, JobState, LiveEvent, LiveStatus
from ruralcast.media.selectors import live_list, live_viewer_count
from ruralcast.media.services import (
    AssetFields,
    LiveFields,
    asset_create_from_file,
    live_create,
    live_end_if_idle,
    live_ingest,
)
from ruralcast.ops.middleware import loggable_path


def _get(url: str, agent: str = "test") -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"User-Agent": agent})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


@pytest.mark.slow
def test_a_live_pushed_by_ffmpeg_is_watchable_and_becomes_a_replay(asgi_server, county_station_operator, rongjiang):
    now = timezone.now()
    event = live_create(
        actor=county_station_operator,
        owner_region=rongjiang,
        fields=LiveFields(
            title="Village meeting", starts_at=now, ends_at=now + timedelta(hours=1), access=Access.PUBLIC
        ),
    )
    assert event.status == LiveStatus.WAITING
    url = asgi_server.url
    ingest = f"{url}/media/ingest/{event.uid}/{event.ingest_secret}/index.m3u8"
    wrong = _get(f"{url}/media/l/{event.uid}/index.m3u8")
    assert wrong[0] == 404, "nothing to watch before the studio starts"
    push = subprocess.Popen(
        [
            "ffmpeg", "-v", "error", "-nostdin", "-re",
            "-f", "lavfi", "-i", "testsrc=size=160x90:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "5", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0",
            "-hls_playlist_type", "event", "-method", "PUT", "-http_persistent", "1", ingest,
        ],
        stderr=subprocess.PIPE,
    )  # fmt: skip
    playlist_url = f"{url}/media/l/{event.uid}/index.m3u8"
    deadline = time.monotonic() + 15
    live_playlist = b""
    while time.monotonic() < deadline:
        status, live_playlist = _get(playlist_url, agent="viewer-1")
        if status == 200 and b".ts" in live_playlist:
            break
        time.sleep(0.3)
    assert b"#EXTM3U" in live_playlist and b"#EXT-X-ENDLIST" not in live_playlist
    _get(playlist_url, agent="viewer-2")
    with asgi_server.lock:
        event.refresh_from_db()
        assert event.status == LiveStatus.LIVE and event.went_live_at is not None
        assert live_viewer_count(event=event) == 2
    segment = next(line for line in live_playlist.decode().splitlines() if line.endswith(".ts"))
    assert _get(f"{url}/media/l/{event.uid}/{segment}")[0] == 200
    assert push.wait(timeout=60) == 0, push.stderr.read() if push.stderr else ""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # the last playlist (#EXT-X-ENDLIST) ends the live; the replay follows
        with asgi_server.lock:
            event.refresh_from_db()
            if event.replay_id and Asset.objects.get(pk=event.replay_id).state != AssetState.PROCESSING:
                break
        time.sleep(0.2)
    assert event.status == LiveStatus.ENDED
    assert event.replay_id, list(Job.objects.values("kind", "state", "error"))
    replay = Asset.objects.get(pk=event.replay_id)
    assert replay.origin == "live" and replay.state == AssetState.READY
    assert 4.0 <= replay.duration <= 6.0, "the replay is the broadcast, trimmed to what was pushed"
    assert Job.objects.filter(live_event=event, state=JobState.SUCCEEDED).exists()
    assert _get(f"{url}/media/f/{replay.uid}/hls/master.m3u8")[0] == 200


def test_the_ingest_refuses_a_wrong_secret(client, county_station_operator, rongjiang):
    now = timezone.now()
    event = live_create(
        actor=county_station_operator,
        owner_region=rongjiang,
        fields=LiveFields(title="Class", starts_at=now, ends_at=now + timedelta(hours=1)),
    )
    answer = client.put(f"/media/ingest/{event.uid}/not-the-secret/index.m3u8", b"#EXTM3U\n")
    assert answer.status_code == 403
    assert LiveEvent.objects.get(pk=event.pk).status == LiveStatus.WAITING


@pytest.mark.django_db(transaction=True)
def test_a_transcode_runs_on_the_real_database_worker(settings, county_station_operator, rongjiang, media_samples):
    settings.TASKS = {"default": {"BACKEND": "django_tasks_db.DatabaseBackend"}}
    asset = asset_create_from_file(
        actor=county_station_operator,
        owner_region=rongjiang,
        path=Path(media_samples["video"]),
        filename="lesson.mp4",
        fields=AssetFields(title="Queued"),
    )
    job = Job.objects.get(asset=asset)
    assert job.state == JobState.QUEUED and job.task_id, "enqueued on commit, waiting for a worker"
    call_command("db_worker", "--batch", "--no-startup-delay", "--no-reload", verbosity=0)
    job.refresh_from_db()
    asset.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.progress == 100
    assert asset.state == AssetState.READY


def test_a_region_restricted_live_is_for_its_audience_regions(
    county_station_operator, rongjiang, guzhou, make_user, zhongcheng
):
    now = timezone.now()
    event = live_create(
        actor=county_station_operator,
        owner_region=rongjiang,
        fields=LiveFields(
            title="Township class",
            starts_at=now,
            ends_at=now + timedelta(hours=1),
            access=Access.REGION,
            audience=[guzhou],
        ),
    )
    inside = make_user(role=Role.VIEWER, region=guzhou, username="guzhou-watcher")
    beside = make_user(role=Role.VIEWER, region=zhongcheng, username="zhongcheng-watcher")
    assert list(live_list(user=inside)) == [event]
    assert list(live_list(user=beside)) == []
    assert list(live_list(user=county_station_operator)) == [event], "its managers see it"


def test_a_live_the_studio_stopped_feeding_ends_and_is_replayed(county_station_operator, rongjiang, settings, run_jobs):
    now = timezone.now()
    event = live_create(
        actor=county_station_operator,
        owner_region=rongjiang,
        fields=LiveFields(title="Dropped", starts_at=now, ends_at=now + timedelta(hours=1)),
    )
    live_ingest(uid=event.uid, secret=event.ingest_secret, name="index.m3u8", stream=ContentFile(b"#EXTM3U\n"))
    event.refresh_from_db()
    assert live_end_if_idle(event=event).status == LiveStatus.LIVE
    old = time.time() - 60
    os.utime(default_storage.path(f"{event.folder}/index.m3u8"), (old, old))
    with run_jobs():
        assert live_end_if_idle(event=event).status == LiveStatus.ENDED
    job = Job.objects.get(live_event=event)
    assert job.state == JobState.FAILED and job.error_code == "replay_failed", "nothing playable was pushed"


def test_the_ingest_secret_is_kept_out_of_the_request_log():
    assert loggable_path("/media/ingest/abc123/s3cr3t-Token/index1.ts") == "/media/ingest/abc123/***/index1.ts"
    assert loggable_path("/media/l/abc123/index1.ts") == "/media/l/abc123/index1.ts"
