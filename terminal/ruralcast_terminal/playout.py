"""The daily programme on the terminal (定时广播): played from its own clock, link or no link.

The platform publishes one signed effective-schedule document per village, retained on
`rc/v1/down/r/<village>/schedule` (docs/broadcasting.md, "The effective-schedule document"). The
agent verifies it like an alert (trust list, key serial, signature: `protocol.open_envelope`) and
hands it here, where `schedule_check` applies the rest: kind and format, the village is this
terminal's own, the version is higher than the one held (no freshness check: a schedule is good
until a newer one replaces it), every entry well formed.

`Playout` then:

1. keeps the highest verified document (the signed bytes, `schedule.msg` in the cache dir, checked
   again at start-up against the trust list), so a terminal restarted with the link down still
   plays its programme;
2. fetches each entry's audio ahead of time into `programme/` (named by SHA-256, checked against
   the signed hash and size), retrying a failed download with back-off (5 s doubling up to
   5 min), and deletes the files no entry still to play needs;
3. at each entry's `start`, by the terminal's own clock, hands it to the agent's one arbitration
   (`priority`, Kind.PROGRAMME at the entry's tier) at the entry's volume. An alert or a live
   voice pre-empts it; afterwards it **resumes where it stopped if its scheduled end has not
   passed, otherwise it is skipped** (logged `interrupted`). An entry that could not start on
   time because the loudspeaker was busy starts late from the beginning, if its end has not
   passed (otherwise `missed`, reason `busy`). An entry whose audio is not in the cache at its
   start is `missed`, reason `audio_missing`;
4. appends one line per entry (`played`, `interrupted` or `missed`) to `playlog.jsonl` and uploads
   the lines in batches on `rc/v1/up/<terminal>/playlog` (QoS 1) while connected; a line leaves the
   file only once the broker acknowledged it, so lines written offline go up after a reconnect
   (the platform stores each (terminal, slot, start) once).

Entries are handled once: the keys of those logged are kept in `playout.json`. An entry that was
playing when the agent stopped plays again from the beginning after a restart if its end has not
passed; entries that ended while the agent was not running are not logged (nothing played).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import priority, protocol
from ruralcast_terminal.protocol import Rejected, TrustList
from ruralcast_terminal.sinks import AudioSink, Playback
from ruralcast_terminal.topics import playlog_topic

log = logging.getLogger(__name__)

SCHEDULE_FILE = "schedule.msg"
STATE_FILE = "playout.json"
PLAYLOG_FILE = "playlog.jsonl"
AUDIO_DIR = "programme"
FORMATS = (2,)
KEY_PREFIX = "programme:"
PLAYLOG_BATCH = 200
FETCH_BACKOFF_BASE = 5.0
FETCH_BACKOFF_CAP = 300.0
IDLE_WAKE_SECONDS = 30.0  # the timer re-reads the clock at least this often (clock adjustments)
DONE_KEEP = timedelta(days=8)

# Outcomes of one entry (docs/broadcasting.md, "Playback logs").
PLAYED, INTERRUPTED, MISSED = "played", "interrupted", "missed"
AUDIO_MISSING, BUSY, PREEMPTED, STOPPED = "audio_missing", "busy", "preempted", "stopped"


@dataclass(frozen=True)
class ScheduleEntry:
    """One entry of the document: an item to play at `start` for `ms` milliseconds."""

    slot: int
    schedule: int
    item: int
    title: str
    start: datetime
    ms: int
    volume: int
    tier: int
    audio: dict[str, Any]

    @property
    def key(self) -> str:
        """Unique per scheduled play (the platform's idempotence key is terminal, slot, start)."""
        return f"{KEY_PREFIX}{self.slot}:{self.start.isoformat()}"

    @property
    def end(self) -> datetime:
        return self.start + timedelta(milliseconds=self.ms)

    @property
    def sha256(self) -> str:
        return str(self.audio["sha256"])


def _int(value: Any, low: int, high: int, name: str) -> int:
    if type(value) is not int or not low <= value <= high:
        raise Rejected(protocol.MALFORMED, f"{name} is not an integer in [{low}, {high}]")
    return value


def _entry(raw: Any) -> ScheduleEntry:
    if not isinstance(raw, dict):
        raise Rejected(protocol.MALFORMED, "an entry is an object")
    try:
        start = datetime.fromisoformat(str(raw.get("start")))
    except ValueError:
        raise Rejected(protocol.MALFORMED, f"entry start {raw.get('start')!r}") from None
    if start.tzinfo is None:
        raise Rejected(protocol.MALFORMED, "entry start has no UTC offset")
    audio = raw.get("audio")
    if not isinstance(audio, dict):
        raise Rejected(protocol.MALFORMED, "entry audio is an object")
    sha256 = audio.get("sha256")
    if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
        raise Rejected(protocol.MALFORMED, "entry audio.sha256 is not a lowercase SHA-256")
    _int(audio.get("bytes"), 1, 2**31, "audio.bytes")
    if not isinstance(audio.get("url"), str):
        raise Rejected(protocol.MALFORMED, "entry audio.url")
    return ScheduleEntry(
        slot=_int(raw.get("slot"), 1, 2**31, "slot"),
        schedule=_int(raw.get("schedule"), 0, 2**31, "schedule"),
        item=_int(raw.get("item"), 0, 2**31, "item"),
        title=str(raw.get("title", ""))[:200],
        start=start,
        ms=_int(raw.get("ms"), 1, 24 * 3600 * 1000, "ms"),
        volume=_int(raw.get("volume"), 0, 100, "volume"),
        tier=_int(raw.get("tier"), 0, priority.VILLAGE_TIER, "tier"),
        audio=audio,
    )


def schedule_check(payload: dict[str, Any], *, village_code: str, current_version: int) -> list[ScheduleEntry]:
    """The entries of a verified schedule document, or Rejected (the reason as for alerts).

    `duplicate` when its version is not above `current_version` (an older or the same document:
    ignored quietly), `not_in_target` when it is another village's, `malformed` otherwise.
    """
    if not protocol.is_schedule(payload) or payload.get("format") not in FORMATS:
        raise Rejected(protocol.MALFORMED, f"not a schedule document of format {FORMATS}")
    version = _int(payload.get("version"), 1, 2**63, "version")
    if payload.get("village") != village_code:
        raise Rejected(protocol.NOT_IN_TARGET, f"schedule of village {payload.get('village')!r}")
    if version <= current_version:
        raise Rejected(protocol.DUPLICATE, f"schedule version {version} (holding {current_version})")
    entries = payload.get("entries")
    if not isinstance(entries, list):
        raise Rejected(protocol.MALFORMED, "entries is a list")
    return sorted((_entry(raw) for raw in entries), key=lambda e: (e.start, e.slot))


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


async def _wait(event: asyncio.Event, timeout: float) -> None:
    """Until `event` is set or `timeout` seconds passed (a cancel of the caller always propagates)."""
    waiter = asyncio.ensure_future(event.wait())
    try:
        await asyncio.wait([waiter], timeout=max(timeout, 0.0))
    finally:
        waiter.cancel()


def _now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


@dataclass
class _Running:
    """An entry handed to the arbitration and not yet logged."""

    entry: ScheduleEntry
    started_at: str | None = None
    played_ms: float = 0.0
    interruptions: int = 0


Enqueue = Callable[[Playback, priority.Claim, datetime], None]


class Playout:
    """The programme of one terminal (see the module docstring). Owned by the agent.

    `enqueue(playback, claim, ends)` queues a play in the agent's arbitration; the agent calls
    `play` to sound it and `outcome` with the receipt event it would have sent for an alert.
    `fetch(audio_meta)` is the agent's `AudioCache(...).fetch` for this module's directory.
    """

    def __init__(
        self,
        *,
        terminal_id: str,
        village_code: str,
        directory: Path,
        trust: Callable[[], TrustList],
        enqueue: Enqueue,
        fetch: Callable[[dict[str, Any]], Any],
        client: Any,
    ) -> None:
        self.terminal_id = terminal_id
        self.village_code = village_code
        self.directory = directory
        self.audio_dir = directory / AUDIO_DIR
        self.trust = trust
        self.enqueue = enqueue
        self.fetch = fetch
        self.client = client
        self.version = 0
        self.entries: list[ScheduleEntry] = []
        self.done: dict[str, str] = {}  # entry key → its start (ISO), entries already logged
        self.running: dict[str, _Running] = {}
        self.uploaded = 0  # playlog lines the broker acknowledged
        self._changed = asyncio.Event()
        self._logged = asyncio.Event()
        self._fetch_changed = asyncio.Event()
        self._retry: dict[str, tuple[float, int]] = {}  # sha256 → (loop time of next try, failures)
        self._sequence = itertools.count()

    # -- the document --------------------------------------------------------------------------

    def load(self) -> None:
        """The document and state kept from before a restart (checked again: keys may be revoked)."""
        try:
            state = json.loads((self.directory / STATE_FILE).read_text("utf-8"))
            self.done = {str(k): str(v) for k, v in state.get("done", {}).items()}
        except (OSError, ValueError, AttributeError):
            self.done = {}
        path = self.directory / SCHEDULE_FILE
        if not path.exists():
            return
        try:
            _, payload = protocol.open_envelope(path.read_bytes(), self.trust())
            self.entries = schedule_check(payload, village_code=self.village_code, current_version=0)
            self.version = int(payload["version"])
            log.info("%s: schedule version %s loaded (%d entries)", self.terminal_id, self.version, len(self.entries))
        except (OSError, Rejected) as exc:
            log.error("%s: kept schedule unusable (%s); waiting for a new one", self.terminal_id, exc)

    def document(self, data: bytes, payload: dict[str, Any]) -> bool:
        """A schedule document whose signature the agent verified; True if it was adopted.

        Raises Rejected (malformed, not_in_target, duplicate for a version not above the held one).
        """
        entries = schedule_check(payload, village_code=self.village_code, current_version=self.version)
        return self.adopt(data, payload, entries)

    def adopt(self, data: bytes, payload: dict[str, Any], entries: list[ScheduleEntry]) -> bool:
        """Keep and play a document the router found to be this village's and newer (its `entries`)."""
        _write_atomic(self.directory / SCHEDULE_FILE, protocol.message_split(data)[0])
        self.version, self.entries = int(payload["version"]), entries
        log.info("%s: schedule version %s adopted (%d entries)", self.terminal_id, self.version, len(entries))
        self._changed.set()
        self._fetch_changed.set()
        return True

    # -- the tasks -----------------------------------------------------------------------------

    def tasks(self) -> list[asyncio.Task[None]]:
        self.load()
        return [
            asyncio.create_task(self._timer(), name="playout:timer"),
            asyncio.create_task(self._fetcher(), name="playout:fetch"),
            asyncio.create_task(self._uploader(), name="playout:upload"),
        ]

    async def _timer(self) -> None:
        while True:
            now = datetime.now(UTC)
            for entry in self.entries:
                if entry.start <= now < entry.end and entry.key not in self.done and entry.key not in self.running:
                    self._due(entry)
            upcoming = [e.start for e in self.entries if e.start > now]
            delay = min([(min(upcoming) - now).total_seconds(), IDLE_WAKE_SECONDS]) if upcoming else IDLE_WAKE_SECONDS
            self._changed.clear()
            await _wait(self._changed, delay)

    def audio_path(self, entry: ScheduleEntry) -> Path | None:
        """The verified file of an entry's audio in the cache, if there."""
        return next(self.audio_dir.glob(f"{entry.sha256}.*"), None) if self.audio_dir.exists() else None

    def _due(self, entry: ScheduleEntry) -> None:
        audio = self.audio_path(entry)
        if audio is None:
            self._log(_Running(entry), MISSED, AUDIO_MISSING)
            return
        self.running[entry.key] = _Running(entry)
        playback = Playback(
            ebm_id=entry.key,
            title=entry.title,
            audio=audio,
            sha256=entry.sha256,
            mime=str(entry.audio.get("mime", "")),
            seconds=entry.ms / 1000,
            volume=entry.volume,
        )
        claim = priority.Claim(kind=priority.Kind.PROGRAMME, tier=entry.tier, seq=next(self._sequence))
        log.info("%s: programme %s due (%s)", self.terminal_id, entry.key, entry.title)
        self.enqueue(playback, claim, entry.end)

    # -- what the agent reports back -------------------------------------------------------------

    def owns(self, key: str) -> bool:
        return key in self.running

    async def play(self, playback: Playback, sink: AudioSink) -> None:
        """Sound one entry (again): from where it stopped when it was pre-empted before."""
        running = self.running[playback.ebm_id]
        if running.started_at is None:
            running.started_at = _now_iso()
        elif running.played_ms:
            running.interruptions += 1
        offset = running.played_ms / 1000
        loop = asyncio.get_running_loop()
        began = loop.time()
        try:
            await sink.play(replace(playback, offset=offset))
        finally:
            running.played_ms = min(running.played_ms + (loop.time() - began) * 1000, running.entry.ms)

    def outcome(self, key: str, event: str, reason: str = "") -> None:
        """The end of an entry, told with the agent's receipt events (finished, failed, cancelled)."""
        running = self.running.get(key)
        if running is None or event in ("received", "started"):
            return
        if event == "finished":
            self._log(running, PLAYED, "resumed" if running.interruptions else "")
        elif running.started_at is None:
            self._log(running, MISSED, BUSY if reason == protocol.EXPIRED else reason or STOPPED)
        elif reason == protocol.EXPIRED:
            self._log(running, INTERRUPTED, PREEMPTED)
        else:
            self._log(running, INTERRUPTED, reason or STOPPED)

    # -- playback logs ---------------------------------------------------------------------------

    def _log(self, running: _Running, outcome: str, reason: str) -> None:
        entry = running.entry
        line = {
            "slot": entry.slot,
            "schedule": entry.schedule,
            "item": entry.item,
            "title": entry.title,
            "start": entry.start.isoformat(),
            "started": running.started_at,
            "ms": round(running.played_ms),
            "outcome": outcome,
            "reason": reason,
            "version": self.version,
        }
        log.info("%s: programme %s %s %s", self.terminal_id, entry.key, outcome, reason)
        self.directory.mkdir(parents=True, exist_ok=True)
        with (self.directory / PLAYLOG_FILE).open("a", encoding="utf-8") as handle:
            handle.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        self.running.pop(entry.key, None)
        self.done[entry.key] = entry.start.isoformat()
        horizon = datetime.now(UTC) - DONE_KEEP
        self.done = {k: v for k, v in self.done.items() if datetime.fromisoformat(v) >= horizon}
        _write_atomic(self.directory / STATE_FILE, json.dumps({"done": self.done}).encode())
        self._logged.set()

    def pending_lines(self) -> list[str]:
        try:
            return (self.directory / PLAYLOG_FILE).read_text("utf-8").splitlines()
        except OSError:
            return []

    async def _uploader(self) -> None:
        """Send the log lines in batches while connected; drop each batch once acknowledged."""
        while True:
            self._logged.clear()
            lines = self.pending_lines() if self.client.is_connected else []
            if not lines:
                await _wait(self._logged, 1.0)
                continue
            batch = lines[:PLAYLOG_BATCH]
            logs = []
            for line in batch:
                with contextlib.suppress(ValueError):
                    logs.append(json.loads(line))
            body = json.dumps({"terminal": self.terminal_id, "logs": logs}, ensure_ascii=False).encode()
            try:
                await self.client.publish(playlog_topic(self.terminal_id), body, qos=1)
            except Exception as exc:  # noqa: BLE001 — e.g. dropped from a full queue: the lines stay, try later
                log.warning("%s: playlog upload failed (%s); the lines are kept", self.terminal_id, exc)
                await asyncio.sleep(5.0)
                continue
            current = self.pending_lines()
            if current[: len(batch)] == batch:
                rest = "".join(f"{line}\n" for line in current[len(batch) :])
                _write_atomic(self.directory / PLAYLOG_FILE, rest.encode())
            self.uploaded += len(batch)

    # -- audio ahead of time ---------------------------------------------------------------------

    def needed(self, now: datetime | None = None) -> dict[str, ScheduleEntry]:
        """Audio (by SHA-256) of the entries still to play."""
        now = now or datetime.now(UTC)
        return {entry.sha256: entry for entry in self.entries if entry.end > now}

    def evict(self, now: datetime | None = None) -> int:
        """Delete cached programme audio no entry still to play needs; returns the files deleted."""
        if not self.audio_dir.exists():
            return 0
        keep, gone = set(self.needed(now)), 0
        for path in self.audio_dir.iterdir():
            if path.is_file() and path.name.split(".", 1)[0] not in keep and not path.name.startswith("."):
                path.unlink(missing_ok=True)
                gone += 1
        return gone

    async def _fetch_one(self, entry: ScheduleEntry) -> None:
        path = await self.fetch(entry.audio)
        if path is None or Path(path).stat().st_size != entry.audio["bytes"]:
            if path is not None:
                Path(path).unlink(missing_ok=True)
            raise OSError(f"audio {entry.sha256[:12]} is not {entry.audio['bytes']} bytes")

    async def _fetcher(self) -> None:
        loop = asyncio.get_running_loop()
        while True:
            self._fetch_changed.clear()
            wait = IDLE_WAKE_SECONDS
            for sha256, entry in sorted(self.needed().items(), key=lambda item: item[1].start):
                if self.audio_path(entry) is not None:
                    continue
                due, failures = self._retry.get(sha256, (0.0, 0))
                if loop.time() < due:
                    wait = min(wait, due - loop.time())
                    continue
                try:
                    await self._fetch_one(entry)
                    self._retry.pop(sha256, None)
                except Exception as exc:  # noqa: BLE001 — any download failure: try again later
                    pause = min(FETCH_BACKOFF_BASE * 2**failures, FETCH_BACKOFF_CAP)
                    self._retry[sha256] = (loop.time() + pause, failures + 1)
                    wait = min(wait, pause)
                    log.warning(
                        "%s: programme audio %s: %s (again in %.0f s)", self.terminal_id, sha256[:12], exc, pause
                    )
            self.evict()
            await _wait(self._fetch_changed, max(wait, 0.05))
