"""The one decision path of a terminal: what it does with a message, and with what becomes of it.

The agent (`agent.py`) and every virtual terminal of the simulator (`fleet.py`) call these functions
and nothing else to decide; they only carry the decisions out. So a benchmark of the simulator
measures terminals that decide exactly as a device does, and a rule (docs/protocols.md §4–§10) is
changed in one place. Nothing here does I/O or waits: each function reads and updates a
`TerminalState` (the terminal's memory) and returns a list of *actions* for its caller to perform
(send a receipt, fetch audio, stop what plays, adopt a trust list, keep a schedule, acknowledge a
command, save the duplicate store).

The state machine of one message (the receipt events are §5's; `[x]` is an action):

    route(message) ─ rules 1–4a fail (decode, key, signature, parse, key usage) → on an alert
      │                 topic (…/<region>/<35-digit id>): rejected <reason> under the payload's
      │                 ebm_id (if 35 digits) or the topic's; on any other topic [Ignored], no receipt
      │ kind trust    → [AdoptTrust] if newer and vouched for (§6), else [Ignored]; no receipt
      │ kind command  → [Ack] (volume, power, config, time_sync, reboot → done; refused → rejected),
      │                 [Run] for reboot and firmware; [ReportStatus] after power, volume, config
      │                 (the status says the new value next); a command for others or seen before: [Ignored]
      │ kind live     → [Live] once its own checks pass (live.py), else [Ignored]; live receipts
      │                 (live_started / live_stopped) are the live receiver's
      │ kind schedule → [AdoptSchedule] if this village's and newer (playout.py), else [Ignored]
      │ kind time     → the clock correction (§11), [Ignored] either way
      │ another kind  → [Ignored] "unknown_kind", no receipt (one rule, protocols.md §3)
      │ kind alert: rules 4–7a (`alert_admit`; 7a: a drill must carry its signed
      │                 preamble) fail → rejected <reason>; a duplicate →
      │                 [Ignored], no receipt
      ▼
    received ── Cancel: withdraws every alert it references → (done; the Cancel itself never plays)
      │         Update: withdraws them too (`superseded`), then goes on as an Alert
      │         A withdrawn alert still queued → cancelled <reason> at once ([Drop]); one playing →
      │         [Stop], and cancelled <reason> when the player has stopped (`ended`).
      │ already withdrawn (its Cancel came first) → cancelled "already withdrawn"
      ▼ [Prepare]: the caller fetches and checks the audio of the languages chosen by the
      │          provisioned preference (`languages.texts_choose`, protocols.md §4)
    audio_failed → failed audio_failed (not remembered as done: a restart tries again)
    audio_ready  → cancelled <reason> if withdrawn meanwhile, else [Enqueue] (priority.py arbitrates)
    took         → started (once, however often it is pre-empted and played again)
    requeued     → (pre-empted: plays again from the start later)
    expired      → failed expired (it expired while waiting)
    ended        → finished | cancelled <reason> | failed player_error

A message is remembered as done in the duplicate store (`dedupe.py`) once it is finished, cancelled,
failed by the player or expired; only then does a restart skip it ([Save] asks the caller to write
the store). Times come from `TerminalState.now()`, the one clock every rule reads: the device clock
corrected by the signed time sync (`timesync.py`, §11; kind `time` → [Ignored] "clock_set").

The simulator opens each distinct message once per process (`open_message` through its verdict
cache) and passes the result in as `opened`: an optimisation around this module, not a copy of it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import commands, languages, priority, protocol, timesync, topics
from ruralcast_terminal.dedupe import DedupeStore
from ruralcast_terminal.live import LIVE_KIND, LiveSessionState, LiveState, live_parse
from ruralcast_terminal.playout import ScheduleEntry, schedule_check
from ruralcast_terminal.protocol import Rejected, TrustList, VerifyCache
from ruralcast_terminal.receipts import (
    ALREADY_WITHDRAWN,
    CANCELLED,
    FAILED,
    RECEIVED,
    REJECTED,
    STARTED,
    SUPERSEDED,
    peek_ebm_id,
)
from ruralcast_terminal.sinks import Playback, Spoken

MSG_TYPES = ("Alert", "Update", "Cancel")
EBM_ID_LENGTH = topics.EBM_ID_DIGITS
ALERT_KIND = "alert"
UNKNOWN_KIND = "unknown_kind"  # the reason an Ignored gives for a verified payload of a kind not known here


# ---------------------------------------------------------------------------------------------
# What a terminal remembers.


@dataclass(slots=True)
class TrustState:
    """The trust list a terminal holds and the version of the update it came from (0: provisioned).

    The simulator's virtual terminals of one process share one: the first to adopt an update adopts
    it for all, and each of the others then applies the same rule and finds it not newer."""

    keys: TrustList
    version: int = 0


# Where an accepted alert is until it is dealt with.
PREPARING, QUEUED, PLAYING = "preparing", "queued", "playing"


@dataclass(slots=True)
class Active:
    msg_type: str
    phase: str = PREPARING
    started: bool = False
    withdrawn: str = ""  # the `cancelled` reason of a withdrawal that came while its audio was fetched


def _utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(slots=True, eq=False)
class TerminalState:
    """One terminal's memory, as the router reads and updates it."""

    terminal_id: str
    village_code: str
    trust: TrustState
    store: DedupeStore = field(default_factory=DedupeStore)
    freshness: timedelta = protocol.DEFAULT_FRESHNESS
    clock: Callable[[], datetime] = _utc_now  # timezone-aware; every rule reads this one
    commands: set[str] = field(default_factory=set)  # command ids acted on (or refused)
    active: dict[str, Active] = field(default_factory=dict)  # accepted alerts not yet dealt with
    schedule_version: int = 0  # of the schedule document held
    volume: int = 80
    powered: bool = True
    status_interval: float = 60.0
    live: LiveState | None = None  # made on the first live message (most terminals get none)
    time: timesync.TimeSync = field(default_factory=timesync.TimeSync)  # the correction of `clock`
    languages: tuple[str, ...] = languages.DEFAULT_LANGUAGES  # provisioned preference, most preferred first

    def device_ms(self) -> int:
        return int(self.clock().timestamp() * 1000)

    def now(self) -> datetime:
        """The corrected time (device clock + the signed time sync's offset): what every rule reads."""
        offset = self.time.offset_ms
        return self.clock() + timedelta(milliseconds=offset) if offset else self.clock()

    def live_state(self) -> LiveState:
        if self.live is None:
            self.live = LiveState(village_code=self.village_code)
        return self.live


