"""A line-in or stream as a live-voice source: ffmpeg decodes it to the same 16 kHz PCM frames the
browser sends, stamped with the time each frame was read (its "mouth" time for a line-in).

The source is the operator's own (a command-line argument, any URL ffmpeg reads), not an upload:
it runs without the upload whitelists of core.media_tools."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable, Iterator

from ruralcast.core.media_tools import tool_path
from ruralcast.live.stream import SAMPLE_RATE

FRAME_MS = 160
FRAME_BYTES = SAMPLE_RATE * FRAME_MS // 1000 * 2


def source_frames(source: str, *, realtime: bool = True, seconds: float | None = None) -> Iterator[tuple[float, bytes]]:
    """(capture ms, PCM) frames of a file, URL or device (`-f alsa default` style sources are given
    as `alsa:default`). `realtime` reads a file at its own pace (ffmpeg `-re`), as a line-in would."""
    argv = [tool_path("ffmpeg"), "-hide_banner", "-nostdin", "-loglevel", "error"]
    if realtime:
        argv.append("-re")
    if source.startswith("alsa:"):
        argv += ["-f", "alsa", "-i", source[len("alsa:") :]]
    else:
        argv += ["-i", source]
    if seconds is not None:
        argv += ["-t", str(seconds)]
    argv += ["-vn", "-ac", "1", "-ar", str(SAMPLE_RATE), "-f", "s16le", "pipe:1"]
    process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0)
    assert process.stdout is not None
    try:
        pending = b""
        while True:
            data = process.stdout.read(FRAME_BYTES - len(pending))
            if not data:
                break
            pending += data
            if len(pending) >= FRAME_BYTES:
                yield time.time() * 1000 - FRAME_MS, pending
                pending = b""
        if pending:
            yield time.time() * 1000 - len(pending) / 2 / SAMPLE_RATE * 1000, pending
    finally:
        process.kill()
        process.wait()


def feed_session(
    session_id: int,
    frames: Iterator[tuple[float, bytes]],
    *,
    feed: Callable[[bytes, float], None],
    still_on: Callable[[], bool],
    check_every: float = 1.0,
) -> str:
    """Feed frames until the source ends ("end") or the session was stopped elsewhere ("stopped")."""
    checked = time.monotonic()
    for captured, pcm in frames:
        feed(pcm, captured)
        if time.monotonic() - checked > check_every:
            checked = time.monotonic()
            if not still_on():
                return "stopped"
    return "end"
