"""Benchmark: from the approving click to playback-started receipts stored, for N simulated terminals.

For each N (default 1,000 / 5,000 / 10,000), on one machine, with the processes `make run` uses:
mosquitto configured by the platform (per-terminal passwords and ACLs), `manage.py dispatcher`,
`manage.py ingest`, and `ruralcast-terminal simulate` with N terminals (their own connections and
credentials, spread over the villages of Guizhou).

1. platform path: a drill targeting the province is drafted and submitted (speech synthesised
   before the clock starts); t0 is taken just before `alert_approve()`; the dispatcher signs (SM2-SM3
   by default) and publishes ONE message on the province topic; every simulated terminal verifies
   it (one verification per process, see `verify_us`), "plays" it (null sink) and sends receipts:
   received + started together, then finished after the audio's length × repeat as a loudspeaker
   would (`--playback real`, the default) or at once (`--playback instant`);
   the ingest worker stores them in batches. Latency of a terminal = stored_at of its `started`
   receipt − t0; also `ingest_done_s` = when the last of the 3·N receipts was stored.
2. baseline, same run: the same N connections (same credentials, same ACL, lean client) subscribed to
   the same province topic receive one message of the same size published by the platform
   account; time until the last one has it (median of 3).
3. bare round trip, same run: as 2, but every subscriber answers at once with one QoS 1 message of
   a receipt's size on its own uplink topic, and the time runs until the last answer reached one
   collecting client of the platform account (median of 3): the floor that mosquitto and plain
   clients set under "receipts stored" on this machine (no verification, playback or database).
   `bare_roundtrip_vs_bare` says how far that floor already is from the bare fan-out.

With `--tls` each fleet runs twice in each round, plain TCP then the terminals' TLS listener (CA
pinned, TLS 1.3 with the broker's AES-128-GCM first); `tls_vs_plain` gives each round's TLS ÷ plain
ratios and their medians over `--rounds` (one registration for all rounds; a first alert that no
terminal receives warms the dispatcher up before them). A fair comparison needs `--pin`: the
simulator decrypts every terminal's copy of the alert in two Python processes, ten thousand copies
where a real terminal decrypts one, and on a shared machine that harness cost competes with the
broker and the ingest worker for the same cores. `--pin` keeps the platform (broker, dispatcher,
ingest) on core 0 and the simulator, the bare workers and this script on the other cores, for both
transports, as a server and its terminals would be: the platform's figures then carry what TLS
costs the platform, and the simulator's CPU is reported apart (`critical_cpu_s.simulators`). A
network namespace with a veth pair was not used: loopback and veth both stay in the kernel on the
same cores, so it would add realism to the packet path, not separate the costs; uvloop (the `fast`
extra) is the simulator's loop, and its SSL layer (compiled) carries the TLS connections.

    nice -n -10 .venv/bin/python bench/alerts.py --count 10000 --tls --pin --rounds 3 --no-bare

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only.

    .venv/bin/python bench/alerts.py --count 1000 5000 10000
"""

import argparse
import asyncio
import functools
import json
import os
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    Bare,
    bare_stop,
    bare_workers,
    bench_django,
    cpu_seconds,
    cpu_used,
    database_name,
    free_port,
    percentile,
    pin,
    platform_publisher,
    platform_services,
    platform_setup,
    port_open,
    record,
    simulator_command,
    simulator_ready,
    spawn,
    wait_until,
)

PROVINCE = "520000000000"
# --pin: the core of the platform's processes (the broker, the dispatcher, the ingest worker).
PLATFORM_CPU = 0


