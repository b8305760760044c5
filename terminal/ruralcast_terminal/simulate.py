"""Thousands of virtual terminals against a real broker: what makes the broker's fan-out real.

Each virtual terminal has its own MQTT connection, client id, credentials and subscriptions (the
same topics as the agent: every covering region and its own terminal topic), so the broker fans an
alert out exactly as it would to a fleet of devices. Terminals share one event loop per process
(uvloop's when installed: the `fast` extra) and the load is spread over `--processes` processes
(spawned; one per ~3,000 terminals by default, at most one per CPU).

A virtual terminal runs the agent's own acceptance code and sends the agent's receipts (received,
then started and finished at once since it plays into a `NullSink`; rejected with a reason). One
difference, stated in every summary: rules 1–4 (`protocol.open_envelope`: decode, trust list,
signature through a `VerifyCache`, parse) run once per distinct message per process, and each
virtual terminal applies rules 5–7 (`agent.alert_admit`: expiry, freshness, its own village, its
own duplicate store) itself. The summary counts the verifications and their cost (`verify_us`), so
the cost of a real fleet — where every device verifies — can be read off separately. Audio is likewise checked once per process per SHA-256 (an
inline clip is decoded and hashed; a URL is not fetched by thousands of virtual terminals).

Broker-side needs for 10,000 terminals: mosquitto 2.0 with `max_connections -1` (the default) on the
listener, and a file-descriptor limit above the client count (`ulimit -n 20000`, or
`LimitNOFILE=` in its systemd unit); this process raises its own RLIMIT_NOFILE to the hard limit.

`ruralcast-terminal simulate` prints progress on stderr, a `{"event": "ready", ...}` line on stdout
once every terminal is connected, and a final JSON summary on stdout (and in `--report`).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import binascii
import contextlib
import functools
import hashlib
import itertools
import json
import logging
import math
import multiprocessing
import os
import queue
import resource
import signal
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import crypto, live, protocol
from ruralcast_terminal.agent import (
    CANCELLED,
    FINISHED,
    RECEIVED,
    REJECTED,
    STARTED,
    DedupeStore,
    alert_admit,
    alert_expires,
    local_now_iso,
    peek_ebm_id,
    receipt_bytes,
    receipt_topic,
    receipts_bytes,
    status_topic,
    subscriptions,
)
from ruralcast_terminal.commands import (
    DONE,
    NotForMe,
    Refused,
    ack_bytes,
    ack_topic,
    command_check,
    is_command,
)
from ruralcast_terminal.mqtt import Client, Message, Will, run_event_loop
from ruralcast_terminal.playout import PLAYED, ScheduleEntry, playlog_topic, schedule_check
from ruralcast_terminal.protocol import Envelope, Rejected, TrustList, VerifyCache

log = logging.getLogger(__name__)

TERMINALS_PER_PROCESS = 3000
TERMINAL_TYPE_DIGITS = "03140104"  # as ruralcast.terminals.services: transmission / loudspeaker / terminal


# ---------------------------------------------------------------------------------------------
# Who the virtual terminals are.


@dataclass(frozen=True)
class TerminalSpec:
    terminal_id: str
    village_code: str
    username: str | None = None
    password: str | None = None


def terminal_id_for(village_code: str, serial: int) -> str:
    """The 23-digit resource code the platform gives the `serial`-th terminal of a village."""
    if not 1 <= serial <= 99:
        raise ValueError("a village has terminal serials 1 to 99")
    return f"6{village_code}{TERMINAL_TYPE_DIGITS}{serial:02d}"


# Values per level when villages are made up below a region.
_SYNTHETIC_GROUPS = {2: range(11, 66), 4: range(1, 21), 6: range(1, 21), 9: range(1, 31), 12: range(1, 1000)}
_GROUP_BOUNDS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))


def synthetic_villages(region: str) -> Iterator[str]:
    """Deterministic, well-formed village codes below `region` (for a broker test without a platform)."""
    prefix = protocol.code_prefix(region)
    groups = [(start, end) for start, end in _GROUP_BOUNDS if start >= len(prefix)]
    if not groups:
        yield region
        return
    # The village number varies slowest, so the first codes spread over every township, county …
    # (many distinct region topics, as in a real fleet) before a township gets a second village.
    ranges = [_SYNTHETIC_GROUPS[end] for _, end in reversed(groups)]
    for values in itertools.product(*ranges):
        yield prefix + "".join(
            str(v).zfill(end - start) for v, (start, end) in zip(reversed(values), groups, strict=True)
        )


def read_villages(path: Path) -> list[str]:
    codes = []
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            protocol.covering_codes(line)  # ValueError on a bad code
            codes.append(line)
    return codes


def read_password_file(path: Path) -> list[tuple[str, str]]:
    """`<terminal id>:<password>` per line (the provisioning export), `#` comments allowed."""
    pairs = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tid, sep, password = line.partition(":")
        if not sep or len(tid) != 23 or not tid.isdigit():
            raise ValueError(f"{path}:{number}: expected <23-digit terminal id>:<password>")
        pairs.append((tid, password))
    return pairs


def plan_terminals(
    *,
    count: int,
    region: str,
    villages: Sequence[str] = (),
    password_file: Path | None = None,
    username_prefix: str | None = None,
    password: str | None = None,
) -> list[TerminalSpec]:
    """`count` terminals below `region`, deterministically.

    From a password file: its terminals (the village is digits 2–13 of the id). Otherwise spread
    round-robin over `villages` (or made-up villages below the region, one terminal each), with
    the platform's id scheme; user name `username_prefix + id` when a prefix is given (else the
    broker must allow anonymous clients), all with `password`.
    """
    if count < 1:
        raise ValueError("count is at least 1")
    prefix = protocol.code_prefix(region)
    if password_file is not None:
        pairs = [(tid, pw) for tid, pw in read_password_file(password_file) if tid[1:13].startswith(prefix)]
        if len(pairs) < count:
            raise ValueError(f"{password_file} lists {len(pairs)} terminals below {region}, fewer than {count}")
        return [TerminalSpec(tid, tid[1:13], tid, pw) for tid, pw in pairs[:count]]
    pool = (
        [v for v in villages if v.startswith(prefix)]
        if villages
        else list(itertools.islice(synthetic_villages(region), count))
    )
    if not pool:
        raise ValueError(f"no villages below {region}")
    if math.ceil(count / len(pool)) > 99:
        raise ValueError(f"{count} terminals over {len(pool)} villages exceeds 99 per village")
    specs = []
    for i in range(count):
        village = pool[i % len(pool)]
        tid = terminal_id_for(village, i // len(pool) + 1)
        specs.append(TerminalSpec(tid, village, None if username_prefix is None else username_prefix + tid, password))
    return specs


# ---------------------------------------------------------------------------------------------
# One process's share of the fleet.


class TimedVerifyCache(VerifyCache):
    """A VerifyCache that counts and times the verifications it actually performs."""

    def __init__(self, maxsize: int = 4096) -> None:
        super().__init__(maxsize)
        self.verify_seconds = 0.0

    def verify(self, envelope: Envelope, trust: TrustList) -> None:
        misses = self.misses
        started = time.perf_counter()
        try:
            super().verify(envelope, trust)
        finally:
            if self.misses != misses:
                self.verify_seconds += time.perf_counter() - started


@dataclass
class _Virtual:
    spec: TerminalSpec
    client: Client
    store: DedupeStore = field(default_factory=DedupeStore)
    status_seq: int = 0
    commands: set[str] = field(default_factory=set)
    handled: int = 0  # messages that got a decision (duplicates and cleared retains excluded)
    # Alerts "playing" on this terminal (real-duration playback): ebm id -> the timer sending `finished`.
    playing: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    live: live.LiveState | None = None  # live voice sessions (live.py), made on the first live message
    schedule_version: int = 0  # the highest schedule document it verified and adopted
    schedules: int = 0  # documents adopted so far
    entries: list[ScheduleEntry] = field(default_factory=list)  # of the adopted document (with --playlogs)
    adopted_at: float = 0.0
    logged: set[str] = field(default_factory=set)  # entry keys already reported


@dataclass(frozen=True)
class _Opened:
    """What rules 1–4 said about one distinct message: its payload, or why it was rejected."""

    payload: dict[str, Any] | None
    reason: str = ""
    detail: str = ""
    attachment_ok: bool = True


@dataclass
class FleetStats:
    terminals: int = 0
    connected: int = 0
    connects: int = 0
    messages: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: Counter[str] = field(default_factory=Counter)
    receipts_sent: int = 0
    status_sent: int = 0
    acks_sent: int = 0
    verify_count: int = 0
    verify_seconds: float = 0.0
    handle_seconds: float = 0.0
    audio_checked: int = 0
    audio_failed: int = 0
    arrivals: dict[str, list[float]] = field(default_factory=dict)  # ebm_id → [first, last, count]
    live_chunks: int = 0  # live-voice chunks accepted (each terminal counts its own)
    live_rejected: Counter[str] = field(default_factory=Counter)
    schedule_rejected: Counter[str] = field(default_factory=Counter)
    playlogs_sent: int = 0
    # Schedule version → the wall-clock times (time.time()) at which terminals adopted it.
    schedule_adopted: dict[str, list[float]] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "terminals": self.terminals,
            "connected": self.connected,
            "connects": self.connects,
            "messages": self.messages,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "rejected": dict(self.rejected),
            "receipts_sent": self.receipts_sent,
            "status_sent": self.status_sent,
            "acks_sent": self.acks_sent,
            "verify_count": self.verify_count,
            "verify_seconds": self.verify_seconds,
            "handle_seconds": self.handle_seconds,
            "audio_checked": self.audio_checked,
            "audio_failed": self.audio_failed,
            "arrivals": self.arrivals,
            "live_chunks": self.live_chunks,
            "live_rejected": dict(self.live_rejected),
            "schedule_rejected": dict(self.schedule_rejected),
            "playlogs_sent": self.playlogs_sent,
            "schedule_adopted": self.schedule_adopted,
        }


class Fleet:
    """Virtual terminals sharing this process's event loop. Use inside a running loop."""

    def __init__(
        self,
        specs: Sequence[TerminalSpec],
        *,
        host: str,
        port: int,
        trust: TrustList,
        freshness: timedelta = protocol.DEFAULT_FRESHNESS,
        keepalive: int = 60,
        connect_concurrency: int = 200,
        reconnect_base: float = 1.0,
        reconnect_cap: float = 30.0,
        real_playback: bool = False,
        fault_rate: float = 0.0,
        reports_status: bool = False,
        playlogs: bool = False,
    ) -> None:
        self.trust = trust
        # Virtual loudspeakers "play" the entries of their schedule (null sink) and upload playlogs.
        self.playlogs = playlogs
        self.playlogs_sent = 0
        # False: `finished` follows `started` at once. True: it follows after the audio's length ×
        # repeat, as on a loudspeaker, and a Cancel arriving meanwhile stops it (`cancelled`).
        self.real_playback = real_playback
        self.fault_rate = fault_rate
        # Status reports (and the last will that ends them) only when asked for: the alert
        # benchmark measures receipts alone.
        self.reports_status = reports_status
        self.status_sent = 0
        self.freshness = freshness
        self.cache = TimedVerifyCache()
        self.stats = FleetStats(terminals=len(specs))
        # Totals over all virtual terminals, so that the progress loop need not scan them all
        # (a scan of 5,000 costs about a millisecond) to know whether the minimum can have moved.
        self.decisions = 0
        self.adoptions = 0
        self._audio: dict[str, bool] = {}
        self._opened: dict[tuple[int, bytes], list[tuple[bytes, _Opened]]] = {}
        # Mouth-to-terminal delay (ms) of every live chunk a terminal would play: now − captured_ms.
        self.live_delays_ms: list[int] = []
        gate = asyncio.Semaphore(connect_concurrency)
        self.terminals: list[_Virtual] = []
        for spec in specs:
            client = Client(
                spec.terminal_id,
                host,
                port,
                username=spec.username,
                password=spec.password,
                clean_session=True,
                keepalive=keepalive,
                will=Will(status_topic(spec.terminal_id), b'{"online":false}', qos=1, retain=True)
                if reports_status
                else None,
                subscriptions=subscriptions(spec.terminal_id, spec.village_code),
                reconnect_base=reconnect_base,
                reconnect_cap=reconnect_cap,
                connect_gate=gate,
            )
            vt = _Virtual(spec, client)
            client.on_message = functools.partial(self._on_message, vt)
            self.terminals.append(vt)

    def start(self) -> None:
        for vt in self.terminals:
            if self.reports_status:
                vt.client.on_connect = functools.partial(self._on_connect, vt)
            vt.client.start()

    # -- status reports (§7), as the agent sends them -------------------------------------------

    def status_report(self, vt: _Virtual) -> bytes:
        """A plausible report: readings vary a little; `fault_rate` of the fleet has a speaker fault."""
        tid = vt.spec.terminal_id
        seed = _fraction(tid)
        speaker = "fault" if seed < self.fault_rate else "ok"
        vt.status_seq += 1
        return (
            f'{{"terminal":"{tid}","online":true,"at":"{local_now_iso()}","seq":{vt.status_seq},'
            f'"volume":80,"amplifier":"ok","speaker":"{speaker}","line_level_db":{-12 - 6 * seed:.1f},'
            f'"temperature_c":{28 + 15 * seed + (vt.status_seq % 7) / 10:.1f},"signal_dbm":{-60 - int(40 * seed)},'
            f'"storage_free_mb":{900 + int(100 * seed)},"firmware":"1.0.0","uptime_s":{vt.status_seq * 60},'
            f'"playback_failures":0}}'
        ).encode()

    def _on_connect(self, vt: _Virtual, session_present: bool) -> None:
        # Retained, so it replaces the last will, as the agent does.
        vt.client.publish_nowait(status_topic(vt.spec.terminal_id), self.status_report(vt), qos=1, retain=True)
        self.status_sent += 1

    async def report_status(self, interval: float) -> None:
        """Every terminal reports once per `interval`, spread evenly (QoS 1, not retained)."""
        loop = asyncio.get_running_loop()
        count = len(self.terminals)
        if not count or interval <= 0:
            return
        start = loop.time() + 1.0  # after the first connections
        for i in itertools.count():
            due = start + (i // count) * interval + (i % count) * interval / count
            delay = due - loop.time()
            if delay > 0.005:
                await asyncio.sleep(delay)
            vt = self.terminals[i % count]
            if vt.client.is_connected:
                vt.client.publish_nowait(status_topic(vt.spec.terminal_id), self.status_report(vt), qos=1)
                self.status_sent += 1

    async def play_schedules(self, tick: float = 0.5) -> None:
        """With `playlogs`: each terminal reports every entry of its schedule that started after it
        adopted the document as `played` (a null sink plays at once), on its playlog topic, QoS 1."""
        while True:
            await asyncio.sleep(tick)
            now = time.time()
            for vt in self.terminals:
                due = [
                    entry
                    for entry in vt.entries
                    if entry.key not in vt.logged and vt.adopted_at <= entry.start.timestamp() <= now
                ]
                if not due:
                    continue
                lines = []
                for entry in due:
                    vt.logged.add(entry.key)
                    lines.append(
                        {
                            "slot": entry.slot, "schedule": entry.schedule, "item": entry.item, "title": entry.title,
                            "start": entry.start.isoformat(), "started": entry.start.isoformat(), "ms": entry.ms,
                            "outcome": PLAYED, "reason": "", "version": vt.schedule_version,
                        }
                    )  # fmt: skip
                body = json.dumps({"terminal": vt.spec.terminal_id, "logs": lines}, ensure_ascii=False).encode()
                vt.client.publish_nowait(playlog_topic(vt.spec.terminal_id), body, qos=1)
                self.playlogs_sent += 1

    @property
    def connected(self) -> int:
        return sum(1 for vt in self.terminals if vt.client.is_connected)

    @property
    def pending_receipts(self) -> int:
        return sum(vt.client.pending for vt in self.terminals)

    def min_handled(self) -> int:
        return min((vt.handled for vt in self.terminals), default=0)

    def min_schedules(self) -> int:
        return min((vt.schedules for vt in self.terminals), default=0)

    @property
    def playing(self) -> int:
        return sum(len(vt.playing) for vt in self.terminals)

    async def stop(self) -> None:
        for vt in self.terminals:
            for timer in vt.playing.values():
                timer.cancel()
            vt.playing.clear()
        await asyncio.gather(*(vt.client.disconnect() for vt in self.terminals), return_exceptions=True)

    def snapshot(self) -> dict[str, Any]:
        self.stats.status_sent = self.status_sent
        self.stats.playlogs_sent = self.playlogs_sent
        self.stats.connected = self.connected
        self.stats.connects = sum(vt.client.connects for vt in self.terminals)
        self.stats.verify_count = self.cache.misses
        self.stats.verify_seconds = self.cache.verify_seconds
        return self.stats.as_dict()

    # -- the per-message path (synchronous, called from the protocol's data_received) -----------

    def _send(self, vt: _Virtual, ebm_id: str, event: str, reason: str = "") -> None:
        body = receipt_bytes(terminal=vt.spec.terminal_id, ebm_id=ebm_id, event=event, reason=reason)
        vt.client.publish_nowait(receipt_topic(vt.spec.terminal_id), body, qos=1)
        self.stats.receipts_sent += 1

    def _send_together(self, vt: _Virtual, ebm_id: str, events: list[tuple[str, str]]) -> None:
        """Receipts that happen at once go out in one message, as the agent's coalescing does."""
        at = local_now_iso()
        body = receipts_bytes(terminal=vt.spec.terminal_id, ebm_id=ebm_id, events=[(e, r, at) for e, r in events])
        vt.client.publish_nowait(receipt_topic(vt.spec.terminal_id), body, qos=1)
        self.stats.receipts_sent += len(events)

    @staticmethod
    def _playback_seconds(payload: dict[str, Any]) -> float:
        """How long a loudspeaker sounds this alert: the audio's length times its repeat count."""
        audio = payload.get("audio")
        seconds = audio.get("seconds") if isinstance(audio, dict) else None
        repeat = payload.get("repeat", 1)
        if not isinstance(seconds, int | float) or not isinstance(repeat, int):
            return 0.0
        return max(0.0, float(seconds)) * max(1, repeat)

    def _finish(self, vt: _Virtual, ebm_id: str) -> None:
        if vt.playing.pop(ebm_id, None) is not None:
            self._send(vt, ebm_id, FINISHED)

    def _command(self, vt: _Virtual, payload: dict[str, Any]) -> None:
        """A virtual terminal carries a command out at once (nothing to play or install) and answers."""
        try:
            command_id, _command, _params = command_check(
                payload, terminal_id=vt.spec.terminal_id, village_code=vt.spec.village_code, now=datetime.now(UTC)
            )
            result, detail = DONE, ""
        except NotForMe:
            return
        except Refused as refused:
            command_id, result, detail = (
                str(payload.get("id", ""))[:32],
                REJECTED,
                str(refused),
            )  # same word as receipts
        if command_id in vt.commands or not command_id:
            return
        vt.commands.add(command_id)
        body = ack_bytes(
            terminal=vt.spec.terminal_id, command_id=command_id, result=result, detail=detail, at=local_now_iso()
        )
        vt.client.publish_nowait(ack_topic(vt.spec.terminal_id), body, qos=1)
        self.stats.acks_sent += 1

    def _audio_ok(self, audio: Any) -> bool:
        if audio is None:
            return True
        if not isinstance(audio, dict) or not isinstance(audio.get("sha256"), str):
            return False
        if audio.get("attached") is True:
            return True  # checked with its message, in `_open`
        sha = audio["sha256"]
        known = self._audio.get(sha)
        if known is None:
            self.stats.audio_checked += 1
            inline = audio.get("inline")
            if isinstance(inline, str) and inline:
                try:
                    known = hashlib.sha256(base64.b64decode(inline, validate=True)).hexdigest() == sha
                except (binascii.Error, ValueError):
                    known = False
            else:
                known = isinstance(audio.get("url"), str)  # not fetched by virtual terminals
            self._audio[sha] = known
        return known

    def _open(self, data: bytes) -> tuple[dict[str, Any], bool]:
        """Rules 1–4 (`protocol.open_envelope` through the timed VerifyCache), and the check of an
        attached audio, once per distinct message in this process; every virtual terminal then
        applies rules 5–7 itself. Returns (payload, whether an attachment, if any, is sound)."""
        # Looked up by length and last bytes, then confirmed by comparing all the bytes: cheaper
        # than hashing 100 KB for a dict key on every delivery, and exact (a tampered copy never
        # shares the verdict of the genuine one).
        key = (len(data), data[-_TAIL_KEY_BYTES:])
        known = next((verdict for raw, verdict in self._opened.get(key, ()) if raw == data), None)
        if known is None:
            try:
                payload = protocol.open_envelope(data, self.trust, cache=self.cache)[1]
            except Rejected as rejected:
                known = _Opened(None, rejected.reason, rejected.detail)
            else:
                try:
                    if protocol.attached_audio(payload.get("audio"), protocol.message_split(data)[1]) is not None:
                        self.stats.audio_checked += 1
                    known = _Opened(payload)
                except ValueError:
                    self.stats.audio_checked += 1
                    known = _Opened(payload, attachment_ok=False)
            if len(self._opened) >= 256:
                self._opened.clear()
            self._opened.setdefault(key, []).append((data, known))
        if known.payload is None:
            raise Rejected(known.reason, known.detail)
        return known.payload, known.attachment_ok

    def _schedule(self, vt: _Virtual, payload: dict[str, Any]) -> None:
        """A verified schedule document: the agent's own checks (`playout.schedule_check`: its
        village, a higher version, well-formed entries); adopted means holding that version."""
        try:
            schedule_check(payload, village_code=vt.spec.village_code, current_version=vt.schedule_version)
        except Rejected as rejected:
            self.stats.schedule_rejected[rejected.reason] += 1
            return
        vt.schedule_version = int(payload["version"])
        vt.schedules += 1
        self.adoptions += 1
        if self.playlogs:
            vt.entries = schedule_check(payload, village_code=vt.spec.village_code, current_version=0)
            vt.adopted_at = time.time()
        self.stats.schedule_adopted.setdefault(str(vt.schedule_version), []).append(time.time())

    def _on_message(self, vt: _Virtual, msg: Message) -> None:
        if not msg.payload:
            return
        started = time.perf_counter()
        stats = self.stats
        stats.messages += 1
        try:
            opened, attachment_ok = self._open(msg.payload)
            if protocol.is_trust_update(opened):
                return  # virtual terminals keep the trust list they were started with
            if is_command(opened):
                self._command(vt, opened)
                return
            if live.is_live(opened):
                self._live(vt, opened, msg.payload)
                return
            if protocol.is_schedule(opened):
                self._schedule(vt, opened)
                stats.handle_seconds += time.perf_counter() - started
                return
            payload = alert_admit(
                opened,
                village_code=vt.spec.village_code,
                store=vt.store,
                freshness=self.freshness,
            )
        except Rejected as rejected:
            if rejected.reason == protocol.DUPLICATE:
                stats.duplicates += 1
            else:
                vt.handled += 1
                self.decisions += 1
                stats.rejected[rejected.reason] += 1
                self._send(vt, peek_ebm_id(msg.payload, msg.topic), REJECTED, rejected.reason)
            stats.handle_seconds += time.perf_counter() - started
            return
        vt.handled += 1
        self.decisions += 1
        stats.accepted += 1
        ebm_id, msg_type = payload["ebm_id"], payload["msg_type"]
        now = time.time()
        arrival = stats.arrivals.setdefault(ebm_id, [now, now, 0])
        arrival[1] = now
        arrival[2] += 1
        if msg_type == "Cancel":
            self._send(vt, ebm_id, RECEIVED)
            for ref in payload["references"]:
                vt.store.withdraw(ref, alert_expires(payload))
                timer = vt.playing.pop(ref, None)
                if timer is not None:
                    timer.cancel()
                    self._send(vt, ref, CANCELLED)
        elif vt.store.is_withdrawn(ebm_id):
            self._send_together(vt, ebm_id, [(RECEIVED, ""), (CANCELLED, "already withdrawn")])
        elif not attachment_ok or not self._audio_ok(payload.get("audio")):
            stats.audio_failed += 1
            self._send_together(vt, ebm_id, [(RECEIVED, ""), ("failed", protocol.AUDIO_FAILED)])
        else:
            # Received and started coalesce as on a real agent (inline audio); `finished` goes out
            # on its own, at once or after the audio's length (see `real_playback`).
            self._send_together(vt, ebm_id, [(RECEIVED, ""), (STARTED, "")])
            seconds = self._playback_seconds(payload) if self.real_playback else 0.0
            if seconds > 0:
                vt.playing[ebm_id] = asyncio.get_running_loop().call_later(seconds, self._finish, vt, ebm_id)
            else:
                self._send(vt, ebm_id, FINISHED)
        stats.handle_seconds += time.perf_counter() - started

    def _live(self, vt: _Virtual, payload: dict[str, Any], data: bytes) -> None:
        """A live-voice message: the agent's own checks (live.live_parse, LiveState.check) per terminal."""
        if vt.live is None:
            vt.live = live.LiveState(village_code=vt.spec.village_code)
        try:
            live.live_parse(payload, protocol.message_split(data)[1])
            state = vt.live.check(payload)
        except Rejected as rejected:
            self.stats.live_rejected[rejected.reason] += 1
            return
        event, ebm_id = payload["event"], live.receipt_id(payload["session"])
        if event == live.END:
            self._send(vt, ebm_id, live.LIVE_STOPPED, live.STOP_END)
            return
        if not state.announced:
            state.announced = True
            self._send(vt, ebm_id, live.LIVE_STARTED)
        if event == live.CHUNK:
            self.stats.live_chunks += 1
            self.live_delays_ms.append(int(time.time() * 1000) - payload["captured_ms"])


_TAIL_KEY_BYTES = 128


def _fraction(text: str, *, salt: str = "") -> float:
    """A stable number in [0, 1) per terminal (which ones are faulty or absent, run after run)."""
    return int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:4], "big") / 2**32


