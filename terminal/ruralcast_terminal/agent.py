"""The terminal agent: what a village loudspeaker runs between the broker and its amplifier.

It holds one MQTT connection (client id = its 23-digit terminal id), subscribes at QoS 1 to
`rc/v1/down/r/<code>/+` for its village and every ancestor (national root included) and to
`rc/v1/down/t/<id>`, and handles each alert as docs/protocols.md §4 says:

1. `alert_accept` applies rules 1–7 with the shared `protocol` functions (decode, trust list,
   signature, parse, expiry/freshness, target area, then the duplicate check against a store kept
   in the cache dir, so a restart does not replay what was already handled);
2. a refused message gets a `rejected` receipt with the reason — except a duplicate, which is
   ignored silently (retained alerts come back on every reconnect);
3. an accepted one gets `received`; a Cancel or Update withdraws the alerts it references (stopping
   the one that is playing at once: `cancelled`), an Alert or Update has its audio fetched (inline,
   attached, or URL + SHA-256, cached by hash) and is queued by `priority` (one arbitration for
   all that plays): severity 1 is the most urgent and pre-empts anything less urgent that is
   playing (which plays again afterwards); at equal severity a higher issuing level (province over
   county) pre-empts; then a real alert comes before a drill, then first come, first served;
4. `started`, then `finished` / `failed` / `cancelled` as the sink plays it. Drills (`status` other
   than Actual, or `drill: true`) reach the sink with `drill=True`.

Receipts go to `rc/v1/up/<id>/receipt` at QoS 1 and are resent after a reconnect until the broker
acknowledges them. The village's signed schedule document (retained on
`rc/v1/down/r/<village>/schedule`) goes to `playout`, which plays the daily programme through the
same arbitration and reports it in playback logs instead of receipts. The same acceptance and
receipt code serves the simulator's virtual terminals.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import heapq
import itertools
import json
import logging
import os
import tempfile
import tomllib
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import commands, crypto, firmware, live, priority, protocol
from ruralcast_terminal.mqtt import Client, Message, Will
from ruralcast_terminal.playout import Playout
from ruralcast_terminal.protocol import Rejected, TrustList, VerifyCache
from ruralcast_terminal.sinks import AudioSink, Playback, PlaybackError, sink_from_config
from ruralcast_terminal.status import StatusProbe, status_bytes

log = logging.getLogger(__name__)

# Receipts queued within this time go out as one message (received + started, typically).
RECEIPT_COALESCE_SECONDS = 0.02
# Where the agent keeps the newest signed trust-list update it accepted (in its cache dir).
TRUST_FILE = "trust.json"

# Receipt events (docs/protocols.md §5).
RECEIVED, REJECTED, STARTED = "received", "rejected", "started"
FINISHED, FAILED, CANCELLED = "finished", "failed", "cancelled"
# Reasons this module adds to protocol.REASONS for failed / cancelled receipts.
SUPERSEDED = "superseded"  # an Update replaced the alert
PLAYER_ERROR = "player_error"

MSG_TYPES = ("Alert", "Update", "Cancel")
AUDIO_RETRY_PAUSES: tuple[float | None, ...] = (1.0, 4.0, None)  # a download gets three tries
EBM_ID_LENGTH = 35


# ---------------------------------------------------------------------------------------------
# Topics and receipts.


def region_topics(village_code: str) -> list[str]:
    """The region topic filters of a terminal: one per covering code, national root first."""
    return [f"rc/v1/down/r/{code}/+" for code in protocol.covering_codes(village_code)]


def terminal_topic(terminal_id: str) -> str:
    return f"rc/v1/down/t/{terminal_id}"


def receipt_topic(terminal_id: str) -> str:
    return f"rc/v1/up/{terminal_id}/receipt"


def status_topic(terminal_id: str) -> str:
    return f"rc/v1/up/{terminal_id}/status"


def subscriptions(terminal_id: str, village_code: str) -> list[tuple[str, int]]:
    return [(t, 1) for t in [*region_topics(village_code), terminal_topic(terminal_id)]]


def local_now_iso() -> str:
    return datetime.now().astimezone().isoformat(timespec="milliseconds")


_json_str = json.encoder.encode_basestring  # the C string encoder json.dumps uses (no ASCII escaping)


def receipt_bytes(*, terminal: str, ebm_id: str, event: str, reason: str = "", at: str | None = None) -> bytes:
    """One receipt (§5) as compact UTF-8 JSON (assembled directly: the simulator sends thousands)."""
    return (
        f'{{"terminal":{_json_str(terminal)},"ebm_id":{_json_str(ebm_id)},"event":{_json_str(event)},'
        f'"reason":{_json_str(reason)},"at":{_json_str(at or local_now_iso())}}}'
    ).encode()


def receipts_bytes(*, terminal: str, ebm_id: str, events: list[tuple[str, str, str]]) -> bytes:
    """Several receipts of one message in one MQTT message (§5): `events` is [(event, reason, at)].

    A terminal sends what happened within a few milliseconds together (received and started, when
    the audio came inline), which halves the uplink messages of a broadcast.
    """
    if len(events) == 1:
        event, reason, at = events[0]
        return receipt_bytes(terminal=terminal, ebm_id=ebm_id, event=event, reason=reason, at=at)
    items = ",".join(
        f'{{"event":{_json_str(event)},"reason":{_json_str(reason)},"at":{_json_str(at)}}}'
        for event, reason, at in events
    )
    return f'{{"terminal":{_json_str(terminal)},"ebm_id":{_json_str(ebm_id)},"events":[{items}]}}'.encode()


def peek_ebm_id(data: bytes, topic: str) -> str:
    """Best-effort EBM id for a `rejected` receipt, from a message that did not pass the checks.

    Unverified, so used only to address the receipt: the payload's `ebm_id` if it can be read,
    else the last level of a region topic (`…/<region>/<ebm-id>`), else "".
    """
    with contextlib.suppress(Exception):
        envelope = protocol.message_split(data)[0]
        value = json.loads(base64.b64decode(json.loads(envelope)["payload"]))["ebm_id"]
        if isinstance(value, str) and len(value) <= 64:
            return value
    last = topic.rsplit("/", 1)[-1]
    return last if topic.startswith("rc/v1/down/r/") and last.isdigit() else ""


# ---------------------------------------------------------------------------------------------
# Rule 7 and withdrawn alerts, remembered across restarts.


class DedupeStore:
    """(ebm_id, msg_type) pairs already handled, and EBM ids withdrawn by a Cancel or Update.

    A pair is `add`ed when the message is accepted and `complete`d once it is dealt with (played
    to the end, cancelled, failed, expired). Only completed pairs survive a restart: an alert that
    was interrupted by a power cut, or still waiting in the queue, is accepted again when the
    broker redelivers it (retained) and plays from the start — a played alert is never replayed.

    Entries are kept until their alert expires (after that rule 5 refuses the message anyway) plus
    a day of margin for clock skew. With a `path` the store is a JSON file rewritten atomically on
    every change (a handful of entries on a real terminal); without one it lives in memory (the
    simulator's virtual terminals).
    """

    KEEP_AFTER_EXPIRY = timedelta(days=1)

    def __init__(self, path: Path | None = None) -> None:
        self.path = path
        self._seen: dict[tuple[str, str], tuple[datetime, bool]] = {}  # → (keep until, completed)
        self._withdrawn: dict[str, datetime] = {}
        if path is not None and path.exists():
            self._load(path)

    def _load(self, path: Path) -> None:
        try:
            data = json.loads(path.read_text("utf-8"))
            for ebm_id, msg_type, until, completed in data.get("seen", []):
                if completed:
                    self._seen[(ebm_id, msg_type)] = (datetime.fromisoformat(until), True)
            for ebm_id, until in data.get("withdrawn", []):
                self._withdrawn[ebm_id] = datetime.fromisoformat(until)
        except (OSError, ValueError, TypeError) as exc:
            # A corrupt store must not stop the loudspeaker; the cost is that alerts still valid
            # may be played once more.
            log.error("dedupe store %s unreadable (%s); starting empty", path, exc)
            self._seen.clear()
            self._withdrawn.clear()

    def save(self) -> None:
        if self.path is None:
            return
        data = {
            "seen": [[e, m, t.isoformat(), done] for (e, m), (t, done) in self._seen.items()],
            "withdrawn": [[e, t.isoformat()] for e, t in self._withdrawn.items()],
        }
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".seen-")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(data, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def seen(self, ebm_id: str, msg_type: str) -> bool:
        return (ebm_id, msg_type) in self._seen

    def add(self, ebm_id: str, msg_type: str, expires: datetime) -> None:
        self._seen[(ebm_id, msg_type)] = (expires + self.KEEP_AFTER_EXPIRY, False)

    def complete(self, ebm_id: str, msg_type: str) -> None:
        entry = self._seen.get((ebm_id, msg_type))
        if entry is not None:
            self._seen[(ebm_id, msg_type)] = (entry[0], True)

    def withdraw(self, ebm_id: str, expires: datetime) -> None:
        self._withdrawn[ebm_id] = expires + self.KEEP_AFTER_EXPIRY

    def is_withdrawn(self, ebm_id: str) -> bool:
        return ebm_id in self._withdrawn

    def prune(self, now: datetime) -> None:
        self._seen = {k: v for k, v in self._seen.items() if v[0] >= now}
        self._withdrawn = {k: t for k, t in self._withdrawn.items() if t >= now}

    def __len__(self) -> int:
        return len(self._seen)


def alert_expires(payload: dict[str, Any]) -> datetime:
    """The `expires` of a payload that passed `alert_check`."""
    return datetime.fromisoformat(payload["expires"])  # alert_check has validated it


def alert_admit(
    payload: dict[str, Any],
    *,
    village_code: str,
    store: DedupeStore,
    now: datetime | None = None,
    freshness: timedelta = protocol.DEFAULT_FRESHNESS,
) -> dict[str, Any]:
    """Rules 4 (the fields this module relies on) to 7 for a payload that passed rules 1–4.

    Raises Rejected with the receipt reason (`duplicate` included: the caller sends no receipt for
    it). On success the (ebm_id, msg_type) pair is recorded in `store` (the caller saves it). Does
    not modify `payload` (the simulator shares one between its virtual terminals).
    """
    ebm_id, msg_type = payload.get("ebm_id"), payload.get("msg_type")
    if not (isinstance(ebm_id, str) and len(ebm_id) == EBM_ID_LENGTH and ebm_id.isascii() and ebm_id.isdigit()):
        raise Rejected(protocol.MALFORMED, "ebm_id is not 35 digits")
    if msg_type not in MSG_TYPES:
        raise Rejected(protocol.MALFORMED, f"msg_type {msg_type!r}")
    references = payload.get("references", [])
    if not isinstance(references, list) or not all(isinstance(r, str) for r in references):
        raise Rejected(protocol.MALFORMED, "references is a list of EBM ids")
    if msg_type != "Alert" and not references:
        raise Rejected(protocol.MALFORMED, f"an {msg_type} names the alert it replaces in references")
    protocol.alert_check(payload, village_code=village_code, now=now or datetime.now(UTC), freshness=freshness)
    if store.seen(ebm_id, msg_type):
        raise Rejected(protocol.DUPLICATE, f"{ebm_id} {msg_type}")
    store.add(ebm_id, msg_type, alert_expires(payload))
    return payload


def alert_accept(
    data: bytes,
    *,
    trust: TrustList,
    village_code: str,
    store: DedupeStore,
    now: datetime | None = None,
    freshness: timedelta = protocol.DEFAULT_FRESHNESS,
    cache: VerifyCache | None = None,
) -> dict[str, Any]:
    """Rules 1–7 of docs/protocols.md §4 for one region or terminal message; returns the payload.

    Rules 1–4 are `protocol.open_envelope` (decode, trust list, signature, parse), then
    `alert_admit`. Raises Rejected with the receipt reason.
    """
    _, payload = protocol.open_envelope(data, trust, cache=cache)
    return alert_admit(payload, village_code=village_code, store=store, now=now, freshness=freshness)


def _int_in(value: Any, low: int, high: int, default: int) -> int:
    return min(max(value, low), high) if type(value) is int else default


def is_drill(payload: dict[str, Any]) -> bool:
    return payload.get("status") != "Actual" or payload.get("drill") is True


def playback_of(payload: dict[str, Any], audio: Path | None) -> Playback:
    meta = payload.get("audio") if isinstance(payload.get("audio"), dict) else {}
    assert isinstance(meta, dict)
    seconds = meta.get("seconds")
    return Playback(
        ebm_id=payload["ebm_id"],
        title=str(payload.get("title", "")),
        text=str(payload.get("text", "")),
        audio=audio,
        sha256=str(meta.get("sha256", "")),
        mime=str(meta.get("mime", "")),
        seconds=float(seconds) if isinstance(seconds, int | float) and seconds > 0 else 0.0,
        volume=_int_in(payload.get("volume"), 0, 100, 100),
        repeat=_int_in(payload.get("repeat"), 1, 10, 1),
        severity=_int_in(payload.get("severity"), 1, 4, 4),
        drill=is_drill(payload),
    )


# ---------------------------------------------------------------------------------------------
# Audio: inline or URL, checked against its SHA-256 and cached under that name.


class AudioError(Exception):
    pass


class AttachmentError(AudioError):
    """The message's own attachment is missing or wrong: trying again cannot help."""


EXTENSIONS = {
    "audio/mpeg": ".mp3",
    "audio/wav": ".wav",
    "audio/x-wav": ".wav",
    "audio/ogg": ".ogg",
    "audio/aac": ".aac",
}


class AudioCache:
    """Audio files by SHA-256 in one directory; a file is only ever written after its hash matched."""

    def __init__(self, directory: Path, *, max_bytes: int = 50 * 1024 * 1024, timeout: float = 30.0) -> None:
        self.directory = directory
        self.max_bytes = max_bytes
        self.timeout = timeout

    def _target(self, sha256: str, mime: str) -> Path:
        return self.directory / f"{sha256}{EXTENSIONS.get(mime, '.bin')}"

    def _store(self, target: Path, raw: bytes) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.directory, prefix=".part-")
        with os.fdopen(fd, "wb") as handle:
            handle.write(raw)
        os.replace(tmp, target)

    async def fetch(self, audio: Any, attachment: bytes | None = None) -> Path | None:
        """The verified local file of a payload's `audio` (None when the alert carries none).

        The audio comes attached to the message (`attachment`, protocols.md §3), inline in the
        payload, or from its URL; whichever it is, it must match the signed SHA-256."""
        if audio is None:
            return None
        if not isinstance(audio, dict):
            raise AudioError("audio is not an object")
        sha256 = audio.get("sha256")
        if not (isinstance(sha256, str) and len(sha256) == 64 and all(c in "0123456789abcdef" for c in sha256)):
            raise AudioError("audio.sha256 is not a lowercase SHA-256")
        target = self._target(sha256, str(audio.get("mime", "")))
        if target.exists() and hashlib.sha256(target.read_bytes()).hexdigest() == sha256:
            return target
        inline, url = audio.get("inline"), audio.get("url")
        if audio.get("attached") is True:
            try:
                raw = protocol.attached_audio(audio, attachment) or b""
            except ValueError as exc:
                raise AttachmentError(str(exc)) from None
        elif isinstance(inline, str) and inline:
            try:
                raw = base64.b64decode(inline, validate=True)
            except (binascii.Error, ValueError) as exc:
                raise AudioError(f"inline audio is not base64: {exc}") from None
        elif isinstance(url, str) and url:
            raw = await asyncio.to_thread(self._download, url)
        else:
            raise AudioError("audio has neither inline data nor a URL")
        if hashlib.sha256(raw).hexdigest() != sha256:
            raise AudioError("audio does not match its SHA-256")
        self._store(target, raw)
        return target

    def _download(self, url: str) -> bytes:
        if not url.startswith(("http://", "https://")):
            raise AudioError(f"audio URL scheme not allowed: {url[:40]}")
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:  # noqa: S310 (scheme checked)
                raw = response.read(self.max_bytes + 1)
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise AudioError(f"audio download failed: {exc}") from None
        if len(raw) > self.max_bytes:
            raise AudioError(f"audio larger than {self.max_bytes} bytes")
        return raw


