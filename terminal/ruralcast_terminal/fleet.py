"""One process's share of the simulator: thousands of virtual terminals on one event loop.

Each virtual terminal has its own MQTT connection, client id, credentials and subscriptions (the
same topics as the agent), so the broker fans an alert out exactly as it would to a fleet of
devices, and its own `router.TerminalState`: every message goes through `router.route`, the agent's
own decisions, and every receipt it sends is one the router produced (received, then started and
finished at once since it plays into nothing; rejected with a reason; cancelled and superseded when
a Cancel or Update withdraws what plays; already withdrawn, audio_failed, expired). What is done
once per process instead of once per terminal, around the router and never instead of it:

- rules 1–4 (`router.open_message`: decode, trust list, signature through a `TimedVerifyCache`,
  parse) once per distinct message, the verdict then handed to each terminal's `route`; the
  summary counts the verifications and their cost (`verify_us`), so the cost of a real fleet —
  where every device verifies — can be read off separately;
- the audio check once per SHA-256 (an inline clip is decoded and hashed, an attachment checked
  with its message; a URL is not fetched by thousands of virtual terminals);
- the trust list: the terminals of a process share one (`router.TrustState`), adopted by the first
  terminal a newer update reaches; the others apply the same rule to it and find it not newer.
  Adopting one clears the verdict cache (verdicts depend on the list).

What a virtual terminal does not do: arbitrate between alerts (each one plays at once, even while
another plays; `real_playback` gives each its audio's length), download audio, install firmware
(it acknowledges `done`), play live voice (it sends `live_started` on a session's first message and
`live_stopped` on its end).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ruralcast_terminal import commands, live, protocol, router
from ruralcast_terminal.fleet_plan import TerminalSpec
from ruralcast_terminal.mqtt import Client, Message, Will
from ruralcast_terminal.playout import PLAYED, ScheduleEntry
from ruralcast_terminal.protocol import Envelope, TrustList, VerifyCache
from ruralcast_terminal.receipts import (
    CANCELLED,
    FINISHED,
    RECEIVED,
    REJECTED,
    local_now_iso,
    receipt_bytes,
    receipts_bytes,
)
from ruralcast_terminal.router import Receipt, TerminalState, TrustState
from ruralcast_terminal.tls import client_context
from ruralcast_terminal.topics import ack_topic, playlog_topic, receipt_topic, status_topic, subscriptions

# A distinct message's verdict of rules 1–4, and whether its attachment (if any) is sound.
_Verdict = tuple[router.Opened, bool]
_TAIL_KEY_BYTES = 128
_CACHED_MESSAGES = 256


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


@dataclass(eq=False)
class _Virtual:
    spec: TerminalSpec
    client: Client
    state: TerminalState  # what the router reads and updates, as for an agent
    status_seq: int = 0
    handled: int = 0  # messages that got a decision (duplicates and cleared retains excluded)
    # Alerts "playing" on this terminal (real-duration playback): ebm id -> the timer sending `finished`.
    playing: dict[str, asyncio.TimerHandle] = field(default_factory=dict)
    schedules: int = 0  # documents adopted so far
    entries: list[ScheduleEntry] = field(default_factory=list)  # of the adopted document (with --playlogs)
    adopted_at: float = 0.0
    logged: set[str] = field(default_factory=set)  # entry keys already reported

    @property
    def schedule_version(self) -> int:
        """The highest schedule document it verified and adopted."""
        return self.state.schedule_version


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
    trust_adopted: int = 0  # trust-list updates this process's terminals adopted (they share one list)
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
            "trust_adopted": self.trust_adopted,
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
        ca_pem: str | None = None,
        server_name: str | None = None,
    ) -> None:
        # TLS pinned to the platform's CA (tls.py), one context for the whole share; None: plain TCP.
        tls = client_context(ca_pem) if ca_pem else None
        # One trust list per process, adopted by the first terminal an update reaches (router.TrustState).
        self.trust = TrustState(trust)
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
        self._opened: dict[tuple[int, bytes], list[tuple[bytes, _Verdict]]] = {}
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
                ssl=tls,
                server_hostname=server_name,
            )
            state = TerminalState(
                terminal_id=spec.terminal_id,
                village_code=spec.village_code,
                trust=self.trust,
                freshness=freshness,
                languages=spec.languages,
            )
            vt = _Virtual(spec, client, state)
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
        power = "" if vt.state.powered else ',"power":"off"'  # volume and power: the router state's, as the agent's
        return (
            f'{{"terminal":"{tid}","online":true,"at":"{local_now_iso()}","seq":{vt.status_seq},'
            f'"volume":{vt.state.volume},"amplifier":"ok","speaker":"{speaker}","line_level_db":{-12 - 6 * seed:.1f},'
            f'"temperature_c":{28 + 15 * seed + (vt.status_seq % 7) / 10:.1f},"signal_dbm":{-60 - int(40 * seed)},'
            f'"storage_free_mb":{900 + int(100 * seed)},"firmware":"1.0.0","uptime_s":{vt.status_seq * 60},'
            f'"playback_failures":0{power}}}'
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
                            "outcome": PLAYED, "reason": "", "version": vt.state.schedule_version,
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

    def _open(self, data: bytes) -> _Verdict:
        """Rules 1–4 (`router.open_message` through the timed VerifyCache), and the check of an
        attached audio, once per distinct message in this process."""
        # Looked up by length and last bytes, then confirmed by comparing all the bytes: cheaper
        # than hashing 100 KB for a dict key on every delivery, and exact (a tampered copy never
        # shares the verdict of the genuine one).
        key = (len(data), data[-_TAIL_KEY_BYTES:])
        known = next((verdict for raw, verdict in self._opened.get(key, ()) if raw == data), None)
        if known is None:
            opened = router.open_message(data, self.trust.keys, cache=self.cache)
            attachment_ok = True
            if opened.payload is not None:
                try:
                    if protocol.attached_audio(opened.payload.get("audio"), opened.attachment) is not None:
                        self.stats.audio_checked += 1
                except ValueError:
                    self.stats.audio_checked += 1
                    attachment_ok = False
            known = (opened, attachment_ok)
            if len(self._opened) >= _CACHED_MESSAGES:
                self._opened.clear()
            self._opened.setdefault(key, []).append((data, known))
        return known

    def _audio_ok(self, audio: Any, attachment_ok: bool) -> bool:
        """The audio check, once per SHA-256 (attached audio: once per message, in `_open`)."""
        if audio is None:
            return True
        if not isinstance(audio, dict) or not isinstance(audio.get("sha256"), str):
            return False
        if audio.get("attached") is True:
            return attachment_ok
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

    def _on_message(self, vt: _Virtual, msg: Message) -> None:
        if not msg.payload:
            return
        started = time.perf_counter()
        stats = self.stats
        stats.messages += 1
        opened, attachment_ok = self._open(msg.payload)
        actions = router.route(vt.state, msg.topic, msg.payload, opened)
        first = actions[0] if actions else None
        if type(first) is Receipt and first.event in (RECEIVED, REJECTED):
            vt.handled += 1
            self.decisions += 1
            if first.event == REJECTED:
                stats.rejected[first.reason] += 1
            else:
                stats.accepted += 1
                now = time.time()
                arrival = stats.arrivals.setdefault(first.ebm_id, [now, now, 0])
                arrival[1] = now
                arrival[2] += 1
        batch: list[Receipt] = []
        self._apply(vt, actions, batch, attachment_ok)
        if batch:
            self._send(vt, batch)
        stats.handle_seconds += time.perf_counter() - started

    def _apply(self, vt: _Virtual, actions: Sequence[router.Action], batch: list[Receipt], attachment_ok: bool) -> None:
        """Carry out the router's decisions; receipts are gathered in `batch` and leave together."""
        for action in actions:
            if isinstance(action, Receipt):
                batch.append(action)
            elif action is router.SAVE:
                continue  # a virtual terminal's duplicate store lives in memory
            elif isinstance(action, router.Prepare):
                payload = action.payload
                chosen = action.texts or [{"audio": payload.get("audio")}]  # the router chose the languages
                if all(self._audio_ok(item.get("audio"), attachment_ok) for item in chosen):
                    ready = router.audio_ready(vt.state, payload, None, texts=action.texts or None)
                    self._apply(vt, ready, batch, attachment_ok)
                else:
                    self.stats.audio_failed += 1
                    self._apply(vt, router.audio_failed(vt.state, payload), batch, attachment_ok)
            elif isinstance(action, router.Enqueue):
                self._play(vt, action.payload, batch, action.texts)
            elif isinstance(action, router.Stop):
                timer = vt.playing.pop(action.ebm_id, None)
                if timer is not None:
                    timer.cancel()
                self._apply(vt, router.ended(vt.state, action.ebm_id, CANCELLED, action.reason), batch, attachment_ok)
            elif isinstance(action, router.Ignored):
                self._ignored(action)
            elif isinstance(action, router.Ack):
                self._ack(vt, action.command_id, action.result, action.detail)
            elif action is router.REPORT_STATUS:
                if self.reports_status and vt.client.is_connected:  # volume and power: the router state's
                    vt.client.publish_nowait(status_topic(vt.spec.terminal_id), self.status_report(vt), qos=1)
                    self.status_sent += 1
            elif isinstance(action, router.Run):
                self._ack(vt, action.command_id, commands.DONE)  # a virtual terminal has nothing to install
            elif isinstance(action, router.AdoptSchedule):
                self._schedule(vt, action)
            elif isinstance(action, router.AdoptTrust):
                self._opened.clear()  # verdicts were reached with the old list
                self.stats.trust_adopted += 1
            elif isinstance(action, router.Live):
                self._live(vt, action, batch)
            # Drop: nothing ever waits in a virtual terminal's queue.

    def _play(
        self, vt: _Virtual, payload: dict[str, Any], batch: list[Receipt], texts: list[dict[str, Any]] | None = None
    ) -> None:
        """It plays at once (`started`); `finished` goes out on its own, at once or after the audio's
        length (see `real_playback`), as an agent sends it after the sink."""
        ebm_id = payload["ebm_id"]
        batch += router.took(vt.state, ebm_id)
        seconds = router.playback_of(payload, None, None, texts).remaining if self.real_playback else 0.0
        if seconds > 0:
            vt.playing[ebm_id] = asyncio.get_running_loop().call_later(seconds, self._finish, vt, ebm_id)
            return
        self._send(vt, batch)
        batch.clear()
        self._apply(vt, router.ended(vt.state, ebm_id, FINISHED), batch, True)

    def _finish(self, vt: _Virtual, ebm_id: str) -> None:
        if vt.playing.pop(ebm_id, None) is not None:
            receipts: list[Receipt] = []
            self._apply(vt, router.ended(vt.state, ebm_id, FINISHED), receipts, True)
            self._send(vt, receipts)

    def _send(self, vt: _Virtual, receipts: list[Receipt]) -> None:
        """Receipts that happen at once go out in one message, as the agent's coalescing does."""
        if not receipts:
            return
        tid = vt.spec.terminal_id
        first = receipts[0]
        if len(receipts) == 1:
            body = receipt_bytes(terminal=tid, ebm_id=first.ebm_id, event=first.event, reason=first.reason)
            vt.client.publish_nowait(receipt_topic(tid), body, qos=1)
        elif len(receipts) == 2 and receipts[1].ebm_id == first.ebm_id:
            at = local_now_iso()
            events = [(receipt.event, receipt.reason, at) for receipt in receipts]
            body = receipts_bytes(terminal=tid, ebm_id=first.ebm_id, events=events)
            vt.client.publish_nowait(receipt_topic(tid), body, qos=1)
        else:
            at = local_now_iso()
            by_message: dict[str, list[tuple[str, str, str]]] = {}
            for receipt in receipts:
                by_message.setdefault(receipt.ebm_id, []).append((receipt.event, receipt.reason, at))
            for ebm_id, events in by_message.items():
                body = receipts_bytes(terminal=tid, ebm_id=ebm_id, events=events)
                vt.client.publish_nowait(receipt_topic(tid), body, qos=1)
        self.stats.receipts_sent += len(receipts)

    def _ignored(self, action: router.Ignored) -> None:
        if action.what == "alert" and action.reason == protocol.DUPLICATE:  # not an unknown kind
            self.stats.duplicates += 1
        elif action.what == "schedule":
            self.stats.schedule_rejected[action.reason] += 1
        elif action.what == "live":
            self.stats.live_rejected[action.reason] += 1

    def _ack(self, vt: _Virtual, command_id: str, result: str, detail: str = "") -> None:
        tid = vt.spec.terminal_id
        body = commands.ack_bytes(terminal=tid, command_id=command_id, result=result, detail=detail, at=local_now_iso())
        vt.client.publish_nowait(ack_topic(tid), body, qos=1)
        self.stats.acks_sent += 1

    def _schedule(self, vt: _Virtual, adopted: router.AdoptSchedule) -> None:
        """A schedule document the router adopted (this village's, newer, well-formed entries)."""
        vt.schedules += 1
        self.adoptions += 1
        if self.playlogs:
            vt.entries = adopted.entries
            vt.adopted_at = time.time()
        self.stats.schedule_adopted.setdefault(str(vt.state.schedule_version), []).append(time.time())

    def _live(self, vt: _Virtual, accepted: router.Live, batch: list[Receipt]) -> None:
        """A live-voice message the router accepted: the receipts a terminal that plays it sends."""
        payload, state = accepted.payload, accepted.session
        event, ebm_id = payload["event"], live.receipt_id(payload["session"])
        if event == live.END:
            batch.append(Receipt(ebm_id, live.LIVE_STOPPED, live.STOP_END))
            return
        if not state.announced:
            state.announced = True
            batch.append(Receipt(ebm_id, live.LIVE_STARTED))
        if event == live.CHUNK:
            self.stats.live_chunks += 1
            self.live_delays_ms.append(int(time.time() * 1000) - payload["captured_ms"])


def _fraction(text: str, *, salt: str = "") -> float:
    """A stable number in [0, 1) per terminal (which ones are faulty or absent, run after run)."""
    return int.from_bytes(hashlib.sha256((salt + text).encode()).digest()[:4], "big") / 2**32
