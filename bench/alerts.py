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

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only.

    .venv/bin/python bench/alerts.py --count 1000 5000 10000
"""

import argparse
import asyncio
import functools
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
PROVINCE = "520000000000"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return round(ordered[index], 4)


def _bare_worker(
    index: int,
    credentials: list[tuple[str, str]],
    port: int,
    topic_filter: str,
    reply_bytes: int,
    events: Any,
    stop: Any,
) -> None:
    """Plain subscribers of the terminal accounts; with `reply_bytes`, each answers every message at
    once with one QoS 1 message of that size on its own uplink topic (`rc/v1/up/<id>/bench`, which
    the ingest worker does not read), as a terminal answers with its receipt."""
    from ruralcast_terminal.mqtt import run_event_loop

    from bench.common import connected_clients

    async def main() -> None:
        arrivals: list[float] = []
        accounts = [(user, password, [(topic_filter, 1)]) for user, password in credentials]
        clients = await connected_clients(accounts, port=port, on_message=lambda _message: arrivals.append(time.time()))
        if reply_bytes:
            reply = b"r" * reply_bytes
            for (user, _password), client in zip(credentials, clients, strict=True):

                def answer(
                    _message: Any, client: Any = client, topic: str = topics.uplink_topic(user, "bench")
                ) -> None:
                    arrivals.append(time.time())
                    client.publish_nowait(topic, reply, qos=1)

                client.on_message = answer
        await asyncio.sleep(0.5)  # subscriptions acknowledged
        events.put(("ready", index))
        rounds = 0
        while not stop.is_set():
            if len(arrivals) > rounds:
                await asyncio.sleep(0.2)
            if len(arrivals) >= (rounds + 1) * len(clients):
                events.put(("round", index, max(arrivals[rounds * len(clients) :])))
                rounds += 1
            await asyncio.sleep(0.005)
        await asyncio.gather(*(client.disconnect() for client in clients))

    run_event_loop(main())  # the same event loop as the simulator's workers


def _bare_collector(port: int, expected: int, account: tuple[str, str], events: Any, stop: Any) -> None:
    """The way back of the bare round trip: one platform-account client (like the ingest worker)
    subscribed to the replies; reports when the last of each round's `expected` replies arrived."""
    from ruralcast_terminal.mqtt import run_event_loop

    from bench.common import connected_clients

    async def main() -> None:
        arrivals: list[float] = []
        user, password = account
        [collector] = await connected_clients(
            [(user, password, [(topics.uplink_filter("bench"), 1)])],
            port=port,
            on_message=lambda _message: arrivals.append(time.time()),
        )
        await asyncio.sleep(0.5)  # subscription acknowledged
        events.put(("ready", -1))
        rounds = 0
        while not stop.is_set():
            if len(arrivals) >= (rounds + 1) * expected:
                events.put(("collected", rounds, arrivals[(rounds + 1) * expected - 1]))
                rounds += 1
            await asyncio.sleep(0.005)
        await collector.disconnect()

    run_event_loop(main())