# ---------------------------------------------------------------------------------------------
# Configuration (the provisioning file).


@dataclass
class AgentConfig:
    """A terminal's provisioning: who it is, where the broker is, whom it trusts, how it plays."""

    terminal_id: str
    village_code: str
    trust: TrustList
    cache_dir: Path
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    username: str | None = None
    password: str | None = None
    sink: dict[str, Any] | str | None = None
    freshness: timedelta = protocol.DEFAULT_FRESHNESS
    keepalive: int = 60
    reconnect_base: float = 1.0
    reconnect_cap: float = 60.0
    status_interval: float = 60.0  # seconds between status reports (§7); 0: only on connect
    reboot_command: list[str] | None = None  # what `reboot` runs (default: reconnect only)
    firmware_command: list[str] | None = None  # installs a verified firmware file (its path is appended)
    probe: list[str] | None = None  # a vendor command printing a JSON object of readings
    firmware: str = ""
    model: str = ""  # the device model a firmware manifest must name (ruralcast_terminal.firmware)
    volume: int = 80

    def __post_init__(self) -> None:
        protocol.covering_codes(self.village_code)  # raises ValueError for a bad code
        if not self.terminal_id or any(c in self.terminal_id for c in "/+#"):
            raise ValueError(f"terminal id {self.terminal_id!r} cannot be an MQTT topic level")

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: Path | None = None) -> AgentConfig:
        """Keys: terminal_id, village_code, broker ("host:port") or broker_host/broker_port,
        username, password, trust (the list itself) or trust_path, cache_dir, sink,
        freshness_seconds, keepalive, reconnect_base, reconnect_cap, status_interval, probe (argv),
        firmware, model, volume. Relative paths are read
        from `base` (the provisioning file's directory)."""
        base = base or Path.cwd()

        def path(value: str) -> Path:
            p = Path(value).expanduser()
            return p if p.is_absolute() else base / p

        missing = [k for k in ("terminal_id", "village_code", "cache_dir") if not data.get(k)]
        if missing:
            raise ValueError(f"provisioning file lacks {', '.join(missing)}")
        if "trust" in data and not isinstance(data["trust"], str):
            trust = TrustList.from_list(data["trust"])
        elif data.get("trust_path") or isinstance(data.get("trust"), str):
            trust = TrustList.from_json(path(data.get("trust_path") or data["trust"]).read_bytes())
        else:
            raise ValueError("provisioning file lacks trust (a list) or trust_path")
        host, port = data.get("broker_host", "127.0.0.1"), int(data.get("broker_port", 1883))
        if data.get("broker"):
            host, _, port_text = str(data["broker"]).rpartition(":")
            port = int(port_text)
        return cls(
            terminal_id=str(data["terminal_id"]),
            village_code=str(data["village_code"]),
            trust=trust,
            cache_dir=path(str(data["cache_dir"])),
            broker_host=host,
            broker_port=port,
            username=data.get("username"),
            password=data.get("password"),
            sink=data.get("sink"),
            freshness=timedelta(
                seconds=float(data.get("freshness_seconds", protocol.DEFAULT_FRESHNESS.total_seconds()))
            ),
            keepalive=int(data.get("keepalive", 60)),
            reconnect_base=float(data.get("reconnect_base", 1.0)),
            reconnect_cap=float(data.get("reconnect_cap", 60.0)),
            status_interval=float(data.get("status_interval", 60.0)),
            probe=[str(part) for part in data["probe"]] if isinstance(data.get("probe"), list) else None,
            firmware=str(data.get("firmware", "")),
            model=str(data.get("model", "")),
            reboot_command=[str(p) for p in data["reboot_command"]]
            if isinstance(data.get("reboot_command"), list)
            else None,
            firmware_command=[str(p) for p in data["firmware_command"]]
            if isinstance(data.get("firmware_command"), list)
            else None,
            volume=int(data.get("volume", 80)),
        )

    @classmethod
    def load(cls, path: Path) -> AgentConfig:
        """Read a provisioning file: TOML if it ends in .toml, JSON otherwise."""
        text = path.read_bytes()
        data = tomllib.loads(text.decode("utf-8")) if path.suffix == ".toml" else json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a provisioning file holds one object")
        return cls.from_dict(data, base=path.parent)


