"""Live voice (实时喊话) on the terminal: checking each signed chunk, a small jitter buffer, playing.

The platform publishes a live session once per target region on `rc/v1/down/r/<region>/live-<id>`
(docs/protocols.md §10): a `start` message, then one `chunk` per ~200 ms of MP3 (the audio is the
message's attachment, its length and SHA-256 signed in the payload), then an `end`. Each message
carries the session id, a sequence number, the capture ("mouth") time in ms since the epoch and the
codec. A terminal:

1. verifies the envelope with its trust list (`protocol.open_envelope`, done by the caller);
2. `live_check`: the payload is well formed, one of `areas` covers its village, the capture time is
   within `freshness` seconds of its clock (a replayed or late chunk is `stale`), and the sequence
   number only grows within a session (an older or repeated one is a `duplicate`), and the
   attachment matches its signed length and hash;
3. arbitrates with `priority`: a live claim has the tier of the session (0 national … 5 village).
   An emergency alert pre-empts live voice (which is dropped: `after_preemption` says DROP), live
   voice pre-empts the scheduled programme, and of two live sessions the higher tier wins (the
   lower one is dropped, or never starts);
4. plays through a `LiveSink` after a small jitter buffer (`jitter_ms` of audio, 200 ms by default)
   and sends `live_started` / `live_stopped` receipts (with a reason: `end`, `preempted`,
   `timeout` when nothing arrived for `idle_timeout` seconds, `stopped` when the agent stops) on the
   ordinary receipt uplink, with `ebm_id` = `live-<session id>`.

`LiveState` holds what one terminal remembers (used by the agent and by each virtual terminal of the
simulator, so both apply the same rules); `LiveReceiver` adds the playing for a real agent.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeGuard

from ruralcast_terminal import priority, protocol
from ruralcast_terminal.protocol import Rejected

log = logging.getLogger(__name__)

LIVE_KIND = "live"
START, CHUNK, END = "start", "chunk", "end"
EVENTS = (START, CHUNK, END)
LIVE_STARTED, LIVE_STOPPED = "live_started", "live_stopped"
# Reasons of a live_stopped receipt.
STOP_END, STOP_PREEMPTED, STOP_TIMEOUT, STOP_AGENT = "end", "preempted", "timeout", "stopped"

DEFAULT_FRESHNESS_SECONDS = 10.0  # a chunk captured longer ago than this is stale
FUTURE_TOLERANCE_MS = 5_000  # clock skew tolerated the other way
DEFAULT_JITTER_MS = 200
DEFAULT_IDLE_TIMEOUT = 5.0
MAX_SESSION_ID = 32
CODECS = ("audio/mpeg",)


def is_live(payload: dict[str, Any]) -> bool:
    return payload.get("kind") == LIVE_KIND


def receipt_id(session: str) -> str:
    """What stands in a receipt's `ebm_id` for a live session."""
    return f"live-{session}"


def _int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def live_parse(payload: dict[str, Any], attachment: bytes | None) -> dict[str, Any]:
    """Rule 4 for a live payload: the fields this module relies on, and the attachment of a chunk.

    Raises Rejected(malformed) or Rejected(audio_failed)."""
    session, event, seq = payload.get("session"), payload.get("event"), payload.get("seq")
    if not (isinstance(session, str) and 0 < len(session) <= MAX_SESSION_ID and session.isalnum()):
        raise Rejected(protocol.MALFORMED, "live: session is 1-32 letters or digits")
    if event not in EVENTS:
        raise Rejected(protocol.MALFORMED, f"live: unknown event {event!r}")
    if not (_int(seq) and seq >= 0):
        raise Rejected(protocol.MALFORMED, "live: seq is a non-negative integer")
    if not (_int(payload.get("captured_ms")) and payload["captured_ms"] > 0):
        raise Rejected(protocol.MALFORMED, "live: captured_ms is a positive integer")
    tier = payload.get("tier")
    if not (_int(tier) and 0 <= tier <= priority.VILLAGE_TIER):
        raise Rejected(protocol.MALFORMED, "live: tier is 0-5")
    areas = payload.get("areas")
    if not (
        isinstance(areas, list)
        and areas
        and all(isinstance(a, str) and len(a) == protocol.CODE_LENGTH and a.isdigit() for a in areas)
    ):
        raise Rejected(protocol.MALFORMED, "live: areas is a non-empty list of 12-digit codes")
    if event == CHUNK:
        if payload.get("codec") not in CODECS:
            raise Rejected(protocol.MALFORMED, f"live: codec {payload.get('codec')!r} not supported")
        audio = payload.get("audio")
        if not isinstance(audio, dict) or audio.get("attached") is not True:
            raise Rejected(protocol.MALFORMED, "live: a chunk has its audio attached")
        try:
            protocol.attached_audio(audio, attachment)
        except ValueError as exc:
            raise Rejected(protocol.AUDIO_FAILED, f"live: {exc}") from None
    return payload