def bare_fanout(
    credentials: list[tuple[str, str, str]],
    *,
    port: int,
    processes: int,
    size: int,
    repeat: int,
    broker_pid: int,
    reply_bytes: int = 0,
) -> tuple[list[float], dict[str, float]]:
    """Seconds from publish to the last of N subscribers receiving one `size`-byte QoS 1 message, and
    the CPU seconds the broker and the subscribers' processes used in the median round.

    With `reply_bytes`, the bare round trip instead: every subscriber answers with a message of
    that size and the time runs until the last answer reached one collecting client of the platform
    account (like the ingest worker): the floor under "receipts stored" that the broker and plain
    clients set on this machine, with no verification, no playback and no database.
    """
    from ruralcast.messaging.broker import platform_credentials

    collector: list[Any] = []
    if reply_bytes:
        user, password = platform_credentials()
        collector, collected, collector_stop = bare_workers(
            [(user, password, topics.uplink_filter("bench"))],
            1,
            Bare(port=port, mark="/bench", expected=len(credentials)),
        )
    accounts = [(code, password, topics.region_filter(PROVINCE)) for code, password, _village in credentials]
    workers, events, stop = bare_workers(accounts, processes, Bare(port=port, reply_bytes=reply_bytes))
    results = []
    cpu_rounds = []
    roles = {"broker": [broker_pid], "subscribers": [worker.pid for worker in workers if worker.pid]}
    if collector and collector[0].pid:
        roles["collector"] = [collector[0].pid]

    async def publish_once(round_number: int) -> float:
        publisher = await platform_publisher("bench-bare-publisher", port=port)
        started = time.time()
        await publisher.publish(topics.region_topic(PROVINCE, f"bare{round_number}"), b"x" * size, qos=1)
        await publisher.disconnect()
        return started

    for round_number in range(repeat):
        before = cpu_seconds(roles)
        started = asyncio.run(publish_once(round_number))
        lasts = [events.get(timeout=120)[2] for _ in workers]
        if collector:
            lasts = [collected.get(timeout=120)[2]]
        cpu_rounds.append(cpu_used(before, cpu_seconds(roles)))
        results.append(round(max(lasts) - started, 4))
    bare_stop(workers, stop)
    if collector:
        bare_stop(collector, collector_stop)
    median_round = sorted(range(repeat), key=lambda i: results[i])[repeat // 2]
    return results, cpu_rounds[median_round]


def _receipt_bytes(ebm_id: str, terminal: str) -> int:
    """The size of a terminal's `received` + `started` receipt message for this alert."""
    from ruralcast_terminal.receipts import local_now_iso, receipts_bytes

    now = local_now_iso()
    return len(receipts_bytes(terminal=terminal, ebm_id=ebm_id, events=[("received", "", now), ("started", "", now)]))


def _spread(summary: dict[str, Any]) -> float | None:
    """Seconds between the first and the last virtual terminal receiving the alert."""
    fanout = summary.get("fanout") or {}
    spreads = [float(item["spread_ms"]) for item in fanout.values() if isinstance(item, dict) and "spread_ms" in item]
    return round(max(spreads) / 1000, 4) if spreads else None


def _fields(province: Any) -> Any:
    """The drill every run approves: an hour long, for the whole province."""
    from django.utils import timezone

    from ruralcast.alerts.services import AlertFields

    now = timezone.now()
    return AlertFields(
        status="Exercise", event_code="11B03", severity=2, title="暴雨橙色预警演练",
        text="这是一次演练。请沿河群众做好转移准备。", onset=now, expires=now + timedelta(hours=1),
        targets=[province],
    )  # fmt: skip


RATIO_KEYS = ("started_stored_p50_s", "started_stored_p99_s", "finished_stored_p99_s", "ingest_done_s")


def _tls_vs_plain(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """--tls: each fleet over TLS against plain TCP in the same round (goal: p99 <= 1.5x plain).

    Per fleet size: the median over the rounds of each round's TLS ÷ plain ratio, each round's
    ratios under "rounds", and the broker's and the simulator's CPU seconds (plain, TLS) per round.
    """
    by_round = {(run["terminals"], run["round"], run["transport"]): run for run in runs}
    paired: dict[int, list[dict[str, Any]]] = {}
    for (count, round_number, transport), tls in by_round.items():
        plain = by_round.get((count, round_number, "plain"))
        if transport != "tls" or plain is None:
            continue
        cpu = {
            role: [plain["critical_cpu_s"].get(role), tls["critical_cpu_s"].get(role)]
            for role in ("broker", "simulators")
        }
        paired.setdefault(count, []).append(
            {key: round(tls[key] / plain[key], 2) if plain[key] else None for key in RATIO_KEYS}
            | {f"{role}_cpu_s": pair for role, pair in cpu.items()}
            | {"deliveries": [plain["deliveries"], tls["deliveries"]]}
        )
    return {
        str(count): {
            key: statistics.median(values) if (values := [r[key] for r in rounds if r[key] is not None]) else None
            for key in RATIO_KEYS
        }
        | {"rounds": rounds}
        for count, rounds in paired.items()
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, nargs="+", default=[1000, 5000, 10000])
    parser.add_argument("--repeat", type=int, default=3, help="bare fan-out repetitions (median)")
    parser.add_argument(
        "--playback",
        choices=["real", "instant"],
        default="real",
        help="virtual loudspeakers send `finished` after the audio's length (real) or at once (instant)",
    )
    parser.add_argument(
        "--tls",
        action="store_true",
        help="run each fleet twice in the same run, plain TCP then TLS (the broker's terminal listener, CA pinned)",
    )
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="run each fleet (each transport in turn) this many times: one registration",
    )
    parser.add_argument(
        "--pin",
        action="store_true",
        help="the platform (broker, dispatcher, ingest) on core 0, the simulator and this script on the others",
    )
    parser.add_argument("--no-bare", action="store_true", help="skip the bare fan-out and round trip baselines")
    args = parser.parse_args()
    if args.pin:
        others = os.sched_getaffinity(0) - {PLATFORM_CPU}
        if PLATFORM_CPU not in os.sched_getaffinity(0) or not others:
            parser.error("--pin needs two cores or more")
        os.sched_setaffinity(0, others)  # the simulator and the bare workers inherit it
    mqtt_port = free_port()
    # The broker's terminal listener over TLS: on a free port with --tls, else none.
    os.environ["RURALCAST_MQTT_TLS_PORT"] = str(free_port() if args.tls else 0)
    with bench_django("alerts", mqtt_port=mqtt_port) as workdir:
        figures = _run(args, workdir, mqtt_port)
    record("alerts", figures)


def _run(args: argparse.Namespace, workdir: Path, mqtt_port: int) -> dict[str, Any]:
    from django.db.models import Max
    from django.utils import timezone
    from ruralcast_terminal.simulate import default_processes

    from ruralcast.accounts.roles import Role
    from ruralcast.alerts.lifecycle import alerts_expire_due
    from ruralcast.alerts.models import Receipt
    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import alert_approve, alert_create, alert_submit
    from ruralcast.messaging.models import OutboxMessage, OutboxState

    # Terminals spread over the whole province: every county and township has some.
    bench = platform_setup(
        PROVINCE,
        users={"bench-operator": Role.STATION_OPERATOR, "bench-approver": Role.ALERT_APPROVER},
        terminals=max(args.count),
    )
    operator, approver = bench.users["bench-operator"], bench.users["bench-approver"]
    province = bench.region
    assert bench.trust is not None
    runs = []
    with platform_services(workdir, mqtt_port, ["dispatcher", "ingest"]) as services:
        if args.pin:
            for name in ("broker", "dispatcher", "ingest"):
                pin(services.processes[name].pid, {PLATFORM_CPU})
        transports: dict[str, list[str]] = {"plain": []}
        tls_port = int(os.environ["RURALCAST_MQTT_TLS_PORT"])
        if tls_port:
            from ruralcast.messaging.broker import broker_dir
            from ruralcast.messaging.tls import CA_CERT_FILE

            wait_until(lambda: port_open(tls_port), 30, "the broker's TLS listener")
            transports["tls"] = ["--broker", f"127.0.0.1:{tls_port}", "--ca", str(broker_dir() / CA_CERT_FILE)]
        if args.rounds > 1:
            # One alert through the whole path before any terminal connects (none receives it): the
            # dispatcher's first alert costs it seconds of start-up (imports, the first signature),
            # which would otherwise fall on the first round's plain run only and skew its ratio.
            warm = alert_submit(
                actor=operator, alert=alert_create(actor=operator, issuer_region=province, fields=_fields(province))
            )
            alert_approve(approver=approver, alert=warm, confirm_status="Exercise", version=content_version(warm))
            wait_until(
                OutboxMessage.objects.filter(key=warm.ebm_id, state=OutboxState.PUBLISHED).exists, 120, "warm-up"
            )
            alerts_expire_due(now=warm.expires + timedelta(seconds=1))
            cleared = OutboxMessage.objects.filter(kind="alert.clear", key=warm.ebm_id, state=OutboxState.PUBLISHED)
            wait_until(cleared.exists, 60, "warm-up alert cleared")
        plan = [
            (count, round_number, mode)
            for count in sorted(args.count)
            for round_number in range(args.rounds)
            for mode in transports
        ]
        for count, round_number, transport in plan:
            chosen = bench.terminals[:count]
            processes = default_processes(count)
            report = workdir / f"simulator-{count}-{round_number}-{transport}.json"
            log_path = workdir / "logs" / f"simulator-{count}-{round_number}-{transport}.log"
            simulator = spawn(
                simulator_command(
                    chosen, workdir=workdir, name=f"{count}-{round_number}-{transport}", region=PROVINCE, port=mqtt_port,
                    processes=processes, trust=bench.trust, report=report,
                    options=[
                        "--expect-alerts", "1", *(["--real-playback"] if args.playback == "real" else []),
                        *transports[transport],  # the last --broker wins
                    ],
                ),
                log_path,
            )  # fmt: skip
            simulator_ready(log_path)
            time.sleep(1)

            alert = alert_submit(
                actor=operator, alert=alert_create(actor=operator, issuer_region=province, fields=_fields(province))
            )
            roles = {**services.pids("broker", "ingest", "dispatcher"), "simulators": [simulator.pid]}
            version = content_version(alert)  # what the approver saw
            cpu_before = cpu_seconds(roles)
            t0 = timezone.now()
            alert_approve(approver=approver, alert=alert, confirm_status="Exercise", version=version)
            approved_at = timezone.now()
            started_receipts = Receipt.objects.filter(alert=alert, event="started")
            all_receipts = Receipt.objects.filter(alert=alert)
            expected = count
            try:
                wait_until(lambda q=started_receipts, n=expected: q.count() >= n, 120, "started receipts")
                cpu_critical = cpu_used(cpu_before, cpu_seconds(roles))
                wait_until(lambda q=all_receipts, n=expected: q.count() >= 3 * n, 120, "all receipts")
            finally:
                simulator.wait(timeout=120)
            latencies = [
                (stored - t0).total_seconds() for stored in started_receipts.values_list("stored_at", flat=True)
            ]
            finished = [
                (stored - t0).total_seconds()
                for stored in all_receipts.filter(event="finished").values_list("stored_at", flat=True)
            ]
            device = [
                (at - t0).total_seconds()
                for at in started_receipts.exclude(device_at=None).values_list("device_at", flat=True)
                if at is not None
            ]
            last_stored = Receipt.objects.filter(alert=alert).aggregate(last=Max("stored_at"))["last"]
            outbox = OutboxMessage.objects.get(key=alert.ebm_id)
            # Where the time before the fan-out goes: the approval's commit, signing, the broker's PUBACK.
            dispatch_steps = {
                step: round((moment - t0).total_seconds(), 4) if moment is not None else None
                for step, moment in (
                    ("approved", approved_at),
                    ("prepared", outbox.prepared_at),
                    ("published", outbox.published_at),
                )
            }
            message_bytes = max(len(item.get("payload_b64", "")) * 3 // 4 for item in outbox.messages)
            summary = json.loads(report.read_text()) if report.exists() else {}
            # Expire the alert so its retained message is cleared before the next, larger fleet connects
            # (otherwise the new terminals would receive this alert on connecting).
            alerts_expire_due(now=alert.expires + timedelta(seconds=1))
            cleared = OutboxMessage.objects.filter(kind="alert.clear", key=alert.ebm_id, state=OutboxState.PUBLISHED)
            wait_until(cleared.exists, 60, "retained alert cleared")
            baseline = functools.partial(
                bare_fanout,
                chosen,
                port=mqtt_port,
                processes=processes,
                size=message_bytes,
                repeat=args.repeat,
                broker_pid=services.processes["broker"].pid,
            )
            bare_cpu: dict[str, float]
            roundtrip_cpu: dict[str, float]
            if args.no_bare:
                bare, bare_cpu, roundtrip, roundtrip_cpu = [0.0], {}, [0.0], {}
            else:
                bare, bare_cpu = baseline()
                roundtrip, roundtrip_cpu = baseline(reply_bytes=_receipt_bytes(alert.ebm_id, chosen[0][0]))
            roundtrip_median = statistics.median(roundtrip)
            bare_median = statistics.median(bare)
            p99 = percentile(latencies, 0.99)
            runs.append(
                {
                    "terminals": count,
                    "round": round_number,
                    "transport": transport,
                    "processes": processes,
                    "message_bytes": message_bytes,
                    "started_stored_p50_s": percentile(latencies, 0.5),
                    "started_stored_p99_s": p99,
                    "started_stored_max_s": round(max(latencies), 4),
                    "started_on_device_p99_s": percentile(device, 0.99) if device else None,
                    "finished_stored_p50_s": percentile(finished, 0.5) if finished else None,
                    "finished_stored_p99_s": percentile(finished, 0.99) if finished else None,
                    "ingest_done_s": round((last_stored - t0).total_seconds(), 4),
                    "dispatch_s": dispatch_steps,
                    "bare_fanout_s": round(bare_median, 4) if bare_median else None,
                    "bare_fanout_runs": bare,
                    "p99_vs_bare": round(p99 / bare_median, 2) if bare_median else None,
                    "bare_roundtrip_s": round(roundtrip_median, 4),
                    "bare_roundtrip_runs": roundtrip,
                    "p99_vs_bare_roundtrip": round(p99 / roundtrip_median, 2) if roundtrip_median else None,
                    "bare_roundtrip_vs_bare": round(roundtrip_median / bare_median, 2) if bare_median else None,
                    "critical_cpu_s": cpu_critical,
                    "critical_wall_s": round(max(latencies), 4),
                    "bare_cpu_s": bare_cpu,
                    "bare_roundtrip_cpu_s": roundtrip_cpu,
                    "simulator_fanout_spread_s": _spread(summary),
                    # Copies of the alert the terminals received (one each without amplification)
                    # and how many attempts the dispatcher needed to see every PUBACK.
                    "deliveries": summary.get("alerts_received"),
                    "duplicates": summary.get("duplicates"),
                    "dispatch_attempts": outbox.attempts,
                    "verifies": summary.get("verify_count"),
                    "verify_us": summary.get("verify_us"),
                }
            )
            print(json.dumps(runs[-1]), file=sys.stderr)
    tls_vs_plain = _tls_vs_plain(runs)
    return {
        **({"tls_vs_plain": tls_vs_plain} if tls_vs_plain else {}),
        "pinned": args.pin,
        "rounds": args.rounds,
        "alg": bench.key.alg,
        "database": database_name(),
        "terminal_registration_s": round(bench.registration_s, 2),
        "playback": args.playback,
        "goal": "p99 <= 1 s at 10,000 and <= 2x bare fan-out",
        "runs": runs,
    }


if __name__ == "__main__":
    main()
