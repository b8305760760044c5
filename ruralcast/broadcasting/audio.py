"""The audio of programme items: spoken from text (speech app) or an uploaded recording.

Either way the result is a loudspeaker MP3 (32 kbit/s mono, 22.05 kHz, loudness-normalised to
−16 LUFS like the speech app's output) stored once in the default storage as
`programme/audio/<sha256>.mp3`, so terminals can verify what they fetch and cache it by its hash.

An upload is checked by probing its content with ffprobe (never by its name, through
`core.media_tools`: a playlist naming other files is refused): anything without an audio stream is
refused with a 400 and nothing of it is kept (it only ever lives in a temporary
folder that is removed on the way out).
"""

import hashlib
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.core.media_tools import probe_upload, tool_path, untrusted_input_args
from ruralcast.speech.encoding import MP3_FOR_LOUDSPEAKERS
from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.services import speech_synthesize

MAX_UPLOAD_BYTES = 100 * 1024 * 1024
MAX_SECONDS = 2 * 3600
AUDIO_PREFIX = "programme/audio/"


@dataclass(frozen=True)
class StoredAudio:
    name: str
    sha256: str
    size: int
    seconds: float


def audio_storage_name(sha256: str) -> str:
    return f"{AUDIO_PREFIX}{sha256}.mp3"


def _probe_seconds(path: Path) -> float | None:
    """Duration in seconds if ffprobe finds an audio stream, else None (a playlist is refused)."""
    info = probe_upload(path, entries="format=duration:stream=codec_type", field="audio_file", timeout=30)
    if info is None:
        return None
    try:
        if not any(stream.get("codec_type") == "audio" for stream in info.get("streams", [])):
            return None
        seconds = float(info.get("format", {}).get("duration", 0))
    except (TypeError, ValueError, AttributeError):
        return None
    return seconds if seconds > 0 else None


def store_mp3(data: bytes, *, seconds: float) -> StoredAudio:
    """Store MP3 bytes under their SHA-256 (once: the same bytes are never written twice)."""
    digest = hashlib.sha256(data).hexdigest()
    name = audio_storage_name(digest)
    if not default_storage.exists(name):
        saved = default_storage.save(name, ContentFile(data))
        if saved != name:  # a concurrent writer stored the identical bytes first
            default_storage.delete(saved)
    return StoredAudio(name=name, sha256=digest, size=len(data), seconds=round(seconds, 3))


def _not_audio() -> ValidationError:
    return ValidationError(
        _("The file is not a recording ffmpeg can read; upload an audio file (MP3, WAV, M4A, OGG, …)."),
        fields={"audio_file": [_("Not audio.")]},
    )


def audio_from_upload(upload: UploadedFile) -> StoredAudio:
    """Check by probing that the upload is audio, then normalise its loudness and make it a small MP3."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The recording is larger than 100 MB."), fields={"audio_file": [_("Too large.")]})
    encoding = MP3_FOR_LOUDSPEAKERS
    with tempfile.TemporaryDirectory(prefix="rc-programme-") as folder:
        source = Path(folder) / "upload"
        with source.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        seconds = _probe_seconds(source)
        if seconds is None:
            raise _not_audio()
        if seconds > MAX_SECONDS:
            raise ValidationError(
                _("Programme items are limited to two hours."), fields={"audio_file": [_("Too long.")]}
            )
        target = Path(folder) / "item.mp3"
        command = [
            tool_path("ffmpeg"), "-nostdin", "-v", "error", "-y", *untrusted_input_args(), "-i", str(source), "-vn",
            "-af", f"loudnorm=I={encoding.loudness_lufs}:TP={encoding.true_peak_db}:LRA=11",
            *encoding.mp3_output_args(), str(target),
        ]  # fmt: skip
        try:
            result = subprocess.run(command, capture_output=True, timeout=600, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise SpeechUnavailable(_("%(tool)s could not run.") % {"tool": "ffmpeg"}) from error
        if result.returncode != 0 or not target.exists() or target.stat().st_size == 0:
            raise _not_audio()
        encoded_seconds = _probe_seconds(target)
        if encoded_seconds is None:
            raise _not_audio()
        return store_mp3(target.read_bytes(), seconds=encoded_seconds)


def audio_from_text(*, text: str) -> StoredAudio:
    """Text read aloud by the speech app (its own cache), copied under the programme's hash address."""
    speech = speech_synthesize(text=text)
    with default_storage.open(speech.name, "rb") as handle:
        data = handle.read()
    return store_mp3(data, seconds=speech.duration)