def raise_fd_limit(wanted: int | None = None) -> int:
    """Raise RLIMIT_NOFILE's soft limit toward the hard limit (to `wanted` if given); returns it."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1_048_576)
    if wanted is not None:
        target = min(target, max(wanted, soft))
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


# ---------------------------------------------------------------------------------------------
# Running a share in a worker process, and the whole fleet from the command line.


@dataclass
class RunOptions:
    host: str
    port: int
    trust_json: bytes
    freshness_seconds: float = protocol.DEFAULT_FRESHNESS.total_seconds()
    duration: float | None = None  # seconds after the fleet is connected
    expect_alerts: int | None = None  # stop once every terminal handled this many messages
    expect_schedules: int | None = None  # stop once every terminal adopted this many schedule documents
    playlogs: bool = False  # play the schedules' entries (null sink) and upload playlogs
    connect_timeout: float = 120.0
    settle: float = 5.0  # at the end, wait up to this long for receipts to be acknowledged
    keepalive: int = 60
    connect_concurrency: int = 200
    real_playback: bool = False
    status_interval: float = 0.0  # seconds between status reports per terminal; 0: none
    fault_rate: float = 0.0  # fraction of terminals reporting a speaker fault


async def _run_share(
    index: int, specs: list[TerminalSpec], options: RunOptions, events: Any, stop: Any
) -> dict[str, Any]:
    """One process's terminals until told to stop, or `expect_alerts` is reached; returns stats."""
    trust = TrustList.from_json(options.trust_json) if options.trust_json else TrustList()
    crypto.warm_up()  # as the agent does
    fleet = Fleet(
        specs,
        host=options.host,
        port=options.port,
        trust=trust,
        freshness=timedelta(seconds=options.freshness_seconds),
        keepalive=options.keepalive,
        connect_concurrency=options.connect_concurrency,
        real_playback=options.real_playback,
        fault_rate=options.fault_rate,
        reports_status=options.status_interval > 0,
        playlogs=options.playlogs,
    )
    fleet.start()
    reporter = asyncio.create_task(fleet.report_status(options.status_interval))
    player = asyncio.create_task(fleet.play_schedules()) if options.playlogs else None
    loop = asyncio.get_running_loop()
    reported_connected = -1
    last_progress = last_scan = 0.0
    everyone = len(fleet.terminals)
    while True:
        await asyncio.sleep(0.05)
        now = loop.time()
        due = now - last_progress > 1.0
        # Counting connections scans every terminal: each tick while connecting, then once a second.
        connected = fleet.connected if due or reported_connected != everyone else reported_connected
        if due or connected != reported_connected:
            events.put(("progress", index, fleet.snapshot()))
            reported_connected, last_progress = connected, now
        if stop.is_set():
            break
        # The minimums (and what is still playing) are scanned only once the totals allow the goal.
        expect = options.expect_alerts
        if expect is not None and fleet.decisions >= expect * everyone and now - last_scan > 0.25:
            last_scan = now
            if fleet.min_handled() >= expect and not fleet.playing:
                break
        wanted = options.expect_schedules
        if wanted is not None and fleet.adoptions >= wanted * everyone and fleet.min_schedules() >= wanted:
            break
    deadline = loop.time() + options.settle
    while fleet.pending_receipts and loop.time() < deadline:
        await asyncio.sleep(0.05)
    reporter.cancel()
    if player is not None:
        player.cancel()
    snapshot = fleet.snapshot()
    snapshot["receipts_unacknowledged"] = fleet.pending_receipts
    snapshot["live_delays_ms"] = fleet.live_delays_ms
    await fleet.stop()
    return snapshot


