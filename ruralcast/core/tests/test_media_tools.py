"""ffmpeg and ffprobe are found one way, and an upload is read as itself, never as a list of other
files (core.media_tools; docs/security.md, item 13)."""

import os
import stat
import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ruralcast.core.errors import ValidationError
from ruralcast.core.media_tools import playlist_kind, probe_upload, tool_path, untrusted_input_args


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def secret_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A recording elsewhere on the server (another region's, say) that no upload may reach."""
    path = tmp_path_factory.mktemp("elsewhere") / "secret.mp3"
    _ffmpeg("-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "libmp3lame", str(path))
    return path


def _hls_naming(target: Path, folder: Path) -> Path:
    upload = folder / "upload.part"
    upload.write_text(f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:3,\nfile://{target}\n#EXT-X-ENDLIST\n")
    return upload


def test_an_hls_playlist_naming_a_local_file_is_refused_by_its_content(secret_recording: Path, tmp_path: Path) -> None:
    upload = _hls_naming(secret_recording, tmp_path)
    with pytest.raises(ValidationError) as caught:
        probe_upload(upload, field="audio_file")
    assert caught.value.code == "playlist_refused" and list(caught.value.fields) == ["audio_file"]
    concat = tmp_path / "list.part"
    concat.write_text(f"\ufeff  ffconcat version 1.0\nfile '{secret_recording}'\n")
    with pytest.raises(ValidationError, match="ffconcat"):
        probe_upload(concat)
    assert playlist_kind(b"\n\n# made by hand\n#EXT-X-VERSION:3\n") == "HLS"
    assert playlist_kind(b'<?xml version="1.0"?><MPD>') == "XML"


def test_the_whitelists_alone_stop_ffprobe_following_a_playlist(secret_recording: Path, tmp_path: Path) -> None:
    """The second gate, without the first: what ffprobe did with such an upload, and does now."""
    upload = _hls_naming(secret_recording, tmp_path)
    probe = [tool_path("ffprobe"), "-v", "error", "-show_entries", "format=format_name,duration", "-of", "csv"]
    opened = subprocess.run([*probe, str(upload)], capture_output=True, text=True, timeout=30)
    assert opened.returncode == 0 and "hls" in opened.stdout  # it read the secret recording's 3 s
    guarded = subprocess.run([*probe[:1], *untrusted_input_args(), *probe[1:], str(upload)], capture_output=True)
    assert guarded.returncode != 0
    plain = subprocess.run(
        [*probe[:1], "-protocol_whitelist", "file", *probe[1:], str(upload)], capture_output=True, text=True
    )
    assert "hls" in plain.stdout  # `-protocol_whitelist file` alone is not enough: the named file is a file


@pytest.mark.parametrize(
    ("name", "make"),
    [
        ("song.mp3", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libmp3lame"]),
        ("tone.wav", ["-f", "lavfi", "-i", "sine=duration=1"]),
        ("voice.ogg", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "libopus"]),
        ("voice.m4a", ["-f", "lavfi", "-i", "sine=duration=1", "-c:a", "aac"]),
        ("clip.mp4", ["-f", "lavfi", "-i", "testsrc=size=64x48:duration=1", "-c:v", "libx264", "-pix_fmt", "yuv420p"]),
        ("clip.mkv", ["-f", "lavfi", "-i", "testsrc=size=64x48:duration=1", "-c:v", "libx264"]),
        ("clip.ts", ["-f", "lavfi", "-i", "testsrc=size=64x48:duration=1", "-c:v", "libx264"]),
        ("poster.png", ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"]),
        ("photo.jpg", ["-f", "lavfi", "-i", "testsrc=size=64x48", "-frames:v", "1"]),
    ],
)
def test_ordinary_media_passes_the_whitelists(name: str, make: list[str], tmp_path: Path) -> None:
    made = tmp_path / name
    _ffmpeg(*make, str(made))
    upload = tmp_path / "upload.part"  # stored without its name, as every app stores uploads
    os.replace(made, upload)
    info = probe_upload(upload)
    assert info is not None and info["streams"], name


@pytest.mark.django_db
def test_every_app_runs_the_ffmpeg_and_ffprobe_the_setting_names(
    settings, tmp_path: Path, county_station_operator, guzhou
) -> None:  # type: ignore[no-untyped-def]
    """One way to find the tools: wrappers that log and run the real ones see media's probe, a
    programme upload (probe and encode) and the live-voice encoder."""
    from ruralcast.broadcasting.services import programme_item_create_from_upload
    from ruralcast.live.stream import Encoder
    from ruralcast.media.probe import probe_file

    log = tmp_path / "calls.log"
    tools = {}
    for name in ("ffmpeg", "ffprobe"):
        wrapper = tmp_path / f"my-{name}"
        wrapper.write_text(f'#!/bin/sh\necho {name} >> "{log}"\nexec {tool_path(name)} "$@"\n')
        wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
        tools[name] = str(wrapper)
    settings.RURALCAST_MEDIA_TOOLS = tools
    tone = tmp_path / "tone.wav"
    _ffmpeg("-f", "lavfi", "-i", "sine=duration=1", str(tone))

    assert probe_file(tone).kind == "audio"
    assert log.read_text().split() == ["ffprobe"]
    upload = SimpleUploadedFile("tone.wav", tone.read_bytes(), content_type="audio/wav")
    programme_item_create_from_upload(actor=county_station_operator, owner_region=guzhou, title="音", upload=upload)
    assert log.read_text().split()[1:] == ["ffprobe", "ffmpeg", "ffprobe"]
    chunks: list[bytes] = []
    encoder = Encoder(lambda mp3, _at, _ms: chunks.append(mp3))
    encoder.feed(b"\x00\x00" * 16000, 0.0)
    encoder.close()
    assert log.read_text().split()[-1] == "ffmpeg" and chunks