# ---------------------------------------------------------------------------------------------
# Actions: what the caller does. Small and flat: the simulator makes a few per delivery, so they
# are plain slotted classes (a frozen dataclass costs twice as much to make); treat them as values.


@dataclass(slots=True)
class Receipt:
    ebm_id: str
    event: str
    reason: str = ""


@dataclass(slots=True)
class Prepare:
    """Fetch and check the audio of each of `texts` (the languages chosen, `languages.texts_choose`;
    for a one-language alert its primary), then call `audio_ready` or `audio_failed`. Only the
    chosen languages' audio is fetched: a language this terminal does not play is never taken."""

    payload: dict[str, Any]
    attachment: bytes | None
    texts: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class Enqueue:
    """Queue the alert for the loudspeaker (`playback_of`, `claim_of`; `priority` arbitrates).

    `preamble` is the verified drill preamble file a drill plays first (None for a real alert);
    `texts` the languages to play and `audios` their verified files (`audio` is the first's)."""

    payload: dict[str, Any]
    audio: Path | None
    preamble: Path | None = None
    texts: list[dict[str, Any]] | None = None
    audios: list[Path | None] | None = None


@dataclass(slots=True)
class Drop:
    """Take a withdrawn alert out of the queue (its `cancelled` receipt is in the same list)."""

    ebm_id: str


@dataclass(slots=True)
class Stop:
    """Stop the alert playing now; call `ended(…, CANCELLED, reason)` once it has stopped."""

    ebm_id: str
    reason: str


@dataclass(slots=True)
class AdoptTrust:
    """The trust list changed (already in the state): keep it across restarts."""

    keys: TrustList
    version: int


