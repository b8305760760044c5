"""Benchmark: status ingestion of a large fleet, and the online-rate query over it.

Set-up, on one machine: the platform's database (a throwaway PostgreSQL database with
`BENCH_POSTGRES_URL`, else a SQLite file), Guizhou's region tree, N terminals registered through the CSV importer (default
100,000, spread over the province's villages), mosquitto configured by the platform, and the ingest
worker (`messaging.ingest.IngestWorker` with the terminals app's `status` handler) in this process,
so its CPU time is this process's.

A load generator (a child process, one asyncio loop, a few MQTT connections as the platform
account: it publishes on behalf of many terminals per connection) sends realistic status reports
(~300 bytes, QoS 1, `at` = the send time) on `rc/v1/up/<terminal>/status`, paced:

1. **sustained**: every terminal once per 60 s (N/60 messages per second) for `--minutes` (10);
2. **bursts**: `--burst-rates` (default 5,000 and 8,000 msg/s) for `--burst-seconds` (60) each, to
   show the ceiling.

Per phase: messages acknowledged by the broker, received and written by the ingest worker, loss
(acknowledged − written: must be 0), ingested msg/s, ingest lag (device time → its batch committed)
p50/p99/max, the worker's CPU (% of one core). Then the online-rate query (`online_rates`) at each
region level over the N state rows, median of 15, with the plain `COUNT(*)` of the table as the
baseline in the same run. One JSON line out, appended to docs/benchmarks.md.

    BENCH_POSTGRES_URL=$(scripts/postgres.sh url) .venv/bin/python bench/fleet.py [--terminals 100000] [--minutes 10]
    .venv/bin/python bench/fleet.py --generate …   (the load generator; started by the benchmark)
"""

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import bench_django, database_name, free_port, percentile, platform_services, record

PROVINCE = "52"
LEVEL_REGIONS = {
    "province": "520000000000",
    "city": "522600000000",
    "county": "522632000000",
    "township": "522632100000",
    "village": "522632100001",
}


# ---------------------------------------------------------------------------------------------
# The load generator (child process).


def generate(args: argparse.Namespace) -> None:
    """Publish status reports for the terminals in `args.codes` at `args.rate` per second."""
    from ruralcast_terminal.mqtt import Client

    codes = Path(args.codes).read_text().split()
    password = os.environ["BENCH_MQTT_PASSWORD"]

    async def main() -> dict[str, Any]:
        clients = [
            Client(
                f"bench-load-{os.getpid()}-{i}",
                "127.0.0.1",
                args.port,
                username=args.username,
                password=password,
                max_queued=1_000_000,
            )
            for i in range(args.connections)
        ]
        for client in clients:
            await client.connect()
        acked = 0

        def done(_future: Any) -> None:
            nonlocal acked
            acked += 1

        loop = asyncio.get_running_loop()
        started = loop.time()
        sent, index = 0, args.offset
        total = int(args.rate * args.seconds)
        while sent < total:
            due = min(total, int((loop.time() - started) * args.rate) + 1)
            now = datetime.now().astimezone().isoformat(timespec="milliseconds")
            while sent < due:
                code = codes[index % len(codes)]
                index += 1
                body = (
                    f'{{"terminal":"{code}","online":true,"at":"{now}","seq":{sent},"volume":80,'
                    f'"amplifier":"ok","speaker":"ok","line_level_db":-12.5,"temperature_c":{30 + sent % 15},'
                    f'"signal_dbm":-71,"storage_free_mb":900,"firmware":"1.0.0","uptime_s":{sent},'
                    f'"playback_failures":0}}'
                ).encode()
                future = clients[sent % len(clients)].publish_nowait(topics.status_topic(code), body, qos=1)
                future.add_done_callback(done)
                sent += 1
            await asyncio.sleep(0.005)
        elapsed = loop.time() - started
        deadline = loop.time() + 120
        while acked < sent and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for client in clients:
            await client.disconnect()
        return {"sent": sent, "acked": acked, "send_seconds": round(elapsed, 3), "next_offset": index}

    print(json.dumps(asyncio.run(main())), flush=True)


# ---------------------------------------------------------------------------------------------
# The benchmark.


def _register(count: int) -> tuple[list[str], float]:
    """`count` terminals over Guizhou's villages, through the CSV importer (50,000 rows a file)."""
    from ruralcast.regions.codes import Level
    from ruralcast.regions.models import Region
    from ruralcast.terminals.importer import MAX_ROWS, terminals_import
    from ruralcast.terminals.models import Terminal

    villages = list(
        Region.objects.filter(code__startswith=PROVINCE, level=Level.VILLAGE).values_list("code", flat=True)
    )
    started = time.perf_counter()
    rows = [villages[i % len(villages)] for i in range(count)]
    for first in range(0, len(rows), MAX_ROWS):
        chunk = rows[first : first + MAX_ROWS]
        data = ("village_code,kind\n" + "".join(f"{v},ip_speaker\n" for v in chunk)).encode()
        report = terminals_import(actor=None, filename=f"bench-{first}.csv", data=data)
        assert report.written and not report.invalid, report.invalid[:3]
    seconds = time.perf_counter() - started
    return list(Terminal.objects.filter(revoked_at__isnull=True).values_list("code", flat=True)[:count]), seconds