@dataclass
class LiveSessionState:
    session: str
    claim: priority.Claim
    last_seq: int = -1
    ended: bool = False
    announced: bool = False  # live_started sent (the simulator's virtual terminals)
    last_at: float = field(default_factory=time.monotonic)


class LiveState:
    """What one terminal remembers of live sessions: the rules of `live_check` with memory."""

    def __init__(self, *, village_code: str, freshness_seconds: float = DEFAULT_FRESHNESS_SECONDS) -> None:
        self.village_code = village_code
        self.freshness_ms = int(freshness_seconds * 1000)
        self.sessions: dict[str, LiveSessionState] = {}

    def check(self, payload: dict[str, Any], *, now_ms: int | None = None) -> LiveSessionState:
        """Rules 5–7 for a parsed live payload; returns the session's state (seq recorded).

        Raises Rejected: not_in_target, stale (captured too long ago or too far ahead), duplicate
        (a sequence number not greater than the last one of the session, or a message of an ended
        session)."""
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        if not any(protocol.area_covers(area, self.village_code) for area in payload["areas"]):
            raise Rejected(protocol.NOT_IN_TARGET, f"village {self.village_code} not in {payload['areas']}")
        captured = payload["captured_ms"]
        if captured < now_ms - self.freshness_ms or captured > now_ms + FUTURE_TOLERANCE_MS:
            raise Rejected(protocol.STALE, f"live chunk captured {now_ms - captured} ms ago")
        session = payload["session"]
        state = self.sessions.get(session)
        if state is None:
            if len(self.sessions) > 64:  # forget ended sessions (their chunks are stale by now)
                self.sessions = {k: s for k, s in self.sessions.items() if not s.ended}
            claim = priority.Claim(kind=priority.Kind.LIVE, tier=payload["tier"], seq=captured)
            state = self.sessions[session] = LiveSessionState(session, claim)
        if state.ended or payload["seq"] <= state.last_seq:
            raise Rejected(protocol.DUPLICATE, f"live {session} seq {payload['seq']} after {state.last_seq}")
        state.last_seq = payload["seq"]
        state.last_at = time.monotonic()
        if payload["event"] == END:
            state.ended = True
        return state


# ---------------------------------------------------------------------------------------------
# Where live audio goes.


class LiveSink:
    """A streaming sink: `open` a session, `write` MP3 bytes as they come, `close` it — with
    `drain` (the session ended) after what it holds has been played, else (pre-empted, timed out)
    at once. `close` must return promptly: a drain goes on in the background."""

    async def open(self, session: str) -> None:
        return None

    async def write(self, session: str, data: bytes) -> None:
        raise NotImplementedError

    async def close(self, session: str, *, drain: bool = False) -> None:
        return None


@dataclass
class NullLiveSink(LiveSink):
    """Counts what it would play (virtual terminals, tests)."""

    chunks: int = 0
    size: int = 0
    written: dict[str, bytearray] = field(default_factory=dict)
    keep: bool = False

    async def write(self, session: str, data: bytes) -> None:
        self.chunks += 1
        self.size += len(data)
        if self.keep:
            self.written.setdefault(session, bytearray()).extend(data)


class FileLiveSink(LiveSink):
    """Writes each session's MP3 stream to `<directory>/live-<session>.mp3` (simulation, audits)."""

    def __init__(self, directory: Path) -> None:
        self.directory = Path(directory)

    async def open(self, session: str) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        (self.directory / f"live-{session}.mp3").write_bytes(b"")

    async def write(self, session: str, data: bytes) -> None:
        with (self.directory / f"live-{session}.mp3").open("ab") as handle:
            handle.write(data)