# ---------------------------------------------------------------------------------------------
# The agent.


_sequence = itertools.count()


@dataclass(order=True)
class _Item:
    rank: tuple[int, ...]  # priority.Claim.rank: smaller plays first
    playback: Playback = field(compare=False)
    claim: priority.Claim = field(compare=False)
    expires: datetime = field(compare=False)
    msg_type: str = field(default="Alert", compare=False)
    started: bool = field(default=False, compare=False)
    stop_reason: str | None = field(default=None, compare=False)
    programme: bool = field(default=False, compare=False)  # a scheduled entry (`playout`), not an alert

    @property
    def ebm_id(self) -> str:
        return self.playback.ebm_id

    def outranks(self, other: _Item) -> bool:
        return self.claim.preempts(other.claim)


class Agent:
    """One terminal. `await agent.start()`, later `await agent.stop()`; or `await agent.run()`."""

    def __init__(self, config: AgentConfig, *, sink: AudioSink | None = None) -> None:
        self.config = config
        self.sink = sink or sink_from_config(config.sink, cache_dir=config.cache_dir)
        self.store = DedupeStore(config.cache_dir / "seen.json")
        self.audio = AudioCache(config.cache_dir / "audio")
        tid = config.terminal_id
        self.client = Client(
            tid,
            config.broker_host,
            config.broker_port,
            username=config.username,
            password=config.password,
            clean_session=False,  # the broker keeps QoS 1 messages for us while we are away
            keepalive=config.keepalive,
            will=Will(status_topic(tid), b'{"online":false}', qos=1, retain=True),
            subscriptions=subscriptions(tid, config.village_code),
            on_message=self._on_message,
            on_connect=self._on_connect,
            reconnect_base=config.reconnect_base,
            reconnect_cap=config.reconnect_cap,
        )
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._queue: list[_Item] = []
        self._current: _Item | None = None
        self._current_task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._preparing: set[asyncio.Task[None]] = set()
        self.receipts: list[tuple[str, str, str]] = []  # (ebm_id, event, reason) sent, for status and tests
        self.trust, self.trust_version = self._trust_load()
        self._unsent: dict[str, list[tuple[str, str, str]]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self.probe = StatusProbe(storage=config.cache_dir, command=config.probe)
        self.volume = config.volume
        self.last_playback: dict[str, str] | None = None
        self.playback_failures = 0  # consecutive
        self.status_seq = 0
        self.powered = True
        self._commands_seen: set[str] = set()
        self.live = live.LiveReceiver(  # live voice (live.py): its own checks, jitter buffer and sink
            village_code=config.village_code,
            sink=live.live_sink_from_config(config.sink, cache_dir=config.cache_dir),
            receipt=self._receipt,
            blocked=lambda: self._current.claim if self._current is not None else None,
            preempt=self._live_preempts,
        )
        self.playout = Playout(
            terminal_id=tid,
            village_code=config.village_code,
            directory=config.cache_dir,
            trust=lambda: self.trust,
            enqueue=self._programme_enqueue,
            fetch=AudioCache(config.cache_dir / "programme").fetch,
            client=self.client,
        )

    # -- lifetime ------------------------------------------------------------------------------

    async def start(self) -> None:
        crypto.warm_up()
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        self.store.prune(datetime.now(UTC))
        self._tasks = [
            asyncio.create_task(self._consume(), name="agent:consume"),
            asyncio.create_task(self._player(), name="agent:player"),
        ]
        if self.config.status_interval > 0:
            self._tasks.append(asyncio.create_task(self._status_loop(), name="agent:status"))
        self._tasks.extend(self.playout.tasks())
        self.client.start()

    async def stop(self, *, flush_timeout: float = 2.0) -> None:
        """Stop playing, give queued receipts a moment to reach the broker, disconnect."""
        playing = self._current_task
        for task in [*self._tasks, *self._preparing]:
            task.cancel()
        if playing is not None:
            playing.cancel()
        for task in [*self._tasks, *self._preparing, *([playing] if playing else [])]:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._flush_handle is not None:
            self._flush_handle.cancel()
        await self.live.aclose()
        self._flush_receipts()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + flush_timeout
        while self.client.pending and self.client.is_connected and loop.time() < deadline:
            await asyncio.sleep(0.02)
        with contextlib.suppress(Exception):
            await self.client.publish(status_topic(self.config.terminal_id), b'{"online":false}', qos=0, retain=True)
        await self.client.disconnect()
        await self.sink.aclose()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        await self.start()
        try:
            await (stop or asyncio.Event()).wait()
        finally:
            await self.stop()

    # -- MQTT side -----------------------------------------------------------------------------

    def _on_connect(self, session_present: bool) -> None:
        log.info("%s connected (session present: %s)", self.config.terminal_id, session_present)
        # Retained, so it replaces the last will: the platform reads "online" even after a restart.
        self.client.publish_nowait(status_topic(self.config.terminal_id), self.status_report(), qos=1, retain=True)

    def status_report(self) -> bytes:
        """One status report (§7): the probe's readings and what the agent knows itself."""
        self.status_seq += 1
        report: dict[str, Any] = {
            "terminal": self.config.terminal_id,
            "online": True,
            "at": local_now_iso(),
            "seq": self.status_seq,
            "interval": self.config.status_interval,
            "volume": self.volume,
            "playback_failures": self.playback_failures,
        }
        if self.config.firmware:
            report["firmware"] = self.config.firmware
        if not self.powered:
            report["power"] = "off"
        report.update(self.probe.read())
        if self.last_playback is not None:
            report["last_playback"] = self.last_playback
        return status_bytes(report)

    async def _status_loop(self) -> None:
        """A report every `status_interval` seconds while connected (QoS 1, not retained)."""
        while True:
            await asyncio.sleep(self.config.status_interval)
            if self.client.is_connected:
                body = await asyncio.to_thread(self.status_report) if self.config.probe else self.status_report()
                self.client.publish_nowait(status_topic(self.config.terminal_id), body, qos=1)

    # -- remote commands (§8) ------------------------------------------------------------------

    def _ack(self, command_id: str, result: str, detail: str = "") -> None:
        body = commands.ack_bytes(
            terminal=self.config.terminal_id, command_id=command_id, result=result, detail=detail, at=local_now_iso()
        )
        self.client.publish_nowait(commands.ack_topic(self.config.terminal_id), body, qos=1)

    def _command(self, payload: dict[str, Any]) -> None:
        """Carry out a signed command meant for this terminal, once, and acknowledge it."""
        try:
            command_id, command, params = commands.command_check(
                payload,
                terminal_id=self.config.terminal_id,
                village_code=self.config.village_code,
                now=datetime.now(UTC),
            )
        except commands.NotForMe:
            return
        except commands.Refused as refused:
            if isinstance(payload.get("id"), str) and payload["id"] not in self._commands_seen:
                self._commands_seen.add(payload["id"])
                self._ack(payload["id"], commands.REJECTED, str(refused))
            return
        if command_id in self._commands_seen:
            return
        self._commands_seen.add(command_id)
        log.info("%s command %s %s %s", self.config.terminal_id, command_id, command, params)
        try:
            if command == "power":
                self.powered = params.get("on") is True
            elif command == "volume":
                self.volume = _int_in(params.get("volume"), 0, 100, self.volume)
            elif command == "config":
                if isinstance(params.get("status_interval"), int):
                    self.config.status_interval = float(min(max(params["status_interval"], 10), 3600))
                if isinstance(params.get("volume"), int):
                    self.volume = _int_in(params["volume"], 0, 100, self.volume)
            elif command == "time_sync":
                sent = datetime.fromisoformat(str(payload.get("sent")))
                offset = (datetime.now(UTC) - sent).total_seconds() * 1000
                self._ack(command_id, commands.DONE, f"offset_ms={offset:.0f}")
                return
            elif command == "reboot":
                self._ack(command_id, commands.DONE)
                asyncio.get_running_loop().call_later(0.5, self._reboot)
                return
            elif command == "firmware":
                task = asyncio.create_task(self._firmware(command_id, params), name=f"agent:firmware:{command_id}")
                self._preparing.add(task)
                task.add_done_callback(self._preparing.discard)
                return
        except (TypeError, ValueError) as exc:
            self._ack(command_id, commands.FAILED, str(exc))
            return
        self._ack(command_id, commands.DONE)

    def _reboot(self) -> None:
        if self.config.reboot_command:
            import subprocess

            subprocess.Popen(self.config.reboot_command)
        else:
            self.client.abort()  # a soft restart: the connection (and the session) come back

    async def _firmware(self, command_id: str, params: dict[str, Any]) -> None:
        """Check the signed manifest (`firmware.manifest_check`), download and verify the file, hand
        it to the installer (`firmware_command`)."""
        try:
            manifest = firmware.manifest_check(
                params,
                trust=self.trust,
                model=self.config.model,
                village_code=self.config.village_code,
                now=datetime.now(UTC),
            )
        except firmware.FirmwareRefused as refused:
            self._ack(command_id, commands.REJECTED, str(refused))
            return
        try:
            raw = await asyncio.to_thread(firmware.download, manifest)
            path = self.config.cache_dir / f"firmware-{manifest.sha256[:16]}.bin"
            path.write_bytes(raw)
        except (firmware.FirmwareFailed, OSError) as exc:
            self._ack(command_id, commands.FAILED, str(exc))
            return
        if not self.config.firmware_command:
            self._ack(command_id, commands.FAILED, "no firmware installer configured")
            return
        process = await asyncio.create_subprocess_exec(*self.config.firmware_command, str(path))
        code = await process.wait()
        if code == 0:
            self.config.firmware = manifest.version
            self._ack(command_id, commands.DONE, f"installed {self.config.firmware}")
        else:
            self._ack(command_id, commands.FAILED, f"installer exited {code}")

    def _played(self, ebm_id: str, result: str) -> None:
        self.last_playback = {"ebm_id": ebm_id, "at": local_now_iso(), "result": result}
        self.playback_failures = self.playback_failures + 1 if result == FAILED else 0

    def _on_message(self, msg: Message) -> None:
        self._inbox.put_nowait(msg)

    def _receipt(self, ebm_id: str, event: str, reason: str = "") -> None:
        """Queue a receipt; what is queued within RECEIPT_COALESCE_SECONDS goes out as one message.

        A scheduled entry gets no receipt: its outcome goes to the playback log (`playout`)."""
        if self.playout.owns(ebm_id):
            self.playout.outcome(ebm_id, event, reason)
            return
        self.receipts.append((ebm_id, event, reason))
        log.info("%s receipt %s %s %s", self.config.terminal_id, ebm_id, event, reason)
        self._unsent.setdefault(ebm_id, []).append((event, reason, local_now_iso()))
        if self._flush_handle is None:
            self._flush_handle = asyncio.get_running_loop().call_later(RECEIPT_COALESCE_SECONDS, self._flush_receipts)

    def _flush_receipts(self) -> None:
        self._flush_handle = None
        unsent, self._unsent = self._unsent, {}
        for ebm_id, events in unsent.items():
            body = receipts_bytes(terminal=self.config.terminal_id, ebm_id=ebm_id, events=events)
            self.client.publish_nowait(receipt_topic(self.config.terminal_id), body, qos=1)

    def _complete(self, ebm_id: str, msg_type: str) -> None:
        self.store.complete(ebm_id, msg_type)
        self.store.save()

    async def _consume(self) -> None:
        while True:
            msg = await self._inbox.get()
            try:
                self.handle(msg)
            except Exception:
                log.exception("failed to handle a message on %s", msg.topic)

    # -- decisions -----------------------------------------------------------------------------

    def handle(self, msg: Message) -> None:
        """Apply the rules to one message and act on it (synchronous; audio is fetched in a task)."""
        if not msg.payload:
            return  # the platform cleared a retained alert
        try:
            envelope, opened = protocol.open_envelope(msg.payload, self.trust)
            if protocol.is_trust_update(opened):
                self._trust_update(opened, signer=envelope.serial)
                return
            if commands.is_command(opened):
                self._command(opened)
                return
            if live.is_live(opened):
                self.live.handle(opened, protocol.message_split(msg.payload)[1])
                return
            if protocol.is_schedule(opened):
                self._schedule(msg.payload, opened)
                return
            payload = alert_admit(
                opened,
                village_code=self.config.village_code,
                store=self.store,
                freshness=self.config.freshness,
            )
        except Rejected as rejected:
            if rejected.reason == protocol.DUPLICATE:
                log.debug("duplicate %s ignored", rejected.detail)
                return
            log.warning("rejected a message on %s: %s", msg.topic, rejected)
            self._receipt(peek_ebm_id(msg.payload, msg.topic), REJECTED, rejected.reason)
            return
        ebm_id, msg_type = payload["ebm_id"], payload["msg_type"]
        self._receipt(ebm_id, RECEIVED)
        if msg_type in ("Cancel", "Update"):
            self._withdraw(
                set(payload["references"]),
                reason="" if msg_type == "Cancel" else SUPERSEDED,
                until=alert_expires(payload),
            )
        if msg_type == "Cancel":
            self._complete(ebm_id, msg_type)
            return
        if self.store.is_withdrawn(ebm_id):
            self._receipt(ebm_id, CANCELLED, "already withdrawn")
            self._complete(ebm_id, msg_type)
            return
        attachment = protocol.message_split(msg.payload)[1]
        task = asyncio.create_task(self._prepare(payload, attachment), name=f"agent:audio:{ebm_id}")
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    # -- trust list --------------------------------------------------------------------------

    def _trust_load(self) -> tuple[TrustList, int]:
        """The newest trust list: an update kept in the cache, or the provisioning file's."""
        path = self.config.cache_dir / TRUST_FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return TrustList.from_list(saved["keys"]), int(saved["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return self.config.trust, 0

    def _trust_update(self, payload: dict[str, Any], *, signer: str) -> None:
        """A signed trust-list update (protocols.md §6): adopt it if newer and vouched for."""
        try:
            result = protocol.trust_update_apply(
                payload, current=self.trust, current_version=self.trust_version, signer=signer
            )
        except Rejected as rejected:
            log.warning("ignored a malformed trust-list update: %s", rejected)
            return
        if result is None:
            log.info("trust-list update ignored (not newer, or its signer is not trusted in it)")
            return
        self.trust, self.trust_version = result
        path = self.config.cache_dir / TRUST_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(
            json.dumps({"version": self.trust_version, "keys": self.trust.to_list()}), encoding="utf-8"
        )
        temporary.replace(path)
        log.info("trust list updated to version %s (%s keys)", self.trust_version, len(self.trust))

    def _withdraw(self, ebm_ids: set[str], *, reason: str, until: datetime) -> None:
        for ebm_id in ebm_ids:
            self.store.withdraw(ebm_id, until)
        self.store.save()
        kept = []
        for item in self._queue:
            if item.ebm_id in ebm_ids:
                self._receipt(item.ebm_id, CANCELLED, reason)
                self._complete(item.ebm_id, item.msg_type)
            else:
                kept.append(item)
        if len(kept) != len(self._queue):
            self._queue = kept
            heapq.heapify(self._queue)
        current = self._current
        if current is not None and current.ebm_id in ebm_ids and self._current_task is not None:
            current.stop_reason = reason or CANCELLED
            self._current_task.cancel()  # the player sends `cancelled` once the sink has stopped

    async def _prepare(self, payload: dict[str, Any], attachment: bytes | None = None) -> None:
        ebm_id, msg_type = payload["ebm_id"], payload["msg_type"]
        for attempt, pause in enumerate(AUDIO_RETRY_PAUSES):
            try:
                audio = await self.audio.fetch(payload.get("audio"), attachment)
                break
            except AudioError as exc:
                log.warning("%s: %s (attempt %d)", ebm_id, exc, attempt + 1)
                if self.store.is_withdrawn(ebm_id):
                    break
                if pause is None or isinstance(exc, AttachmentError):
                    # Left incomplete on purpose: after a restart the alert is tried again.
                    self._receipt(ebm_id, FAILED, protocol.AUDIO_FAILED)
                    return
                await asyncio.sleep(pause)
        if self.store.is_withdrawn(ebm_id):  # cancelled while the audio was downloading
            self._receipt(ebm_id, CANCELLED, "")
            self._complete(ebm_id, msg_type)
            return
        playback = playback_of(payload, audio)
        claim = priority.alert_claim(
            severity=playback.severity, sender=payload.get("sender"), drill=playback.drill, seq=next(_sequence)
        )
        self._enqueue(_Item(claim.rank, playback, claim, alert_expires(payload), msg_type=msg_type))

    def _enqueue(self, item: _Item) -> None:
        heapq.heappush(self._queue, item)
        current = self._current
        if current is not None and self._current_task is not None and item.outranks(current):
            log.info("%s pre-empts %s", item.ebm_id, current.ebm_id)
            current.stop_reason = "preempted"
            self._current_task.cancel()
        self._wake.set()

    # -- the daily programme (playout.py) -------------------------------------------------------

    def _schedule(self, data: bytes, payload: dict[str, Any]) -> None:
        """A verified schedule document: adopted if it is this village's and newer (no receipt either way)."""
        try:
            self.playout.document(data, payload)
        except Rejected as rejected:
            level = logging.DEBUG if rejected.reason == protocol.DUPLICATE else logging.WARNING
            log.log(level, "schedule document ignored: %s", rejected)

    def _programme_enqueue(self, playback: Playback, claim: priority.Claim, ends: datetime) -> None:
        self._enqueue(_Item(claim.rank, playback, claim, ends, programme=True))

    def _live_preempts(self, claim: priority.Claim) -> None:
        """A live session takes the loudspeaker: stop what it outranks (a programme, never an alert)."""
        current = self._current
        if current is not None and self._current_task is not None and claim.preempts(current.claim):
            log.info("live voice pre-empts %s", current.ebm_id)
            current.stop_reason = "preempted"
            self._current_task.cancel()

    async def _live_over(self, item: _Item) -> None:
        """Wait while a live session that outranks the item holds the loudspeaker (三级插播).

        An entry whose slot ends meanwhile is given up like a pre-empted one (the player then
        finds it expired and the playback log says so)."""
        while (live_claim := self.live.claim) is not None and live_claim.preempts(item.claim):
            left = (item.expires - datetime.now(UTC)).total_seconds()
            if left <= 0:
                item.stop_reason = "preempted"
                raise asyncio.CancelledError
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.live.silent.wait(), timeout=left)

    # -- playing -------------------------------------------------------------------------------

    @property
    def playing(self) -> str | None:
        """The EBM id on the loudspeaker now."""
        return self._current.ebm_id if self._current is not None else None

    async def _play(self, item: _Item) -> None:
        if item.programme:
            await self._live_over(item)  # a programme waits out live voice, then resumes
            await self.playout.play(item.playback, self.sink)
            return
        if not item.started:
            item.started = True
            self._receipt(item.ebm_id, STARTED)
        await self.live.yield_to(item.claim)  # an alert drops live voice (priority.after_preemption)
        await self.sink.play(item.playback)

    async def _player(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            item = heapq.heappop(self._queue)
            if datetime.now(UTC) > item.expires:
                self._receipt(item.ebm_id, FAILED, protocol.EXPIRED)
                self._complete(item.ebm_id, item.msg_type)
                continue
            item.stop_reason = None
            self._current = item
            task = asyncio.create_task(self._play(item), name=f"agent:play:{item.ebm_id}")
            self._current_task = task
            try:
                await asyncio.wait([task])
            finally:
                self._current, self._current_task = None, None
                if not task.done():  # the agent is stopping: stop the loudspeaker too
                    task.cancel()
            if task.cancelled():
                if item.stop_reason == "preempted":
                    outcome = priority.after_preemption(item.claim)
                    if outcome is not priority.AfterPreemption.DROP:
                        heapq.heappush(self._queue, item)  # alerts: again from the start afterwards
                        continue
                reason = item.stop_reason if item.stop_reason not in (None, CANCELLED) else ""
                self._receipt(item.ebm_id, CANCELLED, reason or "")
            elif (exc := task.exception()) is not None:
                log.error("%s: playback failed: %s", item.ebm_id, exc)
                self._receipt(item.ebm_id, FAILED, PLAYER_ERROR if isinstance(exc, PlaybackError) else "error")
                self._played(item.ebm_id, FAILED)
            else:
                self._receipt(item.ebm_id, FINISHED)
                self._played(item.ebm_id, FINISHED)
            self._complete(item.ebm_id, item.msg_type)


async def agent_run(config: AgentConfig) -> None:
    """Run one agent until SIGINT/SIGTERM (the `agent` subcommand)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await Agent(config).run(stop)