def bare_fanout(
    credentials: list[tuple[str, str]],
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
    that size and the time runs until the last answer reached one collecting client: the floor
    under "receipts stored" that the broker and plain clients set on this machine, with no
    verification, no playback and no database.
    """
    import multiprocessing

    from bench.common import platform_publisher, start_baseline_workers
    from ruralcast.messaging.broker import platform_credentials

    topic_filter = topics.region_filter(PROVINCE)
    collector = None
    if reply_bytes:
        context = multiprocessing.get_context("spawn")
        collected, collector_stop = context.Queue(), context.Event()
        collector = context.Process(
            target=_bare_collector,
            args=(port, len(credentials), platform_credentials(), collected, collector_stop),
            daemon=True,
        )
        collector.start()
        assert collected.get(timeout=120)[0] == "ready"
    workers, events, stop = start_baseline_workers(
        _bare_worker, credentials, processes, port, topic_filter, reply_bytes
    )
    results = []
    cpu_rounds = []
    roles = {"broker": [broker_pid], "subscribers": [worker.pid for worker in workers if worker.pid]}
    if collector is not None and collector.pid:
        roles["collector"] = [collector.pid]

    async def publish_once(round_number: int) -> float:
        publisher = await platform_publisher("bench-bare-publisher", port=port)
        started = time.time()
        await publisher.publish(topics.region_topic(PROVINCE, f"bare{round_number}"), b"x" * size, qos=1)
        await publisher.disconnect()
        return started

    for round_number in range(repeat):
        before = _cpu_seconds(roles)
        started = asyncio.run(publish_once(round_number))
        lasts = [events.get(timeout=120)[2] for _ in workers]
        if collector is not None:
            lasts = [collected.get(timeout=120)[2]]
        cpu_rounds.append(_cpu_used(before, _cpu_seconds(roles)))
        results.append(round(max(lasts) - started, 4))
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    if collector is not None:
        collector_stop.set()
        collector.join(timeout=30)
    median_round = sorted(range(repeat), key=lambda i: results[i])[repeat // 2]
    return results, cpu_rounds[median_round]


def _receipt_bytes(ebm_id: str, terminal: str) -> int:
    """The size of a terminal's `received` + `started` receipt message for this alert."""
    from ruralcast_terminal.receipts import local_now_iso, receipts_bytes

    now = local_now_iso()
    return len(receipts_bytes(terminal=terminal, ebm_id=ebm_id, events=[("received", "", now), ("started", "", now)]))


def _django(workdir: Path, mqtt_port: int, tls_port: int = 0) -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.django.local",
            "RURALCAST_RUN_DIR": str(workdir),
            "DJANGO_SECRET_KEY": "bench-only-throwaway-database",
            "LOG_LEVEL": "WARNING",
            "DATABASE_URL": os.environ.get("BENCH_DATABASE_URL", f"sqlite:///{workdir / 'bench.sqlite3'}"),
            "RURALCAST_MQTT_PORT": str(mqtt_port),
            "RURALCAST_MQTT_TLS_PORT": str(tls_port),
        }
    )
    import django

    django.setup()


def _spawn(arguments: list[str], log: Path) -> subprocess.Popen[bytes]:
    handle = log.open("wb")
    return subprocess.Popen(arguments, cwd=ROOT, env=os.environ.copy(), stdout=handle, stderr=subprocess.STDOUT)


def _cpu_seconds(pids: dict[str, list[int]]) -> dict[str, float]:
    """User + system CPU seconds used so far by each role's processes (and their children)."""
    import psutil

    used: dict[str, float] = {}
    for role, role_pids in pids.items():
        total = 0.0
        for pid in role_pids:
            try:
                process = psutil.Process(pid)
                for member in [process, *process.children(recursive=True)]:
                    times = member.cpu_times()
                    total += times.user + times.system
            except psutil.NoSuchProcess:
                continue
        used[role] = total
    return used


def _cpu_used(before: dict[str, float], after: dict[str, float]) -> dict[str, float]:
    return {role: round(after[role] - before.get(role, 0.0), 3) for role in after}


