"""Shared helpers for benchmarks: machine description, medians, recording to docs/benchmarks.md, and
the parts of the bare broker baselines."""

import asyncio
import json
import multiprocessing
import os
import platform
import statistics
from collections.abc import Callable, Sequence
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
