"""ffmpeg and ffprobe, found one way and pointed at uploads so that they read the upload only.

**Finding them.** `tool_path("ffmpeg")` is where every app (media, broadcasting, alerts, live,
speech) gets the program: the setting `RURALCAST_MEDIA_TOOLS` (environment `RURALCAST_FFMPEG`,
`RURALCAST_FFPROBE`) when set, else the one on PATH, else the Debian location (a systemd unit's
PATH can be short).

**Reading what a person uploaded.** ffmpeg's demuxers include some that open *other* files named
inside the input: an HLS playlist (`#EXTM3U` … `file:///srv/media/…`), an ffconcat list, a DASH
manifest, an image sequence pattern. Probed as an "upload", such a file made ffprobe (and then the
transcoder) read local files — another region's restricted recording, or anything the server can
read. `-protocol_whitelist file` does not stop it: the named files are files too. So every run over
an upload goes through two gates:
1. `upload_refuse_playlist` reads the first bytes and refuses playlists and lists *by content*
   (whatever the name says), with a message for the person;
2. `untrusted_input_args()` go before `-i`: only the demuxers in `UPLOAD_DEMUXERS` (containers that
   carry their own media and open nothing else) and only the `file` protocol.
`probe_upload` runs both and ffprobe, and is what media, broadcasting and alerts call. Trusted
inputs (the platform's own WAV, the live encoder's PCM pipe, an operator's `live_feed` source) use
`tool_path` alone.
"""

import json
import shutil
import subprocess
from pathlib import Path
from typing import Any

from django.conf import settings
from django.utils.translation import gettext as _

from ruralcast.core.errors import ServiceUnavailable, ValidationError

# Demuxers for uploaded media: containers and raw streams that hold their own data. Left out on
# purpose: hls, dash, concat, image2 (sequence patterns), tee, ffmetadata, sdp/rtp/rtsp, imf and
# any other demuxer that opens further files or network addresses.
UPLOAD_DEMUXERS: tuple[str, ...] = (
    # video
    "mov", "matroska", "webm", "avi", "mpegts", "mpeg", "flv", "asf", "mxf", "dv", "rm", "ogg",
    # audio
    "mp3", "wav", "w64", "flac", "aac", "ac3", "eac3", "amr", "amrnb", "amrwb", "aiff", "ape", "wv", "caf",
    "au", "tta",
    # still pictures (recognised by content, as `<codec>_pipe`)
    "png_pipe", "jpeg_pipe", "webp_pipe", "gif", "bmp_pipe", "tiff_pipe", "j2k_pipe",
)  # fmt: skip

# What the first bytes of a playlist or list look like (after a BOM and white space).
_PLAYLIST_STARTS: tuple[tuple[bytes, str], ...] = (
    (b"#EXTM3U", "HLS / M3U"),
    (b"#EXT-X-", "HLS"),
    (b"#EXTINF", "M3U"),
    (b"ffconcat", "ffconcat"),
    (b"[playlist]", "PLS"),
    (b"<?xml", "XML"),  # DASH (MPD), SMIL, XSPF, ASX …: no medium is an XML document
    (b"<mpd", "DASH"),
    (b"<smil", "SMIL"),
    (b"<asx", "ASX"),
    (b"v=0", "SDP"),
)
_HEAD_BYTES = 4096


def tool_path(name: str) -> str:
    """The program `name` (ffmpeg, ffprobe, espeak-ng, …) as this deployment runs it."""
    configured = (getattr(settings, "RURALCAST_MEDIA_TOOLS", None) or {}).get(name)
    return str(configured) if configured else shutil.which(name) or f"/usr/bin/{name}"


def untrusted_input_args() -> list[str]:
    """Input options to put before `-i <upload>`: the demuxer and protocol whitelists."""
    return ["-protocol_whitelist", "file", "-format_whitelist", ",".join(UPLOAD_DEMUXERS)]


class MediaToolUnavailable(ServiceUnavailable):
    """ffmpeg or ffprobe is missing or hung: the operator must look; the upload may be fine."""

    code = "media_tool_unavailable"


def playlist_kind(head: bytes) -> str | None:
    """The kind of playlist or list these first bytes begin, or None."""
    text = head.lstrip(b"\xef\xbb\xbf").lstrip().lower()
    for start, kind in _PLAYLIST_STARTS:
        if text.startswith(start.lower()):
            return kind
    if b"#ext-x-" in text:  # HLS tags after a comment or blank lines
        return "HLS"
    return None


def upload_refuse_playlist(path: Path, *, field: str = "file") -> None:
    """ValidationError if the file at `path` is a playlist or a list of other files (by content)."""
    with path.open("rb") as handle:
        kind = playlist_kind(handle.read(_HEAD_BYTES))
    if kind is not None:
        raise ValidationError(
            _(
                "This file is a playlist (%(kind)s) that names other files, not a recording. "
                "Upload the video or audio file itself."
            )
            % {"kind": kind},
            fields={field: [_("A playlist, not media.")]},
            code="playlist_refused",
        )


def tool_run(command: list[str], *, timeout: float, tool: str) -> subprocess.CompletedProcess[str]:
    """Run a media tool (argument list, never a shell); MediaToolUnavailable if it cannot run."""
    try:
        return subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        raise MediaToolUnavailable(_("%(tool)s could not run on this server.") % {"tool": tool}) from error


def probe_upload(
    path: Path, *, entries: str | None = None, field: str = "file", timeout: float = 60
) -> dict[str, Any] | None:
    """ffprobe's JSON about an uploaded file, or None when ffprobe cannot read it as media.

    Refuses playlists first (ValidationError naming `field`), then probes with the whitelists.
    `entries` narrows what ffprobe shows (`-show_entries`); by default format and streams.
    """
    upload_refuse_playlist(path, field=field)
    shown = ["-show_entries", entries] if entries else ["-show_format", "-show_streams"]
    command = [tool_path("ffprobe"), "-v", "error", *untrusted_input_args(), *shown, "-of", "json", str(path)]
    result = tool_run(command, timeout=timeout, tool="ffprobe")
    if result.returncode != 0:
        return None
    try:
        data = json.loads(result.stdout or "{}")
    except json.JSONDecodeError:
        return None
    return data if isinstance(data, dict) else None
