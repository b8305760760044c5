"""The server side of live voice: PCM frames in, signed MP3 chunks out, one MQTT message per region.

Frames (from the browser's AudioWorklet over the WebSocket, or from `manage.py live_feed`) are
16 kHz mono signed 16-bit little-endian PCM, each stamped with its capture ("mouth") time. They go
into one ffmpeg process per session (`libmp3lame`, 32 kbit/s CBR, no Xing or ID3 header, packets
flushed at once) whose output is cut into chunks of `CHUNK_FRAMES` MP3 frames (5 × 36 ms = 180 ms,
720 bytes). Each chunk is signed with the platform's active key and published **once per target
region** on `rc/v1/down/r/<region>/live-<session>` at QoS 0, not retained (docs/protocols.md §10); a
`start` and an `end` message go at QoS 1.

Capture time of a chunk = the capture time of its first sample, found by counting samples (a CBR
MP3 frame at 16 kHz is 576 samples, 144 bytes). The encoder's own look-ahead (~70 ms of padding at
the start of the stream) is not subtracted, so the delay a terminal computes is, if anything, a
little too long.

The PCM is also written to `RUN_DIR/live/<session>.pcm`; at the end it becomes a WAV that the
broadcasting app's upload path normalises into a programme item (`services.live_recording_save`).
"""

from __future__ import annotations

import bisect
import contextlib
import hashlib
import logging
import os
import struct
import subprocess
import threading
import time
import wave
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from django.conf import settings
from ruralcast_terminal import live as terminal_live
from ruralcast_terminal.protocol import message_join

from ruralcast.core.media_tools import tool_path
from ruralcast.messaging.topics import live_topic

if TYPE_CHECKING:
    from ruralcast.signing.services import ActiveSigner

log = logging.getLogger(__name__)

SAMPLE_RATE = 16_000
BITRATE = 32_000
CODEC = "audio/mpeg"
MP3_FRAME_SAMPLES = 576  # MPEG-2 Layer III at 16 kHz
MP3_FRAME_BYTES = 144  # 72 × 32000 / 16000, no padding at this rate
CHUNK_FRAMES = 5  # 180 ms per chunk
CHUNK_MS = CHUNK_FRAMES * MP3_FRAME_SAMPLES * 1000 // SAMPLE_RATE
MAX_FRAME_BYTES = 64 * 1024  # one WebSocket frame of PCM: at most 2 s
HEADER_BYTES = 8  # float64 little-endian capture time (ms since the epoch) before the PCM

# The encoder's arguments; the program is core.media_tools.tool_path("ffmpeg"). Its input is the
# platform's own PCM pipe, so it needs no upload whitelist.
ENCODER = (
    "-hide_banner", "-nostdin", "-loglevel", "error",
    "-probesize", "32", "-analyzeduration", "0", "-fflags", "nobuffer",
    "-f", "s16le", "-ar", str(SAMPLE_RATE), "-ac", "1", "-i", "pipe:0",
    "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0",
    "-flush_packets", "1", "-f", "mp3", "pipe:1",
)  # fmt: skip


def recording_dir() -> Path:
    return Path(settings.RUN_DIR) / "live"


