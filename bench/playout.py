"""Benchmark (daily broadcasting, issue 5): schedule push to 10,000 terminals and live-voice delay.

`--part all` (the default) runs both halves, each in its own process, and prints and records one
JSON line with both: the schedule half below and the live-voice half (bench/live_voice.py: mouth-
to-terminal delay of a 20 s session to 1,000 simulated terminals, with its bare fan-out baseline).

`--part schedule`: N simulated
terminals (default 10,000) spread over the villages of one county (榕江县 522632000000), under one
county schedule; the processes `make run` uses: mosquitto configured by the platform (per-terminal
passwords and ACLs), `manage.py dispatcher`, and `ruralcast-terminal simulate` (their own
connections and credentials; each virtual terminal checks every schedule document as the agent
does: signature once per distinct document per process, then its village and version).

1. t0 is taken just before `slot_update()` moves the county's slot (the service call an operator's
   click makes). Measured until every simulated terminal holds the new verified version; the split:
   `compute_outbox_s` (the service: before/after comparison of every village's programme, the change
   row and the outbox row, committed), `sign_publish_s` (commit → the dispatcher marked the row
   published: build, one signature per village, one retained publish per village, PUBACKs), and
   the per-terminal adoption times (p50/p99/max from t0).
2. baseline, same run: the same N connections (same credentials and ACL, lean client) subscribed to
   their village's region topic receive the same signed documents published retained by the platform
   account on those topics (one per village); time until the last terminal has its own (median of 3).

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only.

    .venv/bin/python bench/playout.py                      # both halves, one line
    .venv/bin/python bench/playout.py --part schedule --count 10000
"""

import argparse
import asyncio
import base64
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import time as clock
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.alerts import _django, _free_port, _percentile, _spawn, _wait  # noqa: E402

COUNTY = "522632000000"


def _bare_worker(index: int, clients_spec: list[tuple[str, str, str]], port: int, events: Any, stop: Any) -> None:
    """Connections subscribed to their village's region topics; reports when each round's documents arrived."""
    from ruralcast_terminal.mqtt import run_event_loop

    from bench.common import connected_clients

    async def main() -> None:
        arrivals: dict[str, list[float]] = {}

        def arrived(message: Any) -> None:
            marker = message.topic.rsplit("/", 1)[-1]
            if marker.startswith("bare"):
                arrivals.setdefault(marker, []).append(time.time())

        accounts = [(user, password, [(topics.region_filter(village), 1)]) for user, password, village in clients_spec]
        clients = await connected_clients(accounts, port=port, on_message=arrived)
        await asyncio.sleep(1.0)  # subscriptions acknowledged, retained documents delivered
        events.put(("ready", index, 0.0))
        reported: set[str] = set()
        while not stop.is_set():
            for marker, times in list(arrivals.items()):
                if marker not in reported and len(times) >= len(clients):
                    events.put(("round", index, max(times)))
                    reported.add(marker)
            await asyncio.sleep(0.005)
        await asyncio.gather(*(client.disconnect() for client in clients))

    run_event_loop(main())  # the same event loop as the simulator's workers


def bare_publish(
    clients_spec: list[tuple[str, str, str]], documents: list[tuple[str, bytes]], *, port: int, processes: int,
    repeat: int,
) -> list[float]:  # fmt: skip
    """Seconds from the first publish to the last terminal holding its village's document (per round)."""
    from bench.common import platform_publisher, start_baseline_workers

    workers, events, stop = start_baseline_workers(_bare_worker, clients_spec, processes, port)

    async def publish_round(number: int) -> float:
        publisher = await platform_publisher(f"bench-bare-schedule-{number}", port=port)
        started = time.time()
        await asyncio.gather(
            *(
                publisher.publish_nowait(f"{topic.rsplit('/', 1)[0]}/bare{number}", payload, qos=1, retain=True)
                for topic, payload in documents
            )
        )
        await publisher.disconnect()
        return started

    results = []
    for number in range(repeat):
        started = asyncio.run(publish_round(number))
        lasts = [events.get(timeout=120)[2] for _ in workers]
        results.append(round(max(lasts) - started, 4))
    stop.set()
    for worker in workers:
        worker.join(timeout=30)
    return results


