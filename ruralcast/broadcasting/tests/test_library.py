"""Library items through the real audio tools: espeak-ng for text, ffmpeg for uploads."""

import json
import subprocess
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.accounts.services import api_token_create
from ruralcast.broadcasting.models import ProgrammeItem, Source
from ruralcast.broadcasting.services import programme_item_create_from_text, programme_item_create_from_upload
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.regions.models import Region
from ruralcast.speech.encoding import audio_probe

pytestmark = pytest.mark.django_db


def _tone_wav(seconds: float = 1.5, volume: float = 0.05) -> bytes:
    """A quiet 440 Hz tone made by ffmpeg (so normalisation has something to raise)."""
    return subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-af", f"volume={volume}", "-ac", "2", "-f", "wav", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


def _loudness(path: Path) -> float:
    """Integrated loudness (LUFS) measured by ffmpeg's loudnorm in analysis mode."""
    done = subprocess.run(
        ["ffmpeg", "-v", "info", "-nostats", "-i", str(path), "-af", "loudnorm=print_format=json", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    report = done.stderr[done.stderr.rindex("{") :]
    return float(json.loads(report)["input_i"])


def _stored_files() -> set[str]:
    root = Path(settings.MEDIA_ROOT) / "programme"
    return {str(p) for p in root.rglob("*")} if root.exists() else set()


def test_text_becomes_a_spoken_item(county_station_operator: User, rongjiang: Region) -> None:
    item = programme_item_create_from_text(
        actor=county_station_operator, owner_region=rongjiang, title="县新闻", text="今天是2026年12月2日，榕江县新闻。",
        tags="新闻, 每日",
    )  # fmt: skip

    assert item.source == Source.SPEECH and item.tag_list == ["新闻", "每日"]
    assert item.audio_name == f"programme/audio/{item.audio_sha256}.mp3" and default_storage.exists(item.audio_name)
    assert 1.0 < item.audio_seconds < 20


def test_upload_is_normalised_to_a_small_mono_mp3(township_station_operator: User, guzhou: Region) -> None:
    upload = SimpleUploadedFile("tone.wav", _tone_wav(), content_type="audio/wav")

    item = programme_item_create_from_upload(
        actor=township_station_operator, owner_region=guzhou, title="音", upload=upload
    )

    path = Path(default_storage.path(item.audio_name))
    probe = audio_probe(path)
    assert probe["channels"] == 1 and probe["bitrate"] <= 32_000
    assert abs(probe["duration"] - 1.5) < 0.2 and abs(item.audio_seconds - probe["duration"]) < 0.01
    assert path.stat().st_size == item.audio_bytes
    assert abs(_loudness(path) - (-16.0)) < 3.0  # the quiet tone (about -35 LUFS) is raised to the target


def test_non_audio_upload_is_refused_and_nothing_is_kept(township_station_operator: User, guzhou: Region) -> None:
    before = _stored_files()
    fake = SimpleUploadedFile("song.mp3", b"%PDF-1.4 this is not a recording\n" * 200, content_type="audio/mpeg")

    with pytest.raises(ValidationError) as error:
        programme_item_create_from_upload(actor=township_station_operator, owner_region=guzhou, title="x", upload=fake)

    assert "audio_file" in error.value.fields
    assert not ProgrammeItem.objects.exists() and _stored_files() == before


def test_non_audio_upload_through_the_api_is_a_clear_400(township_station_operator: User, guzhou: Region) -> None:
    _token, secret = api_token_create(user=township_station_operator, name="t")
    before = _stored_files()
    response = Client().post(
        "/api/v1/broadcasting/items/upload",
        {"owner_region": guzhou.code, "title": "x", "file": SimpleUploadedFile("a.wav", b"RIFF....WAVEnot really")},
        headers={"Authorization": f"Bearer {secret}"},
    )
    assert response.status_code == 400, response.content
    assert list(response.json()["error"]["fields"]) == ["audio_file"]
    assert not ProgrammeItem.objects.exists() and _stored_files() == before


def test_a_playlist_naming_a_local_recording_is_refused_by_its_content(
    township_station_operator: User, guzhou: Region, tmp_path: Path
) -> None:
    """ffmpeg would have read the named file into the programme library; the name says .mp3."""
    secret = tmp_path / "secret.wav"
    secret.write_bytes(_tone_wav())
    before = _stored_files()
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\nfile://{secret}\n#EXT-X-ENDLIST\n".encode()
    upload = SimpleUploadedFile("song.mp3", playlist, content_type="audio/mpeg")

    with pytest.raises(ValidationError) as error:
        programme_item_create_from_upload(
            actor=township_station_operator, owner_region=guzhou, title="x", upload=upload
        )

    assert error.value.code == "playlist_refused" and "audio_file" in error.value.fields
    assert not ProgrammeItem.objects.exists() and _stored_files() == before


def test_viewer_cannot_add_to_the_library(township_viewer: User, guzhou: Region) -> None:
    with pytest.raises(PermissionDenied):
        programme_item_create_from_text(actor=township_viewer, owner_region=guzhou, title="x", text="你好")