class CommandLiveSink(LiveSink):
    """Pipes the stream into a player reading standard input (ffplay by default, or
    `mpg123 -q -` / `ffmpeg -i pipe:0 -f alsa default`). A session that ends closes the player's
    input and lets it play out what it holds (at most `drain_seconds`); a pre-empted one stops it."""

    DEFAULT = (
        "ffplay",
        "-nodisp",
        "-autoexit",
        "-loglevel",
        "error",
        "-fflags",
        "nobuffer",
        "-f",
        "mp3",
        "-i",
        "pipe:0",
    )

    def __init__(self, command: list[str] | tuple[str, ...] = DEFAULT, *, drain_seconds: float = 10.0) -> None:
        self.command = list(command)
        self.drain_seconds = drain_seconds
        self._procs: dict[str, asyncio.subprocess.Process] = {}
        self.draining: set[asyncio.Task[None]] = set()

    async def open(self, session: str) -> None:
        if shutil.which(self.command[0]) is None:
            log.error("live player %s not found", self.command[0])
            return
        self._procs[session] = await asyncio.create_subprocess_exec(
            *self.command, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )

    async def write(self, session: str, data: bytes) -> None:
        proc = self._procs.get(session)
        if proc is None or proc.stdin is None:
            return
        try:
            proc.stdin.write(data)
            await proc.stdin.drain()
        except (BrokenPipeError, ConnectionResetError):
            log.warning("live player of %s has gone", session)
            self._procs.pop(session, None)

    async def close(self, session: str, *, drain: bool = False) -> None:
        proc = self._procs.pop(session, None)
        if proc is None:
            return
        if drain and proc.stdin is not None:
            proc.stdin.close()
            task = asyncio.get_running_loop().create_task(self._stop(proc, self.drain_seconds))
            self.draining.add(task)
            task.add_done_callback(self.draining.discard)
            return
        await self._stop(proc, 0.0)

    @staticmethod
    async def _stop(proc: asyncio.subprocess.Process, grace: float) -> None:
        """Wait `grace` seconds for the player to finish by itself, then terminate it."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(proc.wait(), grace)
        if proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), 2.0)


def live_sink_from_config(spec: dict[str, Any] | str | None, *, cache_dir: Path) -> LiveSink:
    """The live sink that goes with the agent's `sink` entry: null → null, file → an MP3 file per
    session in the cache dir, command → a player reading standard input (`live_command`)."""
    if isinstance(spec, str):
        spec = {"type": spec}
    kind = (spec or {}).get("type", "null")
    if kind == "file":
        return FileLiveSink(cache_dir / "live")
    if kind == "command":
        return CommandLiveSink((spec or {}).get("live_command") or CommandLiveSink.DEFAULT)
    return NullLiveSink()


# ---------------------------------------------------------------------------------------------
# The agent's live voice.


@dataclass
class _Playing:
    state: LiveSessionState
    pending: list[bytes] = field(default_factory=list)
    buffered_ms: int = 0
    flowing: bool = False
    delays_ms: list[int] = field(default_factory=list)


class LiveReceiver:
    """Live voice for one agent. `handle` each verified live payload; `yield_to` when an alert starts.

    `receipt(ebm_id, event, reason)` is the agent's receipt function; `blocked()` returns the claim
    of what else holds the loudspeaker (an alert or a scheduled programme playing), or None;
    `preempt(claim)` is called as a session takes the loudspeaker, so the agent stops what this
    claim outranks (a programme, which resumes afterwards by `priority.after_preemption`).
    """

    def __init__(
        self,
        *,
        village_code: str,
        sink: LiveSink,
        receipt: Callable[[str, str, str], None],
        blocked: Callable[[], priority.Claim | None] = lambda: None,
        preempt: Callable[[priority.Claim], None] = lambda claim: None,
        freshness_seconds: float = DEFAULT_FRESHNESS_SECONDS,
        jitter_ms: int = DEFAULT_JITTER_MS,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.state = LiveState(village_code=village_code, freshness_seconds=freshness_seconds)
        self.sink = sink
        self.receipt = receipt
        self.blocked = blocked
        self.preempt = preempt
        self.jitter_ms = jitter_ms
        self.idle_timeout = idle_timeout
        self.current: _Playing | None = None
        self.silent = asyncio.Event()  # set while no session holds the loudspeaker
        self.silent.set()
        self.rejected: list[str] = []  # reasons, for tests and logs
        self._lock = asyncio.Lock()
        self._watchdog: asyncio.Task[None] | None = None

    @property
    def claim(self) -> priority.Claim | None:
        """The live claim on the loudspeaker now (for the programme player: it yields to this)."""
        return self.current.state.claim if self.current is not None else None

    @property
    def playing(self) -> str | None:
        return self.current.state.session if self.current is not None else None

    def handle(self, payload: dict[str, Any], attachment: bytes | None) -> None:
        """Check one verified live payload and act on it (the agent's router checks, then `accept`s)."""
        try:
            live_parse(payload, attachment)
            state = self.state.check(payload)
        except Rejected as rejected:
            self.refused(rejected.reason, str(rejected))
            return
        self.accept(state, payload, attachment)

    def refused(self, reason: str, detail: str = "") -> None:
        self.rejected.append(reason)
        log.info("live message refused: %s %s", reason, detail)

    def accept(self, state: LiveSessionState, payload: dict[str, Any], attachment: bytes | None) -> None:
        """Act on a live payload that passed its checks (the playing happens in a task)."""
        audio = attachment if payload["event"] == CHUNK else None
        task = asyncio.get_running_loop().create_task(self._act(state, payload, audio))
        task.add_done_callback(_log_failure)

    async def _act(self, state: LiveSessionState, payload: dict[str, Any], audio: bytes | None) -> None:
        async with self._lock:
            current = self.current
            if current is None or current.state is not state:
                if payload["event"] == END:
                    return
                other = self.blocked()
                if other is not None and not state.claim.preempts(other):
                    return  # an alert (or something else above live voice) holds the loudspeaker
                if current is not None:
                    if not state.claim.preempts(current.state.claim):
                        return  # a live session of the same or a higher tier is on
                    await self._stop(STOP_PREEMPTED)
                await self._begin(state)
            playing = self.current
            assert playing is not None
            if payload["event"] == END:
                await self._stop(STOP_END)
                return
            if audio:
                playing.delays_ms.append(int(time.time() * 1000) - payload["captured_ms"])
                await self._feed(playing, audio, int(payload.get("duration_ms", 0)))

    async def _begin(self, state: LiveSessionState) -> None:
        self.preempt(state.claim)
        self.current = _Playing(state)
        self.silent.clear()
        await self.sink.open(state.session)
        self.receipt(receipt_id(state.session), LIVE_STARTED, "")
        if self._watchdog is None or self._watchdog.done():
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    async def _feed(self, playing: _Playing, audio: bytes, duration_ms: int) -> None:
        """The jitter buffer: hold the first `jitter_ms` of audio, then pass chunks on as they come."""
        if playing.flowing:
            await self.sink.write(playing.state.session, audio)
            return
        playing.pending.append(audio)
        playing.buffered_ms += duration_ms
        if playing.buffered_ms >= self.jitter_ms:
            playing.flowing = True
            await self.sink.write(playing.state.session, b"".join(playing.pending))
            playing.pending.clear()

    async def _stop(self, reason: str) -> None:
        playing, self.current = self.current, None
        self.silent.set()
        if playing is None:
            return
        playing.state.ended = True
        if playing.pending:
            await self.sink.write(playing.state.session, b"".join(playing.pending))
        await self.sink.close(playing.state.session, drain=reason == STOP_END)
        self.receipt(receipt_id(playing.state.session), LIVE_STOPPED, reason)

    async def _watch(self) -> None:
        while self.current is not None:
            await asyncio.sleep(min(1.0, self.idle_timeout / 2))
            playing = self.current
            if playing is not None and time.monotonic() - playing.state.last_at > self.idle_timeout:
                async with self._lock:
                    if self.current is playing:
                        await self._stop(STOP_TIMEOUT)

    async def yield_to(self, claim: priority.Claim) -> None:
        """Something wants the loudspeaker (an alert starting): drop the live session if it must yield."""
        async with self._lock:
            current = self.current
            if (
                current is not None
                and claim.preempts(current.state.claim)
                and priority.after_preemption(current.state.claim) is priority.AfterPreemption.DROP
            ):
                await self._stop(STOP_PREEMPTED)

    async def aclose(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        async with self._lock:
            await self._stop(STOP_AGENT)


def _log_failure(task: asyncio.Task[None]) -> None:
    if not task.cancelled() and task.exception() is not None:
        log.error("live voice failed", exc_info=task.exception())


def chunk_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