def _spread(summary: dict[str, Any]) -> float | None:
    """Seconds between the first and the last virtual terminal receiving the alert."""
    fanout = summary.get("fanout") or {}
    spreads = [float(item["spread_ms"]) for item in fanout.values() if isinstance(item, dict) and "spread_ms" in item]
    return round(max(spreads) / 1000, 4) if spreads else None


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(what)
        time.sleep(0.05)


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
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="rc-bench-alerts-"))
    mqtt_port = _free_port()
    tls_port = _free_port() if args.tls else 0
    _django(workdir, mqtt_port, tls_port)
    from django.conf import settings
    from django.core.management import call_command
    from django.db.models import Max
    from django.utils import timezone
    from ruralcast_terminal.simulate import default_processes, raise_fd_limit

    from bench.common import record
    from ruralcast.accounts.demo import random_password
    from ruralcast.accounts.roles import Role
    from ruralcast.accounts.services import role_grant, user_create
    from ruralcast.alerts.lifecycle import alerts_expire_due
    from ruralcast.alerts.models import Receipt
    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import AlertFields, alert_approve, alert_create, alert_submit
    from ruralcast.messaging.models import OutboxMessage, OutboxState
    from ruralcast.regions.codes import Level
    from ruralcast.regions.models import Region
    from ruralcast.regions.services import regions_import
    from ruralcast.signing.services import signing_key_generate
    from ruralcast.terminals.demo import trust_file_write
    from ruralcast.terminals.services import terminal_register

    raise_fd_limit()
    call_command("migrate", verbosity=0)
    regions_import(province=PROVINCE[:2])
    key = signing_key_generate(actor=None)
    province = Region.objects.get(code=PROVINCE)
    operator = user_create(actor=None, username="bench-operator", password=random_password(), home_region=province)
    approver = user_create(actor=None, username="bench-approver", password=random_password(), home_region=province)
    role_grant(actor=None, user=operator, role=Role.STATION_OPERATOR, region=province)
    role_grant(actor=None, user=approver, role=Role.ALERT_APPROVER, region=province)

    largest = max(args.count)
    villages = list(Region.objects.filter(level=Level.VILLAGE).order_by("code").values_list("code", flat=True))
    # Spread terminals over the whole province: every county and township has some.
    villages = villages[:: max(1, len(villages) // largest)][:largest]
    credentials: list[tuple[str, str]] = []
    registration_started = time.perf_counter()
    for village in Region.objects.filter(code__in=villages):
        registration = terminal_register(actor=None, village=village)
        credentials.append((registration.terminal.code, registration.password))
    registration_s = time.perf_counter() - registration_started
    trust = trust_file_write()
    logs = workdir / "logs"
    logs.mkdir()
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    broker = _spawn([*manage, "broker_run"], logs / "broker.log")
    _wait(lambda: socket.socket().connect_ex(("127.0.0.1", mqtt_port)) == 0, 120, "broker")
    transports = {"plain": ["--broker", f"127.0.0.1:{mqtt_port}"]}
    if tls_port:
        from ruralcast.messaging.broker import broker_dir
        from ruralcast.messaging.tls import CA_CERT_FILE

        _wait(lambda: socket.socket().connect_ex(("127.0.0.1", tls_port)) == 0, 30, "broker's TLS listener")
        transports["tls"] = ["--broker", f"127.0.0.1:{tls_port}", "--ca", str(broker_dir() / CA_CERT_FILE)]
    dispatcher = _spawn([*manage, "dispatcher"], logs / "dispatcher.log")
    ingest = _spawn([*manage, "ingest"], logs / "ingest.log")
    # The ingest worker's first session starts with its first subscription: receipts sent before it
    # are lost, so wait for both workers (slow to start on a loaded machine), not a fixed time.
    for name, line in (("dispatcher", "dispatcher running"), ("ingest", "ingest running")):
        _wait(lambda n=name, text=line: text in (logs / f"{n}.log").read_text(errors="replace"), 120, name)
    time.sleep(1)

    runs = []
    try:
        for count, transport in [(count, mode) for count in sorted(args.count) for mode in transports]:
            chosen = credentials[:count]
            password_file = workdir / f"passwords-{count}"
            password_file.write_text("".join(f"{code}:{password}\n" for code, password in chosen))
            processes = default_processes(count)
            report = workdir / f"simulator-{count}-{transport}.json"
            simulator = _spawn(
                [
                    str(Path(python).parent / "ruralcast-terminal"),
                    "simulate",
                    "--count",
                    str(count),
                    "--region",
                    PROVINCE,
                    *transports[transport],
                    "--processes",
                    str(processes),
                    "--password-file",
                    str(password_file),
                    "--trust",
                    str(trust),
                    "--expect-alerts",
                    "1",
                    "--connect-timeout",
                    "300",
                    "--report",
                    str(report),
                    *(["--real-playback"] if args.playback == "real" else []),
                ],
                logs / f"simulator-{count}-{transport}.log",
            )
            log_path = logs / f"simulator-{count}-{transport}.log"
            _wait(lambda path=log_path: '"event": "ready"' in path.read_text(errors="replace"), 600, "simulator")
            time.sleep(1)

            now = timezone.now()
            fields = AlertFields(
                status="Exercise", event_code="11B03", severity=2, title="暴雨橙色预警演练",
                text="这是一次演练。请沿河群众做好转移准备。", onset=now, expires=now + timedelta(hours=1),
                targets=[province],
            )  # fmt: skip
            alert = alert_submit(
                actor=operator, alert=alert_create(actor=operator, issuer_region=province, fields=fields)
            )
            roles = {
                "broker": [broker.pid],
                "simulators": [simulator.pid],
                "ingest": [ingest.pid],
                "dispatcher": [dispatcher.pid],
            }
            version = content_version(alert)  # what the approver saw
            cpu_before = _cpu_seconds(roles)
            t0 = timezone.now()
            alert_approve(approver=approver, alert=alert, confirm_status="Exercise", version=version)
            approved_at = timezone.now()
            started_receipts = Receipt.objects.filter(alert=alert, event="started")
            all_receipts = Receipt.objects.filter(alert=alert)
            expected = count
            try:
                _wait(lambda q=started_receipts, n=expected: q.count() >= n, 120, "started receipts")
                cpu_critical = _cpu_used(cpu_before, _cpu_seconds(roles))
                _wait(lambda q=all_receipts, n=expected: q.count() >= 3 * n, 120, "all receipts")
            finally:
                simulator.wait(timeout=120)
            latencies = [
                (stored - t0).total_seconds() for stored in started_receipts.values_list("stored_at", flat=True)
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
            _wait(lambda q=cleared: q.exists(), 60, "retained alert cleared")
            baseline = functools.partial(
                bare_fanout,
                chosen,
                port=mqtt_port,
                processes=processes,
                size=message_bytes,
                repeat=args.repeat,
                broker_pid=broker.pid,
            )
            bare, bare_cpu = baseline()
            roundtrip, roundtrip_cpu = baseline(reply_bytes=_receipt_bytes(alert.ebm_id, chosen[0][0]))
            roundtrip_median = statistics.median(roundtrip)
            bare_median = statistics.median(bare)
            p99 = _percentile(latencies, 0.99)
            runs.append(
                {
                    "terminals": count,
                    "transport": transport,
                    "processes": processes,
                    "message_bytes": message_bytes,
                    "started_stored_p50_s": _percentile(latencies, 0.5),
                    "started_stored_p99_s": p99,
                    "started_stored_max_s": round(max(latencies), 4),
                    "started_on_device_p99_s": _percentile(device, 0.99) if device else None,
                    "ingest_done_s": round((last_stored - t0).total_seconds(), 4),
                    "dispatch_s": dispatch_steps,
                    "bare_fanout_s": round(bare_median, 4),
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
                    "verifies": summary.get("verify_count"),
                    "verify_us": summary.get("verify_us"),
                }
            )
            print(json.dumps(runs[-1]), file=sys.stderr)
    finally:
        for process in (dispatcher, ingest, broker):
            process.send_signal(signal.SIGTERM)
        for process in (dispatcher, ingest, broker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    # --tls: the same fleet over TLS against plain TCP, same run (goal: p99 <= 1.5x plain).
    by_transport = {(run["terminals"], run["transport"]): run for run in runs}
    tls_vs_plain = {
        str(count): {
            key: round(tls[key] / plain[key], 2) if plain[key] else None
            for key in ("started_stored_p50_s", "started_stored_p99_s", "ingest_done_s")
        }
        | {"broker_cpu_s": [plain["critical_cpu_s"].get("broker"), tls["critical_cpu_s"].get("broker")]}
        for (count, transport), tls in by_transport.items()
        if transport == "tls" and (plain := by_transport.get((count, "plain")))
    }
    record(
        "alerts",
        {
            "alg": key.alg,
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "terminal_registration_s": round(registration_s, 2),
            "playback": args.playback,
            "goal": "p99 <= 1 s at 10,000 and <= 2x bare fan-out",
            "runs": runs,
            **({"tls_vs_plain": tls_vs_plain} if tls_vs_plain else {}),
        },
    )


if __name__ == "__main__":
    main()