def _worker(index: int, specs: list[TerminalSpec], options: RunOptions, events: Any, stop: Any) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    raise_fd_limit(len(specs) + 256)
    try:
        result = run_event_loop(_run_share(index, specs, options, events, stop))
    except BaseException as exc:  # reported to the parent, which prints it
        events.put(("error", index, f"{type(exc).__name__}: {exc}"))
        raise
    events.put(("done", index, result))


def merge(parts: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """Sum the per-process statistics; arrival windows merge by min/max."""
    total: dict[str, Any] = {"rejected": Counter(), "arrivals": {}}
    for part in parts:
        for key, value in part.items():
            if key in ("rejected", "live_rejected", "schedule_rejected"):
                total.setdefault(key, Counter()).update(value)
            elif key == "live_delays_ms":
                total.setdefault(key, []).extend(value)
            elif key == "schedule_adopted":
                for version, times in value.items():
                    total.setdefault(key, {}).setdefault(version, []).extend(times)
            elif key == "arrivals":
                for ebm_id, (first, last, count) in value.items():
                    known = total["arrivals"].setdefault(ebm_id, [first, last, 0])
                    known[0], known[1], known[2] = min(known[0], first), max(known[1], last), known[2] + count
            elif isinstance(value, int | float):
                total[key] = total.get(key, 0) + value
    total["rejected"] = dict(total["rejected"])
    if "live_rejected" in total:
        total["live_rejected"] = dict(total["live_rejected"])
    if "schedule_rejected" in total:
        total["schedule_rejected"] = dict(total["schedule_rejected"])
    return total


def summary_of(total: dict[str, Any], *, processes: int, elapsed: float, ready_after: float | None) -> dict[str, Any]:
    verify_count = total.get("verify_count", 0)
    messages = total.get("messages", 0)
    return {
        "terminals": total.get("terminals", 0),
        "processes": processes,
        "connected": total.get("connected", 0),
        "connected_after_s": None if ready_after is None else round(ready_after, 3),
        "alerts_received": messages,
        "accepted": total.get("accepted", 0),
        "duplicates": total.get("duplicates", 0),
        "rejected": total.get("rejected", {}),
        "receipts_sent": total.get("receipts_sent", 0),
        "receipts_unacknowledged": total.get("receipts_unacknowledged", 0),
        "status_sent": total.get("status_sent", 0),
        "playlogs_sent": total.get("playlogs_sent", 0),
        "acks_sent": total.get("acks_sent", 0),
        "verify_count": verify_count,
        "verify_us": round(total.get("verify_seconds", 0.0) / verify_count * 1e6, 1) if verify_count else None,
        "verify_note": "rules 1-4 (decode, signature, parse) once per distinct message per process; rules 5-7 per terminal",
        "handle_us_per_message": round(total.get("handle_seconds", 0.0) / messages * 1e6, 1) if messages else None,
        "fanout": {
            ebm_id: {"terminals": count, "spread_ms": round((last - first) * 1000, 1), "first": first, "last": last}
            for ebm_id, (first, last, count) in sorted(total.get("arrivals", {}).items())
        },
        "live": live_summary(total.get("live_delays_ms", []), total.get("live_rejected", {})),
        "schedule_rejected": total.get("schedule_rejected", {}),
        # Per schedule version: how many terminals adopted it, and when (time.time(), sorted).
        "schedules": {
            version: {"terminals": len(times), "adopted_at": sorted(times)}
            for version, times in sorted(total.get("schedule_adopted", {}).items(), key=lambda item: int(item[0]))
        },
        "elapsed_s": round(elapsed, 3),
    }


def live_summary(delays_ms: list[int], rejected: dict[str, int]) -> dict[str, Any] | None:
    """Mouth-to-terminal delay of live chunks over all terminals (None when no live voice came)."""
    if not delays_ms and not rejected:
        return None
    ordered = sorted(delays_ms)

    def pick(fraction: float) -> int | None:
        return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))] if ordered else None

    return {
        "chunks": len(ordered),
        "delay_ms_p50": pick(0.5),
        "delay_ms_p99": pick(0.99),
        "delay_ms_max": ordered[-1] if ordered else None,
        "rejected": rejected,
    }