@dataclass(slots=True)
class AdoptSchedule:
    """A verified schedule document of this village, newer than the one held: play it from now on."""

    data: bytes
    payload: dict[str, Any]
    entries: list[ScheduleEntry]


@dataclass(slots=True)
class Live:
    """A live-voice message that passed its checks: play it (live.LiveReceiver.accept)."""

    payload: dict[str, Any]
    attachment: bytes | None
    session: LiveSessionState


@dataclass(slots=True)
class Ack:
    """Answer a command (docs/protocols.md §8)."""

    command_id: str
    result: str
    detail: str = ""


@dataclass(slots=True)
class Run:
    """A command only the device itself can carry out (reboot after its ack, firmware)."""

    command_id: str
    command: str
    params: dict[str, Any]


@dataclass(slots=True)
class Ignored:
    """No receipt and no effect; `what` (alert, trust, schedule, live, command) and why, for logs."""

    what: str
    reason: str
    detail: str = ""


class _ReportStatus:
    """Send a status report now (§7): a command changed what the report says (volume, power, the
    report interval), so the platform reads the new value after the ack instead of one interval later."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "REPORT_STATUS"


REPORT_STATUS = _ReportStatus()


class _Save:
    """Write the duplicate store (it changed in a way that must survive a restart)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "SAVE"


SAVE = _Save()

Action = (
    Receipt
    | Prepare
    | Enqueue
    | Drop
    | Stop
    | AdoptTrust
    | AdoptSchedule
    | Live
    | Ack
    | Run
    | Ignored
    | _Save
    | _ReportStatus
)


# ---------------------------------------------------------------------------------------------
# Rules 1–7.


@dataclass(frozen=True, slots=True)
class Opened:
    """What rules 1–4 said about one message: its payload (and who signed it), or why not."""

    payload: dict[str, Any] | None
    serial: str = ""
    attachment: bytes | None = None
    reason: str = ""
    detail: str = ""


def open_message(data: bytes, trust: TrustList, *, cache: VerifyCache | None = None) -> Opened:
    """Rules 1–4 (`protocol.open_envelope`: decode, trust list, signature, parse) for one message."""
    try:
        envelope, payload = protocol.open_envelope(data, trust, cache=cache)
    except Rejected as rejected:
        return Opened(None, reason=rejected.reason, detail=rejected.detail)
    return Opened(payload, envelope.serial, protocol.message_split(data)[1])


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

    Raises Rejected with the receipt reason (`duplicate` included: no receipt is sent for it). On
    success the (ebm_id, msg_type) pair is recorded in `store`. Does not modify `payload` (the
    simulator shares one between its virtual terminals).
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
    protocol.alert_check(payload, village_code=village_code, now=now or _utc_now(), freshness=freshness)
    protocol.preamble_check(payload)  # a drill this terminal cannot announce as one is refused (rule 7a)
    languages.texts_of(payload)  # payload version 2: its `texts` must be well formed (rule 4)
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
    """Rules 1–7 of docs/protocols.md §4 for one alert message; returns the payload or raises Rejected."""
    _, payload = protocol.open_envelope(data, trust, cache=cache)
    return alert_admit(payload, village_code=village_code, store=store, now=now, freshness=freshness)