class Encoder:
    """One ffmpeg process: `feed(pcm, captured_ms)`; `on_chunk(mp3, captured_ms, duration_ms)` is
    called from a reader thread for every `CHUNK_FRAMES` MP3 frames (and once more at `close`)."""

    def __init__(self, on_chunk: Callable[[bytes, int, int], None]) -> None:
        self.on_chunk = on_chunk
        self.process = subprocess.Popen(
            [tool_path("ffmpeg"), *ENCODER],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            bufsize=0,
        )
        self._starts: list[int] = []  # first sample of each frame fed
        self._stamps: list[float] = []  # its capture time (ms)
        self._samples_in = 0
        self._lock = threading.Lock()
        self._reader = threading.Thread(target=self._read, name="live-encoder", daemon=True)
        self._reader.start()

    @property
    def samples_in(self) -> int:
        return self._samples_in

    def feed(self, pcm: bytes, captured_ms: float) -> None:
        if not pcm:
            return
        with self._lock:
            self._starts.append(self._samples_in)
            self._stamps.append(captured_ms)
            self._samples_in += len(pcm) // 2
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(pcm)
        except (BrokenPipeError, ValueError):
            log.error("live encoder has gone")

    def captured_at(self, sample: int) -> int:
        with self._lock:
            index = bisect.bisect_right(self._starts, sample) - 1
            if index < 0:
                return int(self._stamps[0]) if self._stamps else int(time.time() * 1000)
            return int(self._stamps[index] + (sample - self._starts[index]) * 1000 / SAMPLE_RATE)

    def _read(self) -> None:
        assert self.process.stdout is not None
        fd = self.process.stdout.fileno()
        pending = b""
        frames_out = 0
        size = CHUNK_FRAMES * MP3_FRAME_BYTES
        while True:
            data = os.read(fd, 65536)
            if not data:
                break
            pending += data
            while len(pending) >= size:
                chunk, pending = pending[:size], pending[size:]
                self._emit(chunk, frames_out)
                frames_out += CHUNK_FRAMES
        if pending:
            self._emit(pending, frames_out)

    def _emit(self, chunk: bytes, first_frame: int) -> None:
        frames = max(1, len(chunk) // MP3_FRAME_BYTES)
        duration = frames * MP3_FRAME_SAMPLES * 1000 // SAMPLE_RATE
        try:
            self.on_chunk(chunk, self.captured_at(first_frame * MP3_FRAME_SAMPLES), duration)
        except Exception:
            log.exception("live chunk could not be sent")

    def close(self, timeout: float = 10.0) -> None:
        """Flush: the encoder writes its last frames, the reader sends them, then both end."""
        if self.process.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.process.stdin.close()
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self._reader.join(timeout)


Publish = Callable[[Sequence[tuple[str, bytes, int]]], None]  # [(topic, payload, qos)]


@dataclass
class Broadcast:
    """One live session on the air: encoder, signer, publisher and the recording file."""

    session_id: int
    areas: list[str]
    tier: int
    signer: ActiveSigner
    publish: Publish
    recording: Path | None = None
    seq: int = 0
    chunks: int = 0
    bytes_sent: int = 0
    message_bytes: int = 0  # of the largest chunk's MQTT message (envelope + attachment)
    encode_ms: list[float] = field(default_factory=list)  # feed → chunk out, for the docs
    _encoder: Encoder | None = None
    _record: Any = None
    _closed: bool = False
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _feed_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def session(self) -> str:
        return str(self.session_id)

    def _payload(self, event: str, captured_ms: int, **extra: Any) -> dict[str, Any]:
        self.seq += 1
        return {
            "kind": terminal_live.LIVE_KIND,
            "session": self.session,
            "event": event,
            "seq": self.seq,
            "captured_ms": captured_ms,
            "areas": self.areas,
            "tier": self.tier,
            "codec": CODEC,
            **extra,
        }

    def _send(self, payload: dict[str, Any], attachment: bytes | None, qos: int) -> int:
        data = message_join(self.signer.seal(payload), attachment)
        self.publish([(live_topic(area, self.session), data, qos) for area in self.areas])
        return len(data)

    def open(self) -> None:
        """Announce the session (QoS 1) and start the encoder."""
        if self.recording is not None:
            self.recording.parent.mkdir(parents=True, exist_ok=True)
            self._record = self.recording.open("wb")
        with self._lock:
            start = self._payload(
                terminal_live.START, int(time.time() * 1000), sample_rate=SAMPLE_RATE, bitrate=BITRATE
            )
            self._send(start, None, 1)
        self._encoder = Encoder(self._chunk)

    def feed(self, pcm: bytes, captured_ms: float) -> None:
        if len(pcm) % 2:
            pcm = pcm[:-1]
        with self._feed_lock:  # a stop from another thread may be closing the broadcast
            if self._closed or self._encoder is None:
                return
            if self._record is not None:
                self._record.write(pcm)
            self._encoder.feed(pcm, captured_ms)

    def _chunk(self, mp3: bytes, captured_ms: int, duration_ms: int) -> None:
        audio = {"attached": True, "bytes": len(mp3), "sha256": hashlib.sha256(mp3).hexdigest()}
        with self._lock:
            payload = self._payload(terminal_live.CHUNK, captured_ms, duration_ms=duration_ms, audio=audio)
            # QoS 0: a late chunk is worthless, and a persistent session must not queue stale audio.
            self.message_bytes = max(self.message_bytes, self._send(payload, mp3, 0))
            self.chunks += 1
            self.bytes_sent += len(mp3)
            self.encode_ms.append(time.time() * 1000 - captured_ms)

    @property
    def seconds(self) -> float:
        return (self._encoder.samples_in / SAMPLE_RATE) if self._encoder is not None else 0.0

    def close(self) -> None:
        """Flush the encoder, announce the end (QoS 1), close the recording. Idempotent."""
        with self._feed_lock:
            if self._closed:
                return
            self._closed = True
        if self._encoder is not None:
            self._encoder.close()
        with self._lock:
            self._send(self._payload(terminal_live.END, int(time.time() * 1000)), None, 1)
        if self._record is not None:
            self._record.close()


def pcm_to_wav(pcm_path: Path, wav_path: Path) -> float:
    """Wrap raw 16 kHz mono PCM in a WAV header; returns its seconds."""
    data = pcm_path.read_bytes()
    with wave.open(str(wav_path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(SAMPLE_RATE)
        out.writeframes(data)
    return len(data) / 2 / SAMPLE_RATE


def frame_split(message: bytes) -> tuple[float, bytes]:
    """(capture ms, PCM) of one binary WebSocket message: 8-byte float64 LE time, then s16le PCM."""
    if len(message) <= HEADER_BYTES or len(message) > MAX_FRAME_BYTES + HEADER_BYTES:
        raise ValueError("a frame is an 8-byte capture time and 1 B – 64 KiB of PCM")
    (captured,) = struct.unpack_from("<d", message)
    now = time.time() * 1000
    if not (now - 60_000 < captured < now + 60_000):
        captured = now  # a browser clock far off: stamp on arrival rather than lie
    return captured, message[HEADER_BYTES:]