def _phase(
    name: str, *, worker: Any, lags: list[float], rate: float, seconds: float, codes_file: Path, port: int, offset: int
) -> dict[str, Any]:
    from ruralcast.messaging.broker import platform_credentials

    username, password = platform_credentials()
    lags.clear()
    before = worker.stats.as_dict()
    cpu_before, wall_before = time.process_time(), time.monotonic()
    generator = subprocess.Popen(
        [
            sys.executable,
            __file__,
            "--generate",
            "--codes",
            str(codes_file),
            "--port",
            str(port),
            "--username",
            username,
            "--rate",
            str(rate),
            "--seconds",
            str(seconds),
            "--offset",
            str(offset),
        ],
        env={**os.environ, "BENCH_MQTT_PASSWORD": password},
        stdout=subprocess.PIPE,
        text=True,
    )
    result: dict[str, Any] = {}

    def finished() -> bool:
        if not result and generator.poll() is not None:
            assert generator.stdout is not None
            result.update(json.loads(generator.stdout.read().strip().splitlines()[-1]))
        return bool(result) and worker.stats.written - before["written"] >= result["acked"]

    # One session for the whole phase: until everything the broker acknowledged is written, or
    # 120 s after the generator should have finished.
    worker.run(until=finished, deadline=time.monotonic() + seconds + 180)
    wall = time.monotonic() - wall_before
    cpu = time.process_time() - cpu_before
    after = worker.stats.as_dict()
    received = after["received"] - before["received"]
    written = after["written"] - before["written"]
    figures = {
        "phase": name,
        "rate_target": round(rate, 1),
        "seconds": seconds,
        "sent": result.get("sent"),
        "acked_by_broker": result.get("acked"),
        "received": received,
        "written": written,
        "loss": max(0, (result.get("acked") or 0) - written),
        "duplicates": max(0, written - (result.get("acked") or 0)),  # QoS 1 redelivery: at least once
        "ingested_per_s": round(written / wall, 1),
        "lag_p50_s": percentile(lags, 0.5) if lags else None,
        "lag_p99_s": percentile(lags, 0.99) if lags else None,
        "lag_max_s": round(max(lags), 4) if lags else None,
        "ingest_cpu_pct": round(100 * cpu / wall, 1),
        "wall_s": round(wall, 1),
        "next_offset": result.get("next_offset", offset),
    }
    print(json.dumps(figures), file=sys.stderr, flush=True)
    return figures


def _query_times(repeat: int = 15) -> dict[str, Any]:
    from django.db import connection

    from ruralcast.regions.models import Region
    from ruralcast.terminals.selectors import online_rates

    times: dict[str, Any] = {}
    for level, code in LEVEL_REGIONS.items():
        region = Region.objects.get(code=code)
        online_rates(region=region)  # warm
        runs = []
        for _ in range(repeat):
            started = time.perf_counter()
            total, children = online_rates(region=region)
            runs.append((time.perf_counter() - started) * 1000)
        times[level] = {
            "terminals": total.total,
            "children": len(children),
            "median_ms": round(statistics.median(runs), 2),
            "max_ms": round(max(runs), 2),
        }
    runs = []
    with connection.cursor() as cursor:
        for _ in range(repeat):
            started = time.perf_counter()
            cursor.execute("SELECT COUNT(*) FROM terminals_terminalstate")
            cursor.fetchone()
            runs.append((time.perf_counter() - started) * 1000)
    times["baseline_count_all_ms"] = round(statistics.median(runs), 2)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generate", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--codes", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--username", help=argparse.SUPPRESS)
    parser.add_argument("--rate", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    parser.add_argument("--offset", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--connections", type=int, default=4, help="MQTT connections of the load generator")
    parser.add_argument("--terminals", type=int, default=100_000)
    parser.add_argument("--interval", type=float, default=60.0, help="seconds between a terminal's reports")
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the sustained phase")
    parser.add_argument("--burst-rates", type=float, nargs="*", default=[5000.0, 8000.0])
    parser.add_argument("--burst-seconds", type=float, default=60.0)
    args = parser.parse_args()
    if args.generate:
        generate(args)
        return

    port = free_port()
    with bench_django("fleet", mqtt_port=port) as workdir:
        figures = _run(args, workdir, port)
    record("fleet", figures)


def _run(args: argparse.Namespace, workdir: Path, port: int) -> dict[str, Any]:
    from django.db import transaction

    from ruralcast.messaging.handlers import register_uplink_handler
    from ruralcast.messaging.ingest import IngestWorker
    from ruralcast.regions.services import regions_import
    from ruralcast.terminals.status import status_batch_write

    regions_import(province=PROVINCE)
    codes, registration_s = _register(args.terminals)
    codes_file = workdir / "codes.txt"
    codes_file.write_text("\n".join(codes))

    lags: list[float] = []

    def timed(items: list[Any]) -> None:
        status_batch_write(items)
        sent = [datetime.fromisoformat(item.payload["at"]) for item in items]
        transaction.on_commit(lambda: lags.extend((datetime.now(UTC) - at).total_seconds() for at in sent))

    register_uplink_handler("status", timed)
    worker = IngestWorker(client_id="bench-ingest")  # in this process: its CPU time is this process's
    phases = []
    with platform_services(workdir, port):
        worker.run(deadline=time.monotonic() + 1.0)  # the persistent session exists before any load
        offset = 0
        plan = [("sustained", len(codes) / args.interval, args.minutes * 60)]
        plan += [(f"burst-{int(rate)}", rate, args.burst_seconds) for rate in args.burst_rates]
        for name, rate, seconds in plan:
            figures = _phase(
                name,
                worker=worker,
                lags=lags,
                rate=rate,
                seconds=seconds,
                codes_file=codes_file,
                port=port,
                offset=offset,
            )
            offset = figures.pop("next_offset")
            phases.append(figures)
        queries = _query_times()
    return {
        "database": database_name(),
        "terminals": len(codes),
        "registration_by_import_s": round(registration_s, 1),
        "report_interval_s": args.interval,
        "load_connections": args.connections,
        "goal": ">= 5,000 status msg/s sustained, zero loss; online-rate query < 100 ms at every level",
        "phases": phases,
        "online_rate_query": queries,
    }


if __name__ == "__main__":
    main()