def route(state: TerminalState, topic: str, data: bytes, opened: Opened | None = None) -> list[Action]:
    """Everything a terminal decides on receiving `data` on `topic` (see the module docstring).

    `opened` is `open_message(data, state.trust.keys)` when the caller has it already (the
    simulator, once per distinct message); otherwise it is computed here.
    """
    if not data:
        return []  # the platform cleared a retained message
    if opened is None:
        opened = open_message(data, state.trust.keys)
    payload = opened.payload
    if payload is None:
        if not topics.is_alert_topic(topic):  # no receipt off an alert topic: a live stream would flood
            return [Ignored(topics.topic_kind(topic), opened.reason, opened.detail)]
        return [Receipt(peek_ebm_id(data, topic), REJECTED, opened.reason)]
    kind = payload.get("kind")
    if kind == protocol.TRUST_KIND:
        return _trust_update(state, payload, signer=opened.serial)
    if kind == commands.COMMAND_KIND:
        return _command(state, payload)
    if kind == LIVE_KIND:
        return _live(state, payload, opened.attachment)
    if kind == protocol.SCHEDULE_KIND:
        return _schedule(state, data, payload)
    if kind == timesync.TIME_KIND:
        try:
            offset = state.time.answer(payload, terminal_id=state.terminal_id, device_ms=state.device_ms())
        except timesync.TimeRefused as refused:
            return [Ignored("time", "not_adopted", str(refused))]
        return [Ignored("time", "clock_set", f"offset {offset} ms, round trip {state.time.round_trip_ms} ms")]
    if kind != ALERT_KIND:  # the one rule for kinds this terminal does not know (§3): ignored, no receipt
        return [Ignored(topics.topic_kind(topic), UNKNOWN_KIND, repr(kind)[:80])]
    try:
        alert_admit(
            payload, village_code=state.village_code, store=state.store, now=state.now(), freshness=state.freshness
        )
    except Rejected as rejected:
        if rejected.reason == protocol.DUPLICATE:
            return [Ignored("alert", protocol.DUPLICATE, rejected.detail)]
        return [Receipt(peek_ebm_id(data, topic), REJECTED, rejected.reason)]
    return _alert(state, payload, opened.attachment)


# ---------------------------------------------------------------------------------------------
# Alerts.


def _alert(state: TerminalState, payload: dict[str, Any], attachment: bytes | None) -> list[Action]:
    ebm_id, msg_type = payload["ebm_id"], payload["msg_type"]
    actions: list[Action] = [Receipt(ebm_id, RECEIVED)]
    store = state.store
    if msg_type != "Alert":
        _withdraw(
            state,
            payload["references"],
            reason="" if msg_type == "Cancel" else SUPERSEDED,
            until=alert_expires(payload),
            actions=actions,
        )
    if msg_type == "Cancel":
        store.complete(ebm_id, msg_type)
        actions.append(SAVE)
        return actions
    if store.is_withdrawn(ebm_id):
        actions.append(Receipt(ebm_id, CANCELLED, ALREADY_WITHDRAWN))
        store.complete(ebm_id, msg_type)
        actions.append(SAVE)
        return actions
    if msg_type != "Alert":
        actions.append(SAVE)  # what it withdrew
    state.active[ebm_id] = Active(msg_type)
    actions.append(Prepare(payload, attachment, languages.texts_choose(payload, state.languages)))
    return actions


def _withdraw(
    state: TerminalState, references: list[str], *, reason: str, until: datetime, actions: list[Action]
) -> None:
    """A Cancel or Update withdraws what it references, wherever each one is."""
    store = state.store
    wanted = list(dict.fromkeys(references))
    for ebm_id in wanted:
        store.withdraw(ebm_id, until)
    for ebm_id in wanted:
        active = state.active.get(ebm_id)
        if active is None:
            continue  # not here (or dealt with): one arriving later is `already withdrawn`
        if active.phase == PREPARING:
            active.withdrawn = reason  # `audio_ready` / `audio_failed` will find it withdrawn
            continue
        if active.phase == QUEUED:
            del state.active[ebm_id]
            store.complete(ebm_id, active.msg_type)
            actions.append(Drop(ebm_id))
            actions.append(Receipt(ebm_id, CANCELLED, reason))
        else:
            actions.append(Stop(ebm_id, reason))


def audio_ready(
    state: TerminalState,
    payload: dict[str, Any],
    audio: Path | None,
    preamble: Path | None = None,
    *,
    texts: list[dict[str, Any]] | None = None,
    audios: list[Path | None] | None = None,
) -> list[Action]:
    """The alert's audio (and a drill's preamble) is here and checked (or it has none): queue it,
    unless withdrawn meanwhile. `texts`/`audios`: the chosen languages (`Prepare.texts`) and
    their files, when the caller fetched them (None: the primary only, `audio`)."""
    ebm_id = payload["ebm_id"]
    if state.store.is_withdrawn(ebm_id):
        return _dealt_with(state, ebm_id, payload["msg_type"], CANCELLED, _withdrawn_reason(state, ebm_id))
    active = state.active.get(ebm_id)
    if active is not None:
        active.phase = QUEUED
    return [Enqueue(payload, audio, preamble, texts, audios)]


