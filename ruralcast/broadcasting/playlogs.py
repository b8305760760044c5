"""Playback logs (播出记录) and the coverage figures derived from them.

Terminals upload what they did with each scheduled entry on `rc/v1/up/<terminal>/playlog` (QoS 1,
batches; docs/broadcasting.md "Playback logs"): `playlogs_write` stores them for the ingest worker,
in bulk and idempotently by (terminal, slot, scheduled start): a line the terminal sent again
because the broker's acknowledgement was lost is stored once. It is a deliberate bulk writer
outside services (CONTRIBUTING.md): device reports, one INSERT per batch, no actor to check, and
no audit per line (the log itself is the record of what was played).

Coverage: for one scheduled entry of one village (slot + scheduled start), the share of the
village's active terminals that reported it `played`. The entries counted are those at least one
terminal of the village reported (an entry no terminal reported at all is not known to the
platform from logs). `broadcasting.figures` publishes two figures from it to reporting over a region
subtree and a period: `broadcasting.coverage` (percent, average of the entries' shares) and
`broadcasting.plays` (number of plays, sum).
"""

import datetime
import logging
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from ruralcast.broadcasting.models import Outcome, PlaybackLog
from ruralcast.messaging.uplinks import device_time
from ruralcast.terminals.models import Terminal

log = logging.getLogger(__name__)

MAX_REASON = 80
MAX_TITLE = 200


def _time(value: Any) -> datetime.datetime | None:
    """A terminal's time with its UTC offset (one without is refused: its moment is unknown)."""
    parsed = device_time(value)
    return parsed if parsed is not None and parsed.tzinfo is not None else None


def _int(value: Any) -> int | None:
    return value if type(value) is int and 0 <= value < 2**31 else None


def playlogs_write(items: list[Any]) -> None:
    """Store a batch of `playlog` uplinks (messaging.handlers.Uplink).

    Lines of unknown terminals, or malformed ones, are dropped (logged); the rest are inserted in one
    statement that ignores lines already stored.
    """
    villages = dict(
        Terminal.objects.filter(code__in={item.terminal for item in items}).values_list("code", "village_id")
    )
    rows: list[PlaybackLog] = []
    for item in items:
        village = villages.get(item.terminal)
        lines = item.payload.get("logs")
        if village is None or not isinstance(lines, list):
            log.warning("playlog from %s dropped (unknown terminal or no logs)", item.terminal)
            continue
        for line in lines:
            if not isinstance(line, dict):
                continue
            slot, start, outcome = _int(line.get("slot")), _time(line.get("start")), line.get("outcome")
            if slot is None or start is None or outcome not in Outcome.values:
                log.warning("malformed playlog line from %s: %r", item.terminal, line)
                continue
            rows.append(
                PlaybackLog(
                    terminal_code=item.terminal,
                    village_id=village,
                    slot_id=slot,
                    schedule_id=_int(line.get("schedule")),
                    item_id=_int(line.get("item")),
                    title=str(line.get("title") or "")[:MAX_TITLE],
                    scheduled_start=start,
                    started_at=_time(line.get("started")),
                    played_ms=_int(line.get("ms")) or 0,
                    outcome=outcome,
                    reason=str(line.get("reason") or "")[:MAX_REASON],
                    version=_int(line.get("version")) or 0,
                )
            )
    if rows:
        PlaybackLog.objects.bulk_create(rows, ignore_conflicts=True)


# ---------------------------------------------------------------------------- coverage


@dataclass(frozen=True)
class EntryCoverage:
    village: str
    slot_id: int
    scheduled_start: datetime.datetime
    title: str
    played: int  # terminals that reported it played
    reported: int  # terminals that reported it at all
    terminals: int  # active terminals of the village at its start

    @property
    def percent(self) -> float:
        return round(100 * self.played / self.terminals, 1) if self.terminals else 0.0


def entry_coverage(*, logs: QuerySet[PlaybackLog]) -> list[EntryCoverage]:
    """Coverage of every (village, slot, start) in `logs` (two queries whatever their number)."""
    grouped = list(
        logs.order_by()
        .values("village_id", "slot_id", "scheduled_start")
        .annotate(
            played=Count("id", filter=Q(outcome=Outcome.PLAYED)),
            reported=Count("id"),
        )
        .order_by("scheduled_start", "village_id", "slot_id")
    )
    titles = {
        (row["village_id"], row["slot_id"], row["scheduled_start"]): row["title"]
        for row in logs.order_by().values("village_id", "slot_id", "scheduled_start", "title")
    }
    fleet: dict[str, list[tuple[datetime.datetime, datetime.datetime | None]]] = {}
    for village, created, revoked in Terminal.objects.filter(
        village_id__in={row["village_id"] for row in grouped}
    ).values_list("village_id", "created_at", "revoked_at"):
        fleet.setdefault(village, []).append((created, revoked))

    def active_at(village: str, moment: datetime.datetime) -> int:
        return sum(
            1
            for created, revoked in fleet.get(village, [])
            if created <= moment and (revoked is None or revoked > moment)
        )

    result = []
    for row in grouped:
        key = (row["village_id"], row["slot_id"], row["scheduled_start"])
        # A terminal that reported the entry existed then, whatever its registration date says.
        terminals = max(active_at(row["village_id"], row["scheduled_start"]), row["reported"])
        result.append(
            EntryCoverage(
                village=row["village_id"],
                slot_id=row["slot_id"],
                scheduled_start=row["scheduled_start"],
                title=titles.get(key, ""),
                played=row["played"],
                reported=row["reported"],
                terminals=terminals,
            )
        )
    return result
