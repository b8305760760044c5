"""The terminal agent: what a village loudspeaker runs between the broker and its amplifier.

It holds one MQTT connection (client id = its 23-digit terminal id), subscribes at QoS 1 to
`rc/v1/down/r/<code>/+` for its village and every ancestor (national root included) and to
`rc/v1/down/t/<id>` (`topics.subscriptions`), and hands every message to the router
(`router.route`), which decides; this module carries the decisions out:

- receipts go to `rc/v1/up/<id>/receipt` at QoS 1, what is queued within 20 ms as one message,
  resent after a reconnect until the broker acknowledges them;
- an accepted alert has its audio fetched (inline, attached, or URL + SHA-256, cached by hash:
  `audio.py`) and is queued by `priority` (one arbitration for all that plays): severity 1 is the
  most urgent and pre-empts anything less urgent that is playing (which plays again afterwards); at
  equal severity a higher issuing level (province over county) pre-empts; then a real alert comes
  before a drill, then first come, first served. Drills (`status` other than Actual, or
  `drill: true`) reach the sink with `drill=True`;
- a Cancel or Update stops or drops what it withdraws; the duplicate store (`dedupe.py`, in the
  cache dir) is saved whenever the router says, so a restart does not replay what was handled;
- an adopted trust list is kept in the cache dir; the village's schedule document goes to
  `playout`, live voice to `live`, commands are acknowledged on `rc/v1/up/<id>/ack`.

The simulator's virtual terminals (`fleet.py`) call the same router, so they decide as this agent does.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import commands, crypto, firmware, live, priority, protocol, router, topics
from ruralcast_terminal.audio import EXTENSIONS, AttachmentError, AudioCache, AudioError
from ruralcast_terminal.config import AgentConfig
from ruralcast_terminal.dedupe import DedupeStore
from ruralcast_terminal.mqtt import Client, Message, Will
from ruralcast_terminal.playout import Playout
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.receipts import (
    CANCELLED,
    FAILED,
    FINISHED,
    PLAYER_ERROR,
    RECEIVED,
    REJECTED,
    STARTED,
    SUPERSEDED,
    local_now_iso,
    peek_ebm_id,
    receipt_bytes,
    receipts_bytes,
)
from ruralcast_terminal.router import (
    EBM_ID_LENGTH,
    MSG_TYPES,
    alert_accept,
    alert_admit,
    alert_expires,
    is_drill,
    playback_of,
)
from ruralcast_terminal.sinks import AudioSink, Playback, sink_from_config
from ruralcast_terminal.status import StatusProbe, status_bytes
from ruralcast_terminal.topics import receipt_topic, region_topics, status_topic, subscriptions, terminal_topic

# Names that lived here before the agent was split into rooms, importable from here still.
__all__ = [  # noqa: RUF022 (grouped by where they live now)
    "Agent", "AgentConfig", "agent_run", "AUDIO_RETRY_PAUSES", "RECEIPT_COALESCE_SECONDS", "TRUST_FILE",
    "AttachmentError", "AudioCache", "AudioError", "EXTENSIONS", "DedupeStore",
    "CANCELLED", "FAILED", "FINISHED", "PLAYER_ERROR", "RECEIVED", "REJECTED", "STARTED", "SUPERSEDED",
    "local_now_iso", "peek_ebm_id", "receipt_bytes", "receipts_bytes",
    "EBM_ID_LENGTH", "MSG_TYPES", "alert_accept", "alert_admit", "alert_expires", "is_drill", "playback_of",
    "receipt_topic", "region_topics", "status_topic", "subscriptions", "terminal_topic",
]  # fmt: skip

log = logging.getLogger(__name__)

# Receipts queued within this time go out as one message (received + started, typically).
RECEIPT_COALESCE_SECONDS = 0.02
# Where the agent keeps the newest signed trust-list update it accepted (in its cache dir).
TRUST_FILE = "trust.json"
AUDIO_RETRY_PAUSES: tuple[float | None, ...] = (1.0, 4.0, None)  # a download gets three tries


_sequence = itertools.count()


@dataclass(order=True)
class _Item:
    rank: tuple[int, ...]  # priority.Claim.rank: smaller plays first
    playback: Playback = field(compare=False)
    claim: priority.Claim = field(compare=False)
    expires: datetime = field(compare=False)
    msg_type: str = field(default="Alert", compare=False)
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
            ssl=config.tls_context(),
            server_hostname=config.broker_server_name,
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
        trust, trust_version = self._trust_load()
        # What the router reads and updates: everything this terminal remembers about messages.
        self.state = router.TerminalState(
            terminal_id=tid,
            village_code=config.village_code,
            trust=router.TrustState(trust, trust_version),
            store=self.store,
            freshness=config.freshness,
            volume=config.volume,
            status_interval=config.status_interval,
            languages=config.languages,
        )
        if config.clock_offset_seconds:
            skew = timedelta(seconds=config.clock_offset_seconds)
            self.state.clock = lambda: datetime.now(UTC) + skew
        self._unsent: dict[str, list[tuple[str, str, str]]] = {}
        self._flush_handle: asyncio.TimerHandle | None = None
        self.probe = StatusProbe(storage=config.cache_dir, command=config.probe)
        self.last_playback: dict[str, str] | None = None
        self.playback_failures = 0  # consecutive
        self.status_seq = 0
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
        self.state.live = self.live.state  # the router checks live messages with the receiver's memory

    # What the router's state holds, by the names the agent has always had.
    @property
    def trust(self) -> TrustList:
        return self.state.trust.keys

    @property
    def trust_version(self) -> int:
        return self.state.trust.version

    @property
    def volume(self) -> int:
        return self.state.volume

    @property
    def powered(self) -> bool:
        return self.state.powered

    # -- lifetime ------------------------------------------------------------------------------

    async def start(self) -> None:
        crypto.warm_up()
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        self.store.prune(self.state.now())
        self._tasks = [
            asyncio.create_task(self._consume(), name="agent:consume"),
            asyncio.create_task(self._player(), name="agent:player"),
        ]
        if self.config.status_interval > 0:
            self._tasks.append(asyncio.create_task(self._status_loop(), name="agent:status"))
        self._tasks.extend(self.playout.tasks())
        self.state.schedule_version = self.playout.version  # the document kept from before a restart
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
        self.time_sync()

    def time_sync(self) -> None:
        """Ask the platform for its time (protocols.md §11); its signed answer corrects `state.now()`."""
        tid = self.config.terminal_id
        body = self.state.time.request(terminal_id=tid, device_ms=self.state.device_ms())
        self.client.publish_nowait(topics.time_topic(tid), body, qos=1)

    def status_report(self) -> bytes:
        """One status report (§7): the probe's readings and what the agent knows itself."""
        self.status_seq += 1
        report: dict[str, Any] = {
            "terminal": self.config.terminal_id,
            "online": True,
            "at": local_now_iso(),
            "seq": self.status_seq,
            "interval": self.state.status_interval,
            "volume": self.volume,
            "playback_failures": self.playback_failures,
        }
        # The probe's readings first: what the agent set itself (the commanded volume, power) is
        # what it reports, never a vendor reading of an older value over it.
        report.update({k: v for k, v in self.probe.read().items() if k not in report})
        if self.config.firmware:
            report["firmware"] = self.config.firmware
        if not self.powered:
            report["power"] = "off"
        if self.last_playback is not None:
            report["last_playback"] = self.last_playback
        return status_bytes(report)

    def _status_now(self) -> None:
        """A report out of turn (the router's [ReportStatus] after a command changed the state)."""
        if self.client.is_connected:
            self.client.publish_nowait(status_topic(self.config.terminal_id), self.status_report(), qos=1)

    async def _status_loop(self) -> None:
        """A report every `status_interval` seconds while connected (QoS 1, not retained)."""
        while True:
            await asyncio.sleep(self.state.status_interval)
            if self.client.is_connected:
                body = await asyncio.to_thread(self.status_report) if self.config.probe else self.status_report()
                self.client.publish_nowait(status_topic(self.config.terminal_id), body, qos=1)

    # -- remote commands (§8) ------------------------------------------------------------------

    def _ack(self, command_id: str, result: str, detail: str = "") -> None:
        body = commands.ack_bytes(
            terminal=self.config.terminal_id, command_id=command_id, result=result, detail=detail, at=local_now_iso()
        )
        self.client.publish_nowait(topics.ack_topic(self.config.terminal_id), body, qos=1)

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
                now=self.state.now(),
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

    async def _consume(self) -> None:
        while True:
            msg = await self._inbox.get()
            try:
                self.handle(msg)
            except Exception:
                log.exception("failed to handle a message on %s", msg.topic)

    # -- decisions: the router's; carrying them out: here ---------------------------------------

    def handle(self, msg: Message) -> None:
        """Route one message and carry out what the router decided (audio is fetched in a task)."""
        self._apply(router.route(self.state, msg.topic, msg.payload))

    def _apply(self, actions: Sequence[router.Action]) -> None:
        for action in actions:
            if isinstance(action, router.Receipt):
                if action.event == REJECTED:
                    log.warning("rejected %s: %s", action.ebm_id or "a message", action.reason)
                self._receipt(action.ebm_id, action.event, action.reason)
            elif action is router.SAVE:
                self.store.save()
            elif isinstance(action, router.Prepare):
                self._spawn(
                    self._prepare(action.payload, action.attachment, action.texts),
                    f"agent:audio:{action.payload['ebm_id']}",
                )
            elif isinstance(action, router.Enqueue):
                self._enqueue_alert(action)
            elif isinstance(action, router.Drop):
                self._drop(action.ebm_id)
            elif isinstance(action, router.Stop):
                current = self._current
                if current is not None and current.ebm_id == action.ebm_id and self._current_task is not None:
                    current.stop_reason = action.reason or CANCELLED
                    self._current_task.cancel()  # the player reports `ended` once the sink has stopped
            elif isinstance(action, router.AdoptTrust):
                self._trust_save(action)
            elif isinstance(action, router.AdoptSchedule):
                self.playout.adopt(action.data, action.payload, action.entries)
            elif isinstance(action, router.Live):
                self.live.accept(action.session, action.payload, action.attachment)
            elif isinstance(action, router.Ack):
                self._ack(action.command_id, action.result, action.detail)
            elif action is router.REPORT_STATUS:
                self._status_now()
            elif isinstance(action, router.Run):
                self._run(action)
            elif isinstance(action, router.Ignored):
                self._ignored(action)

    def _ignored(self, action: router.Ignored) -> None:
        if action.what == "live":
            self.live.refused(action.reason, action.detail)
            return
        # Duplicates and other terminals' commands are routine; a trust list not newer is worth a line.
        level = {
            protocol.DUPLICATE: logging.DEBUG,
            "not_for_me": logging.DEBUG,
            "not_adopted": logging.INFO,
            "clock_set": logging.INFO,
        }
        log.log(
            level.get(action.reason, logging.WARNING), "%s ignored (%s): %s", action.what, action.reason, action.detail
        )

    def _spawn(self, work: Any, name: str) -> None:
        task = asyncio.create_task(work, name=name)
        self._preparing.add(task)
        task.add_done_callback(self._preparing.discard)

    def _run(self, action: router.Run) -> None:
        log.info("%s command %s %s", self.config.terminal_id, action.command_id, action.command)
        if action.command == "reboot":
            asyncio.get_running_loop().call_later(0.5, self._reboot)  # after its ack has left
        elif action.command == "firmware":
            self._spawn(self._firmware(action.command_id, action.params), f"agent:firmware:{action.command_id}")

    # -- trust list --------------------------------------------------------------------------

    def _trust_load(self) -> tuple[TrustList, int]:
        """The newest trust list: an update kept in the cache, or the provisioning file's."""
        path = self.config.cache_dir / TRUST_FILE
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            return TrustList.from_list(saved["keys"]), int(saved["version"])
        except (OSError, ValueError, KeyError, TypeError):
            return self.config.trust, 0

    def _trust_save(self, adopted: router.AdoptTrust) -> None:
        """Keep an adopted trust-list update (protocols.md §6) across restarts."""
        path = self.config.cache_dir / TRUST_FILE
        temporary = path.with_suffix(".tmp")
        temporary.write_text(json.dumps({"version": adopted.version, "keys": adopted.keys.to_list()}), encoding="utf-8")
        temporary.replace(path)
        log.info("trust list updated to version %s (%s keys)", adopted.version, len(adopted.keys))

    # -- alerts --------------------------------------------------------------------------------

    def _drop(self, ebm_id: str) -> None:
        kept = [item for item in self._queue if item.programme or item.ebm_id != ebm_id]
        if len(kept) != len(self._queue):
            self._queue = kept
            heapq.heapify(self._queue)

    async def _prepare(
        self, payload: dict[str, Any], attachment: bytes | None = None, texts: list[dict[str, Any]] | None = None
    ) -> None:
        """Fetch and check the audio of each chosen language (three tries for a download), then
        tell the router."""
        ebm_id = payload["ebm_id"]
        chosen = texts or [{"audio": payload.get("audio")}]
        audio, preamble, failed = None, None, False
        audios: list[Path | None] = []
        for attempt, pause in enumerate(AUDIO_RETRY_PAUSES):
            try:
                audios = [await self.audio.fetch(item.get("audio"), attachment) for item in chosen]
                audio = audios[0]
                if protocol.preamble_check(payload) is not None:  # the router has checked it: inline
                    preamble = await self.audio.fetch(payload["preamble"])
                break
            except AudioError as exc:
                log.warning("%s: %s (attempt %d)", ebm_id, exc, attempt + 1)
                if self.store.is_withdrawn(ebm_id) or pause is None or isinstance(exc, AttachmentError):
                    failed = True
                    break
                await asyncio.sleep(pause)
        if failed:
            self._apply(router.audio_failed(self.state, payload))
        else:
            self._apply(
                router.audio_ready(self.state, payload, audio, preamble, texts=texts or None, audios=audios or None)
            )

    def _enqueue_alert(self, action: router.Enqueue) -> None:
        payload = action.payload
        playback = playback_of(payload, action.audio, action.preamble, action.texts, action.audios)
        claim = router.claim_of(payload, playback, seq=next(_sequence))
        self._enqueue(_Item(claim.rank, playback, claim, alert_expires(payload), msg_type=payload["msg_type"]))

    def _enqueue(self, item: _Item) -> None:
        heapq.heappush(self._queue, item)
        current = self._current
        if current is not None and self._current_task is not None and item.outranks(current):
            log.info("%s pre-empts %s", item.ebm_id, current.ebm_id)
            current.stop_reason = "preempted"
            self._current_task.cancel()
        self._wake.set()

    # -- the daily programme (playout.py) -------------------------------------------------------

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
            left = (item.expires - self.state.now()).total_seconds()
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
        await self.live.yield_to(item.claim)  # an alert drops live voice (priority.after_preemption)
        await self.sink.play(item.playback)

    def _ended(self, item: _Item, event: str, reason: str = "") -> None:
        """How an item's playback ended: the router decides an alert's receipt, playout logs an entry."""
        if item.programme:
            self.playout.outcome(item.ebm_id, event, reason)
        else:
            self._apply(router.ended(self.state, item.ebm_id, event, reason))

    async def _player(self) -> None:
        while True:
            while not self._queue:
                self._wake.clear()
                await self._wake.wait()
            item = heapq.heappop(self._queue)
            if self.state.now() > item.expires:
                if item.programme:
                    self.playout.outcome(item.ebm_id, FAILED, protocol.EXPIRED)
                else:
                    self._apply(router.expired(self.state, item.ebm_id))
                continue
            item.stop_reason = None
            self._current = item
            if not item.programme:
                self._apply(router.took(self.state, item.ebm_id))  # `started`, the first time
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
                        if not item.programme:
                            router.requeued(self.state, item.ebm_id)
                        continue
                reason = item.stop_reason if item.stop_reason not in (None, CANCELLED) else ""
                self._ended(item, CANCELLED, reason or "")
            elif (exc := task.exception()) is not None:
                log.error("%s: playback failed: %s", item.ebm_id, exc)
                self._ended(item, FAILED, PLAYER_ERROR)  # whatever broke in the player (§5)
                self._played(item.ebm_id, FAILED)
            else:
                self._ended(item, FINISHED)
                self._played(item.ebm_id, FINISHED)


async def agent_run(config: AgentConfig) -> None:
    """Run one agent until SIGINT/SIGTERM (the `agent` subcommand)."""
    import signal

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    await Agent(config).run(stop)
