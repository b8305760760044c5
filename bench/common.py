"""Shared helpers for benchmarks: machine description, medians, recording to docs/benchmarks.md, and
the parts of the bare broker baselines."""

import asyncio
import contextlib
import json
import multiprocessing
import os
import platform
import statistics
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def record(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print one JSON line and append it, dated, to docs/benchmarks.md under 'Raw results'."""
    line = {"bench": name, "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(), **figures}
    text = json.dumps(line, ensure_ascii=False)
    print(text)
    if os.environ.get("BENCH_NO_RECORD") != "1":
        with BENCHMARKS_MD.open("a", encoding="utf-8") as handle:
            handle.write(f"- `{text}`\n")
    return line


# ---------------------------------------------------------------------------------------------
# The bare broker baselines (bench/alerts.py, bench/playout.py, bench/live_voice.py): the same
# terminal accounts subscribed by plain clients, and messages published by the platform account.


async def connected_clients(
    accounts: list[tuple[str, str, list[tuple[str, int]]]], *, port: int, on_message: Callable[[Any], None]
) -> list[Any]:
    """One lean client per (user, password, subscriptions), all started and connected (200 at a time)."""
    from ruralcast_terminal.mqtt import Client

    gate = asyncio.Semaphore(200)
    clients = [
        Client(
            f"{user}-bare",
            "127.0.0.1",
            port,
            username=user,
            password=password,
            subscriptions=subscriptions,
            on_message=on_message,
            connect_gate=gate,
        )
        for user, password, subscriptions in accounts
    ]
    for client in clients:
        client.start()
    while sum(client.is_connected for client in clients) < len(clients):
        await asyncio.sleep(0.05)
    return clients


async def platform_publisher(client_id: str, *, port: int) -> Any:
    """A connected client of the platform's own broker account (needs Django set up)."""
    from ruralcast_terminal.mqtt import Client

    from ruralcast.messaging.broker import platform_credentials

    user, password = platform_credentials()
    publisher = Client(client_id, "127.0.0.1", port, username=user, password=password)
    publisher.start()
    while not publisher.is_connected:
        await asyncio.sleep(0.01)
    return publisher


def start_baseline_workers(
    target: Callable[..., None], items: Sequence[Any], processes: int, *args: Any
) -> tuple[list[Any], Any, Any]:
    """Spread `items` over `processes` spawned processes, each called `target(index, share, *args,
    events, stop)`; returns (workers, events, stop) once every worker has put ("ready", …) on `events`."""
    context = multiprocessing.get_context("spawn")
    events, stop = context.Queue(), context.Event()
    shares = [list(items[i::processes]) for i in range(processes)]
    workers = [
        context.Process(target=target, args=(index, share, *args, events, stop))
        for index, share in enumerate(shares)
        if share
    ]
    for worker in workers:
        worker.start()
    for _ in workers:
        assert events.get(timeout=300)[0] == "ready"
    return workers, events, stop


# ---------------------------------------------------------------------------------------------
# Throwaway databases for the benchmarks that compare PostgreSQL and SQLite (one per process).


def _postgres_url(name: str) -> str:
    url = (
        os.environ.get("BENCH_POSTGRES_URL")
        or subprocess.run(
            [str(BENCHMARKS_MD.parent.parent / "scripts" / "postgres.sh"), "url"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    return url.rsplit("/", 1)[0] + "/" + name


def _postgres_admin(url: str, sql: str) -> None:
    import psycopg

    with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as connection:
        connection.execute(sql)


@contextlib.contextmanager
def throwaway_django(database: str, name: str) -> Iterator[Any]:
    """Django set up on a new, migrated database of `database` ("postgresql": `name` on the server
    of scripts/postgres.sh or BENCH_POSTGRES_URL, dropped afterwards; "sqlite": a file in a temporary
    directory). Yields the connection. Once per process: Django is set up only once."""
    workdir = Path(tempfile.mkdtemp(prefix=f"rc-bench-{name}-"))
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "config.django.local",
            "RURALCAST_RUN_DIR": str(workdir),
            "DJANGO_SECRET_KEY": "bench-only",  # a throwaway database
            "LOG_LEVEL": "WARNING",
        }
    )
    if database == "postgresql":
        url = _postgres_url(name)
        _postgres_admin(url, f"DROP DATABASE IF EXISTS {name}")
        _postgres_admin(url, f"CREATE DATABASE {name}")
        os.environ["DATABASE_URL"] = url
    else:
        os.environ["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    try:
        call_command("migrate", verbosity=0)
        yield connection
    finally:
        connection.close()
        if database == "postgresql":
            _postgres_admin(_postgres_url(name), f"DROP DATABASE IF EXISTS {name}")


def database_runs(
    parser: Any, script: str, child: Callable[[str, Any], dict[str, Any]], forwarded: Sequence[str]
) -> tuple[Any, list[dict[str, Any]]] | None:
    """The command line of a benchmark run once per database, each in a process of its own.

    Adds `--database` (postgresql, sqlite, both) to `parser` and parses. In the parent, runs
    `script --child --database D` with the `forwarded` options for each database and returns (args,
    the JSON object each child printed last). In a child, prints `child(database, args)` as JSON and
    returns None.
    """
    import argparse
    import sys

    parser.add_argument("--database", choices=["postgresql", "sqlite", "both"], default="both")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.database, args)))
        return None
    arguments = [item for name in forwarded for item in (f"--{name}", str(getattr(args, name)))]
    runs = []
    for database in ["postgresql", "sqlite"] if args.database == "both" else [args.database]:
        output = subprocess.run(
            [sys.executable, script, "--child", "--database", database, *arguments],
            capture_output=True,
            text=True,
            check=False,
        )
        if output.returncode:
            sys.stderr.write(output.stderr)
            raise SystemExit(f"{database} run failed")
        runs.append(json.loads(output.stdout.strip().splitlines()[-1]))
    return args, runs
