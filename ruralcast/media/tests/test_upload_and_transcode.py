"""Uploads are probed by content, stored and transcoded to an HLS ladder with progress."""

import json
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.test import Client
from django.utils import timezone, translation

from ruralcast.accounts.roles import Role
from ruralcast.media import transcode
from ruralcast.media.models import Asset, AssetState, Job, JobState, Kind, RenditionKind, Upload
from ruralcast.media.services import AssetFields, asset_create_from_file, job_retry, uploads_expire


def test_a_renamed_text_file_is_refused_and_nothing_is_kept(operator_client, api_upload, media_samples):
    answer = api_upload(operator_client, media_samples["text"], title="Not a video")
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error["code"] == "unsupported_media"
    assert "not a video" in error["message"]
    assert not Asset.objects.exists() and not Upload.objects.exists()
    assert list(Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"]).iterdir()) == []
    assert not Path(settings.MEDIA_ROOT).exists() or not any(Path(settings.MEDIA_ROOT).rglob("*.*"))


def test_a_chunk_at_the_wrong_offset_is_answered_with_the_offset_to_resume_from(operator_client, media_samples):
    data = media_samples["video"].read_bytes()
    started = operator_client.post(
        "/api/v1/media/uploads",
        {"owner_region": "522632000000", "filename": "x.mp4", "size": len(data), "title": "Resume"},
        content_type="application/json",
    ).json()
    url = started["upload_url"]
    first = operator_client.put(
        url, data[:1000], content_type="application/octet-stream", headers={"Content-Range": f"bytes 0-999/{len(data)}"}
    )
    assert first.json()["offset"] == 1000
    skipped = operator_client.put(
        url,
        data[5000:6000],
        content_type="application/octet-stream",
        headers={"Content-Range": f"bytes 5000-5999/{len(data)}"},
    )
    assert skipped.status_code == 409
    assert skipped.json()["error"]["fields"]["offset"] == ["1000"]
    assert operator_client.get(url).json()["offset"] == 1000


def test_a_neighbouring_county_operator_cannot_upload_into_our_county(make_user, congjiang, media_samples, api_upload):
    client = Client()
    client.force_login(make_user(role=Role.STATION_OPERATOR, region=congjiang, username="congjiang-op"))
    answer = client.post(
        "/api/v1/media/uploads",
        {"owner_region": "522632000000", "filename": "a.mp4", "size": 10, "title": "x"},
        content_type="application/json",
    )
    assert answer.status_code == 403


def _ffprobe(path: Path) -> dict[str, Any]:
    result = subprocess.run(
        ["ffprobe", "-v", "error", "-show_format", "-show_streams", "-of", "json", str(path)],
        capture_output=True, text=True, check=True, timeout=30,
    )  # fmt: skip
    return json.loads(result.stdout)


def test_a_ten_second_video_becomes_an_hls_ladder_that_ffprobe_reads(
    operator_client, api_upload, media_samples, run_jobs
):
    with run_jobs():
        answer = api_upload(
            operator_client, media_samples["video"], title="Rice planting lesson", tags=["farming", "rice"]
        )
    assert answer.status_code == 200, answer.json()
    uid = answer.json()["asset"]["uid"]
    asset = Asset.objects.get(uid=uid)
    assert asset.kind == Kind.VIDEO and asset.state == AssetState.READY
    assert asset.width == 256 and asset.height == 144 and 9.5 < asset.duration < 10.5
    job = Job.objects.get(asset=asset)
    assert job.state == JobState.SUCCEEDED and job.progress == 100 and job.error == ""
    names = {r.name: r for r in asset.renditions.all()}
    assert {"master", "90p", "144p", "audio", "poster"} <= set(names)
    assert "720p" not in names, "never upscale"
    assert names["audio"].kind == RenditionKind.HLS_AUDIO
    assert len([r for r in names.values() if r.kind == RenditionKind.THUMBNAIL]) == 3
    master = Path(default_storage.path(f"media/{uid}/hls/master.m3u8"))
    assert master.read_text().count("#EXT-X-STREAM-INF") == 3
    for rung, height in (("90p", 90), ("144p", 144)):
        info = _ffprobe(master.parent / rung / "index.m3u8")
        video = next(s for s in info["streams"] if s["codec_type"] == "video")
        assert video["codec_name"] == "h264" and video["height"] == height
        assert any(s["codec_name"] == "aac" for s in info["streams"])
        assert 9 < float(info["format"]["duration"]) < 11
    audio_only = _ffprobe(master.parent / "audio" / "index.m3u8")
    assert [s["codec_type"] for s in audio_only["streams"]] == ["audio"]
    assert asset.sha256 == __import__("hashlib").sha256(media_samples["video"].read_bytes()).hexdigest()


def test_the_poll_that_finds_the_transcode_done_swaps_the_player_into_the_asset_page(
    operator_client, api_upload, media_samples, run_jobs
):
    with run_jobs():
        answer = api_upload(operator_client, media_samples["audio"], title="Folk song")
    job = Job.objects.get(asset__uid=answer.json()["asset"]["uid"])
    poll = operator_client.get(f"/media/jobs/{job.pk}/").content.decode()
    assert 'id="asset-player" hx-swap-oob="true"' in poll and "<video" in poll and "data-hls=" in poll
    assert 'data-asset-state="ready"' in poll
    Job.objects.filter(pk=job.pk).update(state=JobState.RUNNING, progress=40)  # as the page saw it mid-way
    poll = operator_client.get(f"/media/jobs/{job.pk}/").content.decode()
    assert "hx-swap-oob" not in poll and 'hx-trigger="every 1s"' in poll


def test_ffmpeg_progress_is_reported_up_to_the_end(tmp_path, media_samples):
    seen: list[float] = []
    rungs = transcode.ladder_for(144)
    command = transcode.ladder_command(source=media_samples["video"], out=tmp_path, rungs=rungs, has_audio=True)
    transcode.run_with_progress(command, duration=10.0, report=seen.append, every=0)
    assert seen == sorted(seen) and seen[-1] >= 99


def test_audio_is_loudness_normalised_into_mp3_aac_and_hls(operator_client, api_upload, media_samples, run_jobs):
    with run_jobs():
        answer = api_upload(operator_client, media_samples["audio"], title="Folk song")
    asset = Asset.objects.get(uid=answer.json()["asset"]["uid"])
    assert asset.kind == Kind.AUDIO and asset.state == AssetState.READY
    kinds = set(asset.renditions.values_list("kind", flat=True))
    assert {RenditionKind.MP3, RenditionKind.AAC, RenditionKind.HLS_MASTER, RenditionKind.HLS_AUDIO} <= kinds
    mp3 = _ffprobe(Path(default_storage.path(f"media/{asset.uid}/audio.mp3")))
    assert mp3["streams"][0]["codec_name"] == "mp3"
    loud = subprocess.run(
        ["ffmpeg", "-nostdin", "-i", default_storage.path(f"media/{asset.uid}/audio.m4a"),
         "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    measured = json.loads(loud.stderr[loud.stderr.rindex("{") :])
    assert abs(float(measured["input_i"]) + 16) < 2.5


@pytest.mark.parametrize(("sample", "kind"), [("image", Kind.IMAGE), ("pdf", Kind.DOCUMENT)])
def test_pictures_and_documents_are_recognised_by_content(
    operator_client, api_upload, media_samples, run_jobs, sample, kind
):
    with run_jobs():
        answer = api_upload(operator_client, media_samples[sample], title="Leaflet")
    asset = Asset.objects.get(uid=answer.json()["asset"]["uid"])
    assert asset.kind == kind and asset.state == AssetState.READY


def test_a_failed_transcode_says_so_in_plain_words_and_a_retry_succeeds(
    operator_client, media_samples, run_jobs, county_station_operator, rongjiang
):
    original = media_samples["video"].read_bytes()
    with run_jobs():
        asset = asset_create_from_file(
            actor=county_station_operator,
            owner_region=rongjiang,
            path=media_samples["video"],
            filename="lesson.mp4",
            fields=AssetFields(title="Damaged on disk"),
        )
        # the stored original is damaged before the worker reads it
        Path(default_storage.path(asset.original_name)).write_bytes(original[: len(original) // 3][:2000])
    job = Job.objects.get(asset=asset)
    asset.refresh_from_db()
    assert job.state == JobState.FAILED and asset.state == AssetState.FAILED
    assert job.error_code == "transcode_failed" and "ffmpeg" in job.error
    with translation.override("en"):
        assert job.error_message.startswith("The file could not be converted for playback.")
    page = operator_client.get(f"/media/jobs/{job.pk}/")
    assert b"Retry" in page.content or "重试".encode() in page.content
    Path(default_storage.path(asset.original_name)).write_bytes(original)
    with run_jobs():
        job_retry(actor=county_station_operator, job=job)
    job.refresh_from_db()
    asset.refresh_from_db()
    assert job.state == JobState.SUCCEEDED and job.attempts == 2 and asset.state == AssetState.READY


def test_uploads_left_unfinished_for_two_days_are_forgotten(operator_client, media_samples):
    data = media_samples["video"].read_bytes()
    started = operator_client.post(
        "/api/v1/media/uploads",
        {"owner_region": "522632000000", "filename": "x.mp4", "size": len(data), "title": "Abandoned"},
        content_type="application/json",
    ).json()
    operator_client.put(
        started["upload_url"], data[:1000], content_type="application/octet-stream",
        headers={"Content-Range": f"bytes 0-999/{len(data)}"},
    )  # fmt: skip
    part = Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"]) / f"{started['id']}.part"
    assert part.stat().st_size == 1000
    assert uploads_expire(now=timezone.now() + timedelta(hours=47)) == 0
    assert uploads_expire(now=timezone.now() + timedelta(hours=49)) == 1
    assert not part.exists() and not Upload.objects.exists()


def test_an_hls_playlist_naming_a_local_recording_is_refused_and_nothing_is_kept(
    operator_client, api_upload, media_samples, tmp_path
):
    """ffprobe would have read the recording the playlist names and made it this user's asset."""
    playlist = tmp_path / "lesson.m3u8"
    playlist.write_text(
        f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:4,\nfile://{media_samples['audio']}\n#EXT-X-ENDLIST\n"
    )
    answer = api_upload(operator_client, playlist, title="Not a recording")
    assert answer.status_code == 400
    assert answer.json()["error"]["code"] == "playlist_refused" and "playlist" in answer.json()["error"]["message"]
    assert not Asset.objects.exists() and not Upload.objects.exists()
    assert list(Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"]).iterdir()) == []


def test_a_live_replay_reads_only_the_segments_the_studio_pushed(media_samples):
    from ruralcast.media.pipeline import _replay_playlist

    studio = (
        '#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:2\n#EXT-X-KEY:METHOD=AES-128,URI="file:///etc/key"\n'
        f"#EXTINF:2.0,\nseg_0001.ts\n#EXTINF:2.0,\n{media_samples['audio']}\n#EXTINF:2.0,\nfile:///etc/passwd\n"
        "#EXTINF:2.0,\n../other/seg_0002.ts\n#EXTINF:2.0,\nseg_0003.ts\n"
    )
    rebuilt = _replay_playlist(studio, segments={"seg_0001.ts", "seg_0002.ts", "index.m3u8"})
    assert [line for line in rebuilt.splitlines() if not line.startswith("#")] == ["seg_0001.ts"]
    assert "KEY" not in rebuilt and rebuilt.endswith("#EXT-X-ENDLIST\n")