def audio_failed(state: TerminalState, payload: dict[str, Any]) -> list[Action]:
    """The audio could not be had (or did not match its hash), after the caller's retries."""
    ebm_id = payload["ebm_id"]
    if state.store.is_withdrawn(ebm_id):
        return _dealt_with(state, ebm_id, payload["msg_type"], CANCELLED, _withdrawn_reason(state, ebm_id))
    state.active.pop(ebm_id, None)  # left incomplete on purpose: after a restart it is tried again
    return [Receipt(ebm_id, FAILED, protocol.AUDIO_FAILED)]


def _withdrawn_reason(state: TerminalState, ebm_id: str) -> str:
    active = state.active.get(ebm_id)
    return active.withdrawn if active is not None else ""


def took(state: TerminalState, ebm_id: str) -> list[Receipt]:
    """The player took the alert from the queue: `started`, the first time only."""
    active = state.active.get(ebm_id)
    if active is None:
        return []
    active.phase = PLAYING
    if active.started:
        return []
    active.started = True
    return [Receipt(ebm_id, STARTED)]


def requeued(state: TerminalState, ebm_id: str) -> None:
    """Pre-empted by something more urgent: back in the queue, to play again from the start."""
    active = state.active.get(ebm_id)
    if active is not None:
        active.phase = QUEUED


def expired(state: TerminalState, ebm_id: str) -> list[Action]:
    """It expired while it waited in the queue."""
    active = state.active.get(ebm_id)
    return _dealt_with(state, ebm_id, active.msg_type if active else "Alert", FAILED, protocol.EXPIRED)


def ended(state: TerminalState, ebm_id: str, event: str, reason: str = "") -> list[Action]:
    """Its playback ended: `finished`, `cancelled` (the reason of its Stop) or `failed`."""
    active = state.active.get(ebm_id)
    if active is None:
        return []
    return _dealt_with(state, ebm_id, active.msg_type, event, reason)


def _dealt_with(state: TerminalState, ebm_id: str, msg_type: str, event: str, reason: str) -> list[Action]:
    state.active.pop(ebm_id, None)
    state.store.complete(ebm_id, msg_type)
    return [Receipt(ebm_id, event, reason), SAVE]


is_drill = protocol.is_drill


def int_in(value: Any, low: int, high: int, default: int) -> int:
    return min(max(value, low), high) if type(value) is int else default


def _seconds(meta: dict[str, Any]) -> float:
    seconds = meta.get("seconds")
    return float(seconds) if isinstance(seconds, int | float) and seconds > 0 else 0.0


def playback_of(
    payload: dict[str, Any],
    audio: Path | None,
    preamble: Path | None = None,
    texts: list[dict[str, Any]] | None = None,
    audios: list[Path | None] | None = None,
) -> Playback:
    """How the loudspeaker sounds an accepted alert (volume, repeat, severity, drill preamble, and
    the languages chosen: the first is the Playback's own, the others follow it in each play)."""
    first = texts[0] if texts else {"language": payload.get("language", ""), **payload}
    files = audios if audios and texts and len(audios) == len(texts) else [audio]
    meta = first.get("audio") if isinstance(first.get("audio"), dict) else {}
    assert isinstance(meta, dict)
    more = tuple(
        Spoken(
            language=str(item.get("language", "")),
            title=str(item.get("title", "")),
            text=str(item.get("text", "")),
            audio=file,
            seconds=_seconds(item["audio"]) if isinstance(item.get("audio"), dict) else 0.0,
        )
        for item, file in zip((texts or [])[1:], files[1:], strict=False)
    )
    return Playback(
        ebm_id=payload["ebm_id"],
        title=str(first.get("title", "")),
        text=str(first.get("text", "")),
        language=str(first.get("language", "")),
        audio=files[0],
        sha256=str(meta.get("sha256", "")),
        mime=str(meta.get("mime", "")),
        seconds=_seconds(meta),
        more=more,
        volume=int_in(payload.get("volume"), 0, 100, 100),
        repeat=int_in(payload.get("repeat"), 1, 10, 1),
        severity=int_in(payload.get("severity"), 1, 4, 4),
        drill=is_drill(payload),
        preamble=preamble if is_drill(payload) else None,
    )