def default_processes(count: int) -> int:
    return max(1, min(os.cpu_count() or 1, math.ceil(count / TERMINALS_PER_PROCESS)))


def run_fleet(
    specs: Sequence[TerminalSpec],
    options: RunOptions,
    *,
    processes: int,
    out: Any = sys.stdout,
    err: Any = sys.stderr,
    stop_signals: bool = True,
) -> dict[str, Any]:
    """Spawn the worker processes, print progress and the ready line, return the summary."""
    raise_fd_limit(256)
    ctx = multiprocessing.get_context("spawn")
    events = ctx.Queue()
    stop = ctx.Event()
    shares = [list(specs[i::processes]) for i in range(processes)]
    workers = [
        ctx.Process(target=_worker, args=(i, share, options, events, stop), name=f"simulate-{i}", daemon=True)
        for i, share in enumerate(shares)
        if share
    ]
    if stop_signals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, lambda *_: stop.set())
    started = time.monotonic()
    for worker in workers:
        worker.start()
    latest: dict[int, dict[str, Any]] = {}
    results: dict[int, dict[str, Any]] = {}
    errors: list[str] = []
    ready_after: float | None = None
    stop_at: float | None = None
    last_print = 0.0
    while len(results) + len(errors) < len(workers):
        try:
            kind, index, data = events.get(timeout=0.1)
        except queue.Empty:
            kind = ""
            if not any(w.is_alive() for w in workers) and events.empty():
                errors.append("worker processes exited without a result")
                break
        if kind == "progress":
            latest[index] = data
        elif kind == "done":
            results[index] = latest[index] = data
        elif kind == "error":
            errors.append(f"process {index}: {data}")
            stop.set()
        now = time.monotonic()
        total = merge(latest.values())
        connected = total.get("connected", 0)
        if ready_after is None and connected >= len(specs):
            ready_after = now - started
            print(
                json.dumps({"event": "ready", "connected": connected, "seconds": round(ready_after, 3)}),
                file=out,
                flush=True,
            )
        if stop_at is None and options.duration is not None:
            if ready_after is not None:
                stop_at = started + ready_after + options.duration
            elif now - started > options.connect_timeout:
                print(
                    f"only {connected}/{len(specs)} connected after {options.connect_timeout:.0f} s",
                    file=err,
                    flush=True,
                )
                stop_at = now + options.duration
        if stop_at is not None and now >= stop_at:
            stop.set()
        if now - last_print >= 2.0 or kind == "done":
            print(
                f"[{now - started:6.1f}s] connected {connected}/{len(specs)}  alerts {total.get('messages', 0)}  "
                f"receipts {total.get('receipts_sent', 0)}  verifies {total.get('verify_count', 0)}",
                file=err,
                flush=True,
            )
            last_print = now
    for worker in workers:
        worker.join(timeout=10)
        if worker.is_alive():
            worker.terminate()
    summary = summary_of(
        merge(results.values()), processes=len(workers), elapsed=time.monotonic() - started, ready_after=ready_after
    )
    if errors:
        summary["errors"] = errors
    return summary


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--count", type=int, required=True, help="number of virtual terminals")
    parser.add_argument("--region", required=True, help="12-digit region code the terminals lie below")
    parser.add_argument("--broker", default="127.0.0.1:1883", help="HOST:PORT of the MQTT broker")
    parser.add_argument(
        "--processes",
        type=int,
        default=None,
        help=f"worker processes (default: one per {TERMINALS_PER_PROCESS} terminals, at most one per CPU)",
    )
    parser.add_argument(
        "--villages",
        type=Path,
        help="file with one 12-digit village code per line (default: made-up villages below --region)",
    )
    parser.add_argument("--village", action="append", default=[], help="a village code (repeatable)")
    creds = parser.add_mutually_exclusive_group()
    creds.add_argument("--password-file", type=Path, help="lines '<terminal id>:<password>'; simulates those terminals")
    creds.add_argument(
        "--username-prefix",
        help="user name = prefix + terminal id (password from --password or $RURALCAST_SIM_PASSWORD)",
    )
    parser.add_argument("--password", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trust", type=Path, help="trust list JSON (without it every alert is rejected unknown_key)")
    parser.add_argument("--freshness", type=float, default=protocol.DEFAULT_FRESHNESS.total_seconds(), help="seconds")
    parser.add_argument(
        "--duration", type=float, default=None, help="stop this many seconds after all terminals connected"
    )
    parser.add_argument(
        "--expect-alerts", type=int, default=None, help="stop once every terminal handled this many messages"
    )
    parser.add_argument(
        "--expect-schedules",
        type=int,
        default=None,
        help="stop once every terminal adopted this many schedule documents (verified, its village, newer)",
    )
    parser.add_argument(
        "--playlogs",
        action="store_true",
        help="play each schedule entry at its start (null sink) and upload its playback log, as an agent does",
    )
    parser.add_argument("--connect-timeout", type=float, default=120.0)
    parser.add_argument(
        "--real-playback",
        action="store_true",
        help="send `finished` after the audio's length x repeat, as a loudspeaker would (default: at once)",
    )
    parser.add_argument("--report", type=Path, help="also write the final JSON summary here")
    parser.add_argument(
        "--status-interval", type=float, default=0.0, help="seconds between each terminal's status reports (0: none)"
    )
    parser.add_argument("--fault-rate", type=float, default=0.0, help="fraction of terminals with a speaker fault")
    parser.add_argument(
        "--absent", type=float, default=0.0, help="fraction of terminals that never connect (an outage to look at)"
    )


def simulate_main(args: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    host, _, port = args.broker.rpartition(":")
    villages = list(args.village)
    if args.villages:
        villages += read_villages(args.villages)
    specs = plan_terminals(
        count=args.count,
        region=args.region,
        villages=villages,
        password_file=args.password_file,
        username_prefix=args.username_prefix,
        password=args.password or os.environ.get("RURALCAST_SIM_PASSWORD"),
    )
    if args.absent > 0:
        specs = [spec for spec in specs if _fraction(spec.terminal_id, salt="absent") >= args.absent]
    if args.trust is None:
        print("warning: no --trust; every alert will be rejected unknown_key", file=sys.stderr)
    options = RunOptions(
        host=host or "127.0.0.1",
        port=int(port),
        trust_json=args.trust.read_bytes() if args.trust else b"",
        freshness_seconds=args.freshness,
        duration=args.duration,
        expect_alerts=args.expect_alerts,
        expect_schedules=args.expect_schedules,
        playlogs=args.playlogs,
        connect_timeout=args.connect_timeout,
        real_playback=args.real_playback,
        status_interval=args.status_interval,
        fault_rate=args.fault_rate,
    )
    processes = args.processes or default_processes(len(specs))
    summary = run_fleet(specs, options, processes=max(1, min(processes, len(specs))))
    text = json.dumps(summary, ensure_ascii=False)
    print(text, flush=True)
    if args.report:
        args.report.write_text(text + "\n", "utf-8")
    return 1 if summary.get("errors") else 0
