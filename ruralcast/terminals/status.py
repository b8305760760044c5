"""The live side of the registry: current state rows, status reports in batches, offline detection.

- `status_batch_write(items)`: the ingest worker's handler for `rc/v1/up/<id>/status` (registered in
  `TerminalsConfig.ready`). One SELECT of the batch's state rows, one INSERT … ON CONFLICT DO UPDATE
  of the rows that changed, one INSERT of history events: three statements per batch of up to 500.
- `silent_mark_offline()`: terminals that stopped reporting without a last will (a broker restart,
  a cut cable the broker has not noticed yet) are marked offline by the fleet watcher
  (`manage.py fleet_watch`), after `SILENT_AFTER` without a report.

Status reports are docs/protocols.md §7. A report without `online: false` means online; the last
will `{"online": false}` (no `at`) means offline. The detailed readings of a report are applied only
when its device time `at` is not older than the readings held (a retained report delivered again
after the ingest worker reconnects changes nothing).

Deliberate bulk writers (CONTRIBUTING.md "Writes go through services"): `status_batch_write` and
`silent_mark_offline` write outside services on purpose. They are the machines' side of the
registry: thousands of reports a minute from devices, no person acting, nothing to check access
for, and an audit event per report would bury the people's acts in telemetry. What they change is
recorded where it matters: every change of online state, faults or firmware becomes a
`TerminalEvent` (the terminal's history). `states_create` is not one of them: it runs inside the
transaction of the service that registers the terminals (`terminal_register`, `terminals_import`),
whose audit record covers it.
"""

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.utils import timezone

from ruralcast.messaging.uplinks import device_time
from ruralcast.terminals.models import Condition, EventKind, Fault, Terminal, TerminalEvent, TerminalState

# Consecutive playback failures that make a fault.
PLAYBACK_FAILURES_FAULT = 3
_FIELDS = [f.name for f in TerminalState._meta.concrete_fields if f.name != "terminal"]


def silent_after() -> timedelta:
    return timedelta(seconds=int(settings.RURALCAST_FLEET["SILENT_AFTER_SECONDS"]))


def states_create(*, terminals: Iterable[Terminal]) -> None:
    """A state row (offline, never seen) for each new terminal."""
    TerminalState.objects.bulk_create(
        [TerminalState(terminal_id=t.code, village_code=t.village_id) for t in terminals],
        batch_size=2000,
        ignore_conflicts=True,
    )


def _time(value: Any) -> datetime | None:
    if isinstance(value, str) and len(value) > 40:
        return None
    moment = device_time(value)
    return moment if moment is not None and moment.tzinfo is not None else None


def _number(value: Any, kind: type, low: float, high: float) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    if kind is int and not float(value).is_integer():
        return None
    return kind(value) if low <= value <= high else None


def _condition(value: Any) -> str:
    return value if value in (Condition.OK, Condition.FAULT) else Condition.UNKNOWN


def faults_of(state: TerminalState) -> str:
    """The faults a state shows, as stored (sorted, comma-separated)."""
    found = []
    if state.amplifier == Condition.FAULT:
        found.append(Fault.AMPLIFIER)
    if state.speaker == Condition.FAULT:
        found.append(Fault.SPEAKER)
    if state.playback_failures >= PLAYBACK_FAILURES_FAULT:
        found.append(Fault.PLAYBACK)
    return ",".join(sorted(found))


def _apply_readings(state: TerminalState, body: dict[str, Any]) -> None:
    state.volume = _number(body.get("volume"), int, 0, 100)
    state.amplifier = _condition(body.get("amplifier"))
    state.speaker = _condition(body.get("speaker"))
    state.line_level_db = _number(body.get("line_level_db"), float, -200, 100)
    state.temperature_c = _number(body.get("temperature_c"), float, -80, 200)
    state.signal_dbm = _number(body.get("signal_dbm"), int, -200, 0)
    state.storage_free_mb = _number(body.get("storage_free_mb"), int, 0, 2**31 - 1)
    state.uptime_s = _number(body.get("uptime_s"), int, 0, 2**62)
    firmware = body.get("firmware")
    if isinstance(firmware, str) and firmware:
        state.firmware = firmware[:50]
    failures = _number(body.get("playback_failures"), int, 0, 32767)
    state.playback_failures = failures or 0
    playback = body.get("last_playback")
    if isinstance(playback, dict):
        state.last_playback_at = _time(playback.get("at"))
        result = playback.get("result")
        state.last_playback_result = result[:20] if isinstance(result, str) else ""


def status_batch_write(items: list[Any]) -> None:
    """Write a batch of status uplinks (`messaging.handlers.Uplink`), in arrival order.

    Unknown or revoked terminals have no state row and are skipped. Idempotent: a report delivered
    twice changes nothing the second time.
    """
    codes = {item.terminal for item in items}
    states = {s.terminal_id: s for s in TerminalState.objects.filter(terminal_id__in=codes)}
    changed: dict[str, TerminalState] = {}
    events: list[TerminalEvent] = []
    for item in items:
        state = states.get(item.terminal)
        if state is None:
            continue
        body = item.payload
        before = (state.online, state.faults, state.firmware, state.last_seen_at, state.reported_at)
        online = body.get("online", True) is not False
        at = _time(body.get("at"))
        if online:
            state.last_seen_at = item.received_at
            if at is not None and (state.reported_at is None or at >= state.reported_at):
                state.reported_at = at
                old_firmware = state.firmware
                _apply_readings(state, body)
                if old_firmware and state.firmware != old_firmware:
                    events.append(_event(state, EventKind.FIRMWARE, item.received_at, state.firmware))
                faults = faults_of(state)
                if faults != state.faults:
                    state.faults = faults
                    events.append(_event(state, EventKind.FAULTS, item.received_at, faults))
        if online != state.online:
            state.online = online
            state.since = item.received_at
            detail = "" if online else "will"
            events.append(_event(state, EventKind.ONLINE if online else EventKind.OFFLINE, item.received_at, detail))
        if (state.online, state.faults, state.firmware, state.last_seen_at, state.reported_at) != before:
            changed[state.terminal_id] = state
    if changed:
        TerminalState.objects.bulk_create(
            list(changed.values()), update_conflicts=True, unique_fields=["terminal"], update_fields=_FIELDS
        )
    if events:
        TerminalEvent.objects.bulk_create(events)


def _event(state: TerminalState, kind: str, at: datetime, detail: str = "") -> TerminalEvent:
    return TerminalEvent(terminal_code=state.terminal_id, at=at, kind=kind, detail=detail[:100])


def silent_mark_offline(*, now: datetime | None = None) -> list[str]:
    """Mark offline the terminals online without a report for `SILENT_AFTER`; returns their codes."""
    now = now or timezone.now()
    limit = now - silent_after()
    silent: list[str] = [
        str(code)
        for code in TerminalState.objects.filter(online=True, last_seen_at__lt=limit).values_list(
            "terminal_id", flat=True
        )[:50_000]
    ]
    if silent:
        TerminalState.objects.filter(terminal_id__in=silent, online=True).update(online=False, since=now)
        TerminalEvent.objects.bulk_create(
            [TerminalEvent(terminal_code=code, at=now, kind=EventKind.OFFLINE, detail="silent") for code in silent]
        )
    return silent