def claim_of(payload: dict[str, Any], playback: Playback, *, seq: int) -> priority.Claim:
    """The alert's place in the one arbitration (priority.py)."""
    return priority.alert_claim(severity=playback.severity, sender=payload.get("sender"), drill=playback.drill, seq=seq)


# ---------------------------------------------------------------------------------------------
# Trust lists, schedules, live voice, commands.


def _trust_update(state: TerminalState, payload: dict[str, Any], *, signer: str) -> list[Action]:
    """A verified trust-list update (protocols.md §6): adopted if newer and vouched for."""
    trust = state.trust
    try:
        result = protocol.trust_update_apply(
            payload,
            current=trust.keys,
            current_version=trust.version,
            signer=signer,
            now_ms=int(state.now().timestamp() * 1000),
        )
    except Rejected as rejected:
        return [Ignored("trust", rejected.reason, rejected.detail)]
    if result is None:
        return [Ignored("trust", "not_adopted", "not newer, or its signer is not trusted in it")]
    trust.keys, trust.version = result
    return [AdoptTrust(*result)]


def _schedule(state: TerminalState, data: bytes, payload: dict[str, Any]) -> list[Action]:
    """A verified schedule document: kept if it is this village's and newer (no receipt either way)."""
    try:
        entries = schedule_check(payload, village_code=state.village_code, current_version=state.schedule_version)
    except Rejected as rejected:
        return [Ignored("schedule", rejected.reason, rejected.detail)]
    state.schedule_version = int(payload["version"])
    return [AdoptSchedule(data, payload, entries)]


def _live(state: TerminalState, payload: dict[str, Any], attachment: bytes | None) -> list[Action]:
    """A verified live-voice message: its own rules (live.live_parse, LiveState.check)."""
    try:
        live_parse(payload, attachment)
        session = state.live_state().check(payload, now_ms=int(state.now().timestamp() * 1000))
    except Rejected as rejected:
        return [Ignored("live", rejected.reason, rejected.detail)]
    return [Live(payload, attachment, session)]


def _command(state: TerminalState, payload: dict[str, Any]) -> list[Action]:
    """A signed command: carried out once if meant for this terminal, and acknowledged (§8)."""
    now = state.now()
    try:
        command_id, command, params = commands.command_check(
            payload, terminal_id=state.terminal_id, village_code=state.village_code, now=now
        )
    except commands.NotForMe as other:
        return [Ignored("command", "not_for_me", str(other))]
    except commands.Refused as refused:
        refused_id = str(payload["id"])  # command_check vouched for it before refusing
        if refused_id in state.commands:
            return [Ignored("command", protocol.DUPLICATE, refused_id)]
        state.commands.add(refused_id)
        return [Ack(refused_id, commands.REJECTED, str(refused))]
    if command_id in state.commands:
        return [Ignored("command", protocol.DUPLICATE, command_id)]
    state.commands.add(command_id)
    try:
        if command == "power":
            state.powered = params.get("on") is True
        elif command == "volume":
            state.volume = int_in(params.get("volume"), 0, 100, state.volume)
        elif command == "config":
            if isinstance(params.get("status_interval"), int):
                state.status_interval = float(min(max(params["status_interval"], 10), 3600))
            if isinstance(params.get("volume"), int):
                state.volume = int_in(params["volume"], 0, 100, state.volume)
        elif command == "time_sync":
            sent = datetime.fromisoformat(str(payload.get("sent")))
            offset = (now - sent).total_seconds() * 1000
            return [Ack(command_id, commands.DONE, f"offset_ms={offset:.0f}")]
        elif command == "reboot":
            return [Ack(command_id, commands.DONE), Run(command_id, command, params)]
        elif command == "firmware":
            return [Run(command_id, command, params)]  # acknowledged once installed (or not)
    except (TypeError, ValueError) as exc:
        return [Ack(command_id, commands.FAILED, str(exc))]
    # power, volume, config: what the status reports changed; it follows the ack at once
    return [Ack(command_id, commands.DONE), REPORT_STATUS]