def _run_part(arguments: list[str]) -> dict[str, Any]:
    """Run one half in its own process (its own Django set-up and broker) and read its JSON line."""
    result = subprocess.run(
        [sys.executable, *arguments],
        env={**os.environ, "BENCH_NO_RECORD": "1"},
        capture_output=True,
        text=True,
        check=False,
    )
    lines = [line for line in result.stdout.splitlines() if line.startswith('{"bench"')]
    if result.returncode != 0 or not lines:
        sys.stderr.write(result.stderr[-4000:])
        raise SystemExit(f"{' '.join(arguments)} failed (exit {result.returncode})")
    figures: dict[str, Any] = json.loads(lines[-1])
    for shared in ("bench", "date", "machine"):
        figures.pop(shared, None)
    return figures


def both_parts(*, count: int, live_count: int, live_seconds: float) -> None:
    from bench.common import record

    schedule = _run_part([str(Path(__file__)), "--part", "schedule", "--count", str(count)])
    live = _run_part(
        [str(ROOT / "bench" / "live_voice.py"), "--count", str(live_count), "--seconds", str(live_seconds)]
    )
    record(
        "playout",
        {
            "command": "bench/playout.py",
            "goals": "schedule held p99 <= 5 s at 10,000 terminals; live voice p99 <= 1.5 s at 1,000",
            "schedule": schedule,
            "live": live,
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=["all", "schedule"], default="all")
    parser.add_argument("--count", type=int, default=10000)
    parser.add_argument("--repeat", type=int, default=3, help="bare publish repetitions (median)")
    parser.add_argument("--live-count", type=int, default=1000, help="terminals of the live-voice half")
    parser.add_argument("--live-seconds", type=float, default=20.0, help="length of the live session")
    args = parser.parse_args()
    if args.part == "all":
        both_parts(count=args.count, live_count=args.live_count, live_seconds=args.live_seconds)
        return

    workdir = Path(tempfile.mkdtemp(prefix="rc-bench-playout-"))
    mqtt_port = _free_port()
    _django(workdir, mqtt_port)
    from django.conf import settings
    from django.core.management import call_command
    from ruralcast_terminal.simulate import default_processes, raise_fd_limit

    from bench.common import record
    from ruralcast.accounts.demo import random_password
    from ruralcast.accounts.roles import Role
    from ruralcast.accounts.services import role_grant, user_create
    from ruralcast.broadcasting.models import ScheduleChange
    from ruralcast.broadcasting.services import (
        OUTBOX_PUBLISH,
        SlotFields,
        programme_item_create_from_text,
        schedule_create,
        slot_create,
        slot_update,
    )
    from ruralcast.messaging.models import OutboxMessage, OutboxState
    from ruralcast.regions.codes import Level, subtree_q
    from ruralcast.regions.models import Region
    from ruralcast.regions.services import regions_import
    from ruralcast.signing.services import signing_key_generate
    from ruralcast.terminals.demo import trust_file_write
    from ruralcast.terminals.services import terminal_register

    raise_fd_limit()
    call_command("migrate", verbosity=0)
    regions_import(province=COUNTY[:2])
    key = signing_key_generate(actor=None)
    county = Region.objects.get(code=COUNTY)
    operator = user_create(actor=None, username="bench-operator", password=random_password(), home_region=county)
    role_grant(actor=None, user=operator, role=Role.STATION_OPERATOR, region=county)
    villages = list(Region.objects.filter(subtree_q(county.prefix), level=Level.VILLAGE).order_by("code"))
    credentials: list[tuple[str, str, str]] = []
    registration_started = time.perf_counter()
    for number in range(args.count):
        village = villages[number % len(villages)]
        registration = terminal_register(actor=None, village=village)
        credentials.append((registration.terminal.code, registration.password, village.code))
    registration_s = time.perf_counter() - registration_started

    item = programme_item_create_from_text(
        actor=operator, owner_region=county, title="榕江新闻早班车", text="各位听众早上好，现在播报榕江新闻。"
    )
    schedule = schedule_create(actor=operator, owner_region=county, target_region=county, name="县每日新闻")
    slot = slot_create(actor=operator, schedule=schedule, fields=SlotFields(start_time=clock(7, 0), item=item))
    trust = trust_file_write()
    logs = workdir / "logs"
    logs.mkdir()
    python = sys.executable
    manage = [python, str(ROOT / "manage.py")]
    broker = _spawn([*manage, "broker_run"], logs / "broker.log")
    _wait(lambda: __import__("socket").socket().connect_ex(("127.0.0.1", mqtt_port)) == 0, 30, "broker")
    dispatcher = _spawn([*manage, "dispatcher"], logs / "dispatcher.log")
    pending = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).exclude(state=OutboxState.PUBLISHED)
    _wait(lambda: not pending.exists(), 120, "first documents published")

    password_file = workdir / "passwords"
    password_file.write_text("".join(f"{code}:{password}\n" for code, password, _village in credentials))
    processes = default_processes(args.count)
    report = workdir / "simulator.json"
    try:
        simulator = _spawn(
            [
                str(Path(python).parent / "ruralcast-terminal"), "simulate", "--count", str(args.count),
                "--region", COUNTY, "--broker", f"127.0.0.1:{mqtt_port}", "--processes", str(processes),
                "--password-file", str(password_file), "--trust", str(trust), "--expect-schedules", "2",
                "--connect-timeout", "300", "--report", str(report),
            ],
            logs / "simulator.log",
        )  # fmt: skip
        log_path = logs / "simulator.log"
        _wait(lambda: '"event": "ready"' in log_path.read_text(errors="replace"), 600, "simulator")
        time.sleep(2)  # every terminal has adopted the retained first document

        t0 = time.time()
        slot_update(actor=operator, slot=slot, fields=SlotFields(start_time=clock(7, 30), item=item))
        committed = time.time()
        change = ScheduleChange.objects.latest("id")
        row = OutboxMessage.objects.get(kind=OUTBOX_PUBLISH, key=str(change.pk))
        _wait(lambda: OutboxMessage.objects.get(pk=row.pk).state == OutboxState.PUBLISHED, 120, "published")
        simulator.wait(timeout=180)
        row.refresh_from_db()
        summary = json.loads(report.read_text())
        adopted = summary["schedules"].get(str(change.pk), {}).get("adopted_at", [])
        latencies = [at - t0 for at in adopted]
        documents = [(item["topic"], base64.b64decode(item["payload_b64"])) for item in row.messages]
        bare = bare_publish(credentials, documents, port=mqtt_port, processes=processes, repeat=args.repeat)
    finally:
        for process in (dispatcher, broker):
            process.send_signal(signal.SIGTERM)
        for process in (dispatcher, broker):
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()

    published_s = row.published_at.timestamp() - t0 if row.published_at else None
    bare_median = statistics.median(bare)
    p99 = _percentile(latencies, 0.99) if latencies else None
    record(
        "playout-schedule",
        {
            "command": "bench/playout.py --part schedule --count " + str(args.count),
            "alg": key.alg,
            "database": settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1],
            "terminals": args.count,
            "villages": len(villages),
            "documents": len(documents),
            "document_bytes": max(len(payload) for _topic, payload in documents),
            "holding_new_version": len(adopted),
            "processes": processes,
            "terminal_registration_s": round(registration_s, 2),
            "compute_outbox_s": round(committed - t0, 4),
            "sign_publish_s": round(published_s - (committed - t0), 4) if published_s is not None else None,
            "published_s": round(published_s, 4) if published_s is not None else None,
            "held_p50_s": _percentile(latencies, 0.5) if latencies else None,
            "held_p99_s": p99,
            "held_max_s": round(max(latencies), 4) if latencies else None,
            "bare_publish_s": round(bare_median, 4),
            "bare_publish_runs": bare,
            "p99_vs_bare": round(p99 / bare_median, 2) if p99 and bare_median else None,
            "verify_count": summary.get("verify_count"),
            "verify_us": summary.get("verify_us"),
            "goal": "every terminal holds the new version <= 5 s after the change",
        },
    )


if __name__ == "__main__":
    main()
