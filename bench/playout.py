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
import statistics
import subprocess
import sys
import time
from datetime import time as clock
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Bare,
    bare_stop,
    bare_workers,
    bench_django,
    database_name,
    free_port,
    percentile,
    platform_publisher,
    platform_services,
    platform_setup,
    record,
    simulator_command,
    simulator_ready,
    spawn,
    wait_until,
)

COUNTY = "522632000000"


def bare_publish(
    credentials: list[tuple[str, str, str]], documents: list[tuple[str, bytes]], *, port: int, processes: int,
    repeat: int,
) -> list[float]:  # fmt: skip
    """Seconds from the first publish to the last terminal holding its village's document (per round)."""
    accounts = [(code, password, topics.region_filter(village)) for code, password, village in credentials]
    workers, events, stop = bare_workers(accounts, processes, Bare(port=port, settle_s=1.0))

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
    bare_stop(workers, stop)
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

    mqtt_port = free_port()
    with bench_django("playout", mqtt_port=mqtt_port) as workdir:
        figures = _schedule(args, workdir, mqtt_port)
    record("playout-schedule", figures)


def _schedule(args: argparse.Namespace, workdir: Path, mqtt_port: int) -> dict[str, Any]:
    from ruralcast_terminal.simulate import default_processes

    from bench.common import platform_villages
    from ruralcast.accounts.roles import Role
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

    bench = platform_setup(COUNTY, users={"bench-operator": Role.STATION_OPERATOR}, terminals=args.count)
    operator, county, credentials = bench.users["bench-operator"], bench.region, bench.terminals
    villages = platform_villages(county)
    assert bench.trust is not None

    item = programme_item_create_from_text(
        actor=operator, owner_region=county, title="榕江新闻早班车", text="各位听众早上好，现在播报榕江新闻。"
    )
    schedule = schedule_create(actor=operator, owner_region=county, target_region=county, name="县每日新闻")
    slot = slot_create(actor=operator, schedule=schedule, fields=SlotFields(start_time=clock(7, 0), item=item))
    processes = default_processes(args.count)
    report = workdir / "simulator.json"
    with platform_services(workdir, mqtt_port, ["dispatcher"]):
        pending = OutboxMessage.objects.filter(kind=OUTBOX_PUBLISH).exclude(state=OutboxState.PUBLISHED)
        wait_until(lambda: not pending.exists(), 120, "first documents published")
        log_path = workdir / "logs" / "simulator.log"
        simulator = spawn(
            simulator_command(
                credentials, workdir=workdir, name="schedule", region=COUNTY, port=mqtt_port,
                processes=processes, trust=bench.trust, report=report, options=["--expect-schedules", "2"],
            ),
            log_path,
        )  # fmt: skip
        simulator_ready(log_path)
        time.sleep(2)  # every terminal has adopted the retained first document

        t0 = time.time()
        slot_update(actor=operator, slot=slot, fields=SlotFields(start_time=clock(7, 30), item=item))
        committed = time.time()
        change = ScheduleChange.objects.latest("id")
        row = OutboxMessage.objects.get(kind=OUTBOX_PUBLISH, key=str(change.pk))
        wait_until(lambda: OutboxMessage.objects.get(pk=row.pk).state == OutboxState.PUBLISHED, 120, "published")
        simulator.wait(timeout=180)
        row.refresh_from_db()
        summary = json.loads(report.read_text())
        adopted = summary["schedules"].get(str(change.pk), {}).get("adopted_at", [])
        latencies = [at - t0 for at in adopted]
        documents = [(item["topic"], base64.b64decode(item["payload_b64"])) for item in row.messages]
        bare = bare_publish(credentials, documents, port=mqtt_port, processes=processes, repeat=args.repeat)

    published_s = row.published_at.timestamp() - t0 if row.published_at else None
    bare_median = statistics.median(bare)
    p99 = percentile(latencies, 0.99) if latencies else None
    return {
        "command": "bench/playout.py --part schedule --count " + str(args.count),
        "alg": bench.key.alg,
        "database": database_name(),
        "terminals": args.count,
        "villages": len(villages),
        "documents": len(documents),
        "document_bytes": max(len(payload) for _topic, payload in documents),
        "holding_new_version": len(adopted),
        "processes": processes,
        "terminal_registration_s": round(bench.registration_s, 2),
        "compute_outbox_s": round(committed - t0, 4),
        "sign_publish_s": round(published_s - (committed - t0), 4) if published_s is not None else None,
        "published_s": round(published_s, 4) if published_s is not None else None,
        "held_p50_s": percentile(latencies, 0.5) if latencies else None,
        "held_p99_s": p99,
        "held_max_s": round(max(latencies), 4) if latencies else None,
        "bare_publish_s": round(bare_median, 4),
        "bare_publish_runs": bare,
        "p99_vs_bare": round(p99 / bare_median, 2) if p99 and bare_median else None,
        "verify_count": summary.get("verify_count"),
        "verify_us": summary.get("verify_us"),
        "goal": "every terminal holds the new version <= 5 s after the change",
    }


if __name__ == "__main__":
    main()
