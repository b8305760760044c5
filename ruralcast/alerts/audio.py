"""The audio of an alert: spoken from its text (speech app) or an uploaded recording.

Either way the result is a small MP3 (≤ 32 kbit/s mono, fit for 4G villages) stored under its
SHA-256 in the default storage, so terminals can verify what they fetch and the audio endpoint can
be served by any static file server with long-lived caching.
"""

import base64
import hashlib
import logging
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.core.media_tools import probe_upload, tool_path, untrusted_input_args
from ruralcast.speech.errors import SpeechUnavailable
from ruralcast.speech.services import speech_synthesize

log = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_SECONDS = 600
AUDIO_PREFIX = "alerts/audio/"


@dataclass(frozen=True)
class StoredAudio:
    name: str
    sha256: str
    size: int
    seconds: float


def audio_attach(target: Any, audio: StoredAudio) -> None:
    """Record stored audio on an alert or a translation (their four audio fields); not saved here."""
    target.audio_name, target.audio_sha256, target.audio_bytes, target.audio_seconds = (
        audio.name,
        audio.sha256,
        audio.size,
        audio.seconds,
    )


def _probe_seconds(path: Path) -> float | None:
    """Duration in seconds if ffprobe finds an audio stream, else None (a playlist is refused)."""
    info = probe_upload(path, entries="format=duration:stream=codec_type", field="audio_file", timeout=30)
    if info is None or not any(stream.get("codec_type") == "audio" for stream in info.get("streams", [])):
        return None
    try:
        return float(info.get("format", {}).get("duration", 0))
    except (TypeError, ValueError):
        return None


def store_mp3(data: bytes, *, seconds: float) -> StoredAudio:
    digest = hashlib.sha256(data).hexdigest()
    name = f"{AUDIO_PREFIX}{digest}.mp3"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return StoredAudio(name=name, sha256=digest, size=len(data), seconds=seconds)


def audio_from_upload(upload: UploadedFile) -> StoredAudio:
    """Check by probing (not by file name) that the upload is audio, then make it a small MP3."""
    if upload.size and upload.size > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The recording is larger than 20 MB."), fields={"audio_file": [_("Too large.")]})
    with tempfile.TemporaryDirectory(prefix="rc-audio-") as folder:
        source = Path(folder) / "upload"
        with source.open("wb") as handle:
            for chunk in upload.chunks():
                handle.write(chunk)
        seconds = _probe_seconds(source)
        if seconds is None:
            raise ValidationError(
                _("The file is not a recording ffmpeg can read; upload an audio file (MP3, WAV, M4A, …)."),
                fields={"audio_file": [_("Not audio.")]},
            )
        if seconds > MAX_SECONDS:
            raise ValidationError(
                _("Alert recordings are limited to 10 minutes."), fields={"audio_file": [_("Too long.")]}
            )
        target = Path(folder) / "alert.mp3"
        result = subprocess.run(
            [
                tool_path("ffmpeg"),
                "-v",
                "error",
                "-y",
                *untrusted_input_args(),
                "-i",
                str(source),
                "-vn",
                "-ac",
                "1",
                "-ar",
                "22050",
                "-af",
                "loudnorm=I=-16:TP=-1.5",
                "-c:a",
                "libmp3lame",
                "-b:a",
                "32k",
                str(target),
            ],
            capture_output=True,
            timeout=120,
            check=False,
        )
        if result.returncode != 0:
            raise ValidationError(
                _("The recording could not be converted."), fields={"audio_file": [_("Unreadable audio.")]}
            )
        return store_mp3(target.read_bytes(), seconds=_probe_seconds(target) or seconds)


def spoken_text(*, title: str, text: str, drill: bool) -> str:
    """What the loudspeaker says. Drills and tests say so before and after, unmistakably."""
    body = f"{title}。{text}"
    if drill:
        return f"演练信息，演练信息。{body}。以上为演练信息，不是真实警报。"
    return body


def audio_from_text(*, title: str, text: str, drill: bool) -> StoredAudio:
    speech = speech_synthesize(text=spoken_text(title=title, text=text, drill=drill))
    with default_storage.open(speech.name, "rb") as handle:
        data = handle.read()
    return store_mp3(data, seconds=speech.duration)


# Said by every terminal before a drill's audio, whatever that audio is (an uploaded recording says
# nothing about being a drill): "Drill, drill. What follows is a drill, not a real alert."
DRILL_PREAMBLE_TEXT = "演练信息，演练信息。以下是演练，不是真实警报。"


def drill_preamble() -> dict[str, Any]:
    """The `preamble` member of a drill's payload (docs/protocols.md §4, rule 7a).

    Spoken at dispatch by the speech app (espeak-ng; cached by content, so synthesised once), and
    carried inline (base64) with its SHA-256 and length, inside the signed payload: a terminal
    plays it before the drill's audio, and refuses a drill whose preamble is missing or does not
    match. Raises SpeechUnavailable when it cannot be made: the dispatcher tries again later, and
    no drill goes out that terminals could not announce as one.
    """
    speech = speech_synthesize(text=DRILL_PREAMBLE_TEXT)
    with default_storage.open(speech.name, "rb") as handle:
        data = handle.read()
    return {
        "sha256": hashlib.sha256(data).hexdigest(),
        "bytes": len(data),
        "seconds": round(speech.duration, 2),
        "mime": "audio/mpeg",
        "inline": base64.b64encode(data).decode("ascii"),
    }


def drill_preamble_prepare() -> bool:
    """Speak the drill preamble now, into the speech cache, so that dispatch finds it made.

    `alert_submit` calls it for a drill, outside its transaction and before any approver acts: made
    at dispatch instead, the synthesis (espeak-ng, then ffmpeg's MP3 encoding: about 1 s on the
    2-core machine) lay between the approval and the broker and was ~85 % of approval-to-screen
    latency (issue 17 benchmark 1, docs/benchmarks.md). Best effort: when the engine fails now
    (returns False, logged), `drill_preamble` at dispatch tries again and raises as before, so no
    drill goes out that terminals could not announce as one.
    """
    try:
        speech_synthesize(text=DRILL_PREAMBLE_TEXT)
    except SpeechUnavailable as error:
        log.warning("drill preamble not spoken at submission (%s); dispatch will try again", error)
        return False
    return True
