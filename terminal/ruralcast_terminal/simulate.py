"""Thousands of virtual terminals against a real broker: the `simulate` command and its processes.

The fleet itself (one process's terminals on one event loop, each deciding through the agent's own
router) is `fleet.py`; who the terminals are is `fleet_plan.py`. This module spreads the terminals
over `--processes` processes (spawned; one per ~3,000 terminals by default, at most one per CPU),
each on uvloop's event loop when installed (the `fast` extra), merges their statistics and prints
them.

Broker-side needs for 10,000 terminals: mosquitto 2.0 with `max_connections -1` (the default) on the
listener, and a file-descriptor limit above the client count (`ulimit -n 20000`, or
`LimitNOFILE=` in its systemd unit); this process raises its own RLIMIT_NOFILE to the hard limit.

`ruralcast-terminal simulate` prints progress on stderr, a `{"event": "ready", ...}` line on stdout
once every terminal is connected, and a final JSON summary on stdout (and in `--report`).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
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
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import crypto, protocol
from ruralcast_terminal.fleet import Fleet, FleetStats, TimedVerifyCache, _fraction
from ruralcast_terminal.fleet_plan import (
    TERMINAL_TYPE_DIGITS,
    TerminalSpec,
    plan_terminals,
    read_password_file,
    read_villages,
    synthetic_villages,
    terminal_id_for,
)
from ruralcast_terminal.mqtt import run_event_loop
from ruralcast_terminal.protocol import TrustList

# The fleet's names, importable from here as before the simulator was split.
__all__ = [
    "TERMINALS_PER_PROCESS",
    "TERMINAL_TYPE_DIGITS",
    "Fleet",
    "FleetStats",
    "RunOptions",
    "TerminalSpec",
    "TimedVerifyCache",
    "add_arguments",
    "default_processes",
    "live_summary",
    "merge",
    "plan_terminals",
    "raise_fd_limit",
    "read_password_file",
    "read_villages",
    "run_fleet",
    "simulate_main",
    "summary_of",
    "synthetic_villages",
    "terminal_id_for",
]

log = logging.getLogger(__name__)

TERMINALS_PER_PROCESS = 3000


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
    ca_pem: str = ""  # TLS pinned to this CA (PEM); empty: plain TCP
    server_name: str = ""  # the name the broker's certificate carries (default: the host)


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
        ca_pem=options.ca_pem or None,
        server_name=options.server_name or None,
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
        "trust_adopted": total.get("trust_adopted", 0),  # updates adopted, once per process
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
        "--ca", type=Path, help="TLS: PEM of the CA the broker's certificate must chain to (the provisioning broker_ca)"
    )
    parser.add_argument("--server-name", default="", help="TLS: the name in the broker's certificate (default: HOST)")
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
        ca_pem=args.ca.read_text("ascii") if args.ca else "",
        server_name=args.server_name,
    )
    processes = args.processes or default_processes(len(specs))
    summary = run_fleet(specs, options, processes=max(1, min(processes, len(specs))))
    text = json.dumps(summary, ensure_ascii=False)
    print(text, flush=True)
    if args.report:
        args.report.write_text(text + "\n", "utf-8")
    return 1 if summary.get("errors") else 0
