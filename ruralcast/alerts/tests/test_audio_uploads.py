"""An alert's uploaded recording is read as itself, never as a playlist of other files (item 13)."""

import subprocess
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from ruralcast.alerts.audio import audio_from_upload
from ruralcast.core.errors import ValidationError


def test_an_hls_playlist_as_alert_audio_is_refused_by_its_content(tmp_path: Path) -> None:
    """ffmpeg would have made the named local recording into the alert's audio."""
    secret = tmp_path / "secret.mp3"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", "sine=duration=2", "-c:a", "libmp3lame", str(secret)],
        check=True,
    )
    playlist = f"#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:2,\nfile://{secret}\n#EXT-X-ENDLIST\n".encode()
    with pytest.raises(ValidationError) as caught:
        audio_from_upload(SimpleUploadedFile("warning.mp3", playlist, content_type="audio/mpeg"))
    assert caught.value.code == "playlist_refused" and list(caught.value.fields) == ["audio_file"]
