"""What a file really is, found by probing its content (ffprobe and magic bytes), never its name.

`probe_file` returns the kind (video, audio, image, document) and the technical metadata, or raises
`ValidationError` with a message for the person who uploaded it. ffprobe runs through
`core.media_tools.probe_upload`: a playlist or list naming other files is refused by its content,
and only demuxers that read the upload alone are allowed (docs/security.md, item 13).
"""

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from django.utils.translation import gettext as _

from ruralcast.core.errors import ValidationError
from ruralcast.core.media_tools import probe_upload
from ruralcast.media.models import Kind

# Still-image codecs ffprobe reports for pictures; a one-frame "video" in these is an image.
IMAGE_CODECS = frozenset({"png", "mjpeg", "webp", "gif", "bmp", "tiff", "jpeg2000"})
# Containers ffprobe "finds" in arbitrary bytes (plain text, ANSI art): never media.
BOGUS_FORMATS = frozenset({"tty", "txt", "ass", "srt", "subviewer", "webvtt", "lrc", "mpl2", "jacosub"})
DOCUMENT_MAGIC = {b"%PDF-": "pdf"}


@dataclass
class ProbeResult:
    kind: str
    format_name: str
    duration: float = 0.0
    width: int = 0
    height: int = 0
    video_codec: str = ""
    audio_codec: str = ""
    has_audio: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


def _refuse() -> ValidationError:
    return ValidationError(
        _(
            "This file is not a video, audio recording, picture or PDF document that we can read "
            "(its content was checked, not its name). Nothing was kept."
        ),
        fields={"file": [_("Unrecognised content.")]},
        code="unsupported_media",
    )


def probe_file(path: Path) -> ProbeResult:
    with path.open("rb") as handle:
        head = handle.read(16)
    for magic, name in DOCUMENT_MAGIC.items():
        if head.startswith(magic):
            return ProbeResult(kind=Kind.DOCUMENT, format_name=name)
    info = probe_upload(path)
    if not info:
        raise _refuse()
    fmt = info.get("format", {})
    format_name = str(fmt.get("format_name", ""))
    if not format_name or set(format_name.split(",")) & BOGUS_FORMATS:
        raise _refuse()
    streams = info.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video" and not s.get("disposition", {}).get("attached_pic")]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    try:
        duration = float(fmt.get("duration") or 0)
    except (TypeError, ValueError):
        duration = 0.0
    result = ProbeResult(kind="", format_name=format_name, duration=duration, raw=info)
    if audio:
        result.has_audio = True
        result.audio_codec = str(audio[0].get("codec_name", ""))
    if video:
        stream = video[0]
        result.video_codec = str(stream.get("codec_name", ""))
        result.width, result.height = int(stream.get("width") or 0), int(stream.get("height") or 0)
        if not result.width or not result.height:
            raise _refuse()
        still = result.video_codec in IMAGE_CODECS and (format_name.endswith("_pipe") or duration == 0 or not audio)
        if still and int(stream.get("nb_frames") or 1) <= 1:
            result.kind = Kind.IMAGE
        else:
            result.kind = Kind.VIDEO
            if duration <= 0:
                raise _refuse()
    elif audio:
        if duration <= 0:
            raise _refuse()
        result.kind = Kind.AUDIO
    else:
        raise _refuse()
    return result
