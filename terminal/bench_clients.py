"""MQTT client benchmark: CPU per delivered message of our lean client, gmqtt and aiomqtt, side by side.

Why the terminal package has its own client (`ruralcast_terminal.mqtt`): a process that carries a
few thousand virtual terminals spends its CPU per delivered message. For each client library in turn,
one spawned process connects N subscribers to a local mosquitto on uvloop's event loop (as the
simulator's workers run), each subscribed at QoS 1 to one region filter, counts what arrives and
acknowledges it (PUBACK); the parent publishes M messages of ~1 KB at QoS 1, a moment apart. The
child's CPU time (`time.process_time`) from the first message until all N·M were delivered, less
what the same process burns idle in as long (keep-alive and housekeeping timers: measured for a
second before), divided by N·M, is the figure. The libraries run one after another, never together.

gmqtt and aiomqtt are development dependencies (requirements/dev.in) for this script only; a library
that is not installed is reported as such. Prints one JSON line:

    python terminal/bench_clients.py [--subscribers 3000] [--messages 5] [--broker HOST:PORT]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib.metadata
import json
import multiprocessing
import os
import queue
import time
from collections.abc import Callable, Coroutine
from datetime import datetime, timedelta, timezone
from typing import Any

from ruralcast_terminal import topics
from ruralcast_terminal.mqtt import Client, run_event_loop
from ruralcast_terminal.simulate import raise_fd_limit

REGION = "522632000000"
LIBRARIES = ("ruralcast", "gmqtt", "aiomqtt")
CST = timezone(timedelta(hours=8))
CONNECT_CONCURRENCY = 100


def _version(library: str) -> str:
    if library == "ruralcast":
        return importlib.metadata.version("ruralcast-terminal")
    return importlib.metadata.version(library)


async def _ours(
    host: str, port: int, count: int, arrived: Callable[[], None]
) -> Callable[[], Coroutine[Any, Any, None]]:
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients = [
        Client(f"bench-ours-{i}", host, port, subscriptions=[(topics.region_filter(REGION), 1)],
               on_message=lambda _m: arrived(), connect_gate=gate)
        for i in range(count)
    ]  # fmt: skip
    for client in clients:
        client.start()
    while sum(c.is_connected for c in clients) < count:
        await asyncio.sleep(0.05)

    async def close() -> None:
        await asyncio.gather(*(c.disconnect() for c in clients))

    return close


async def _gmqtt(
    host: str, port: int, count: int, arrived: Callable[[], None]
) -> Callable[[], Coroutine[Any, Any, None]]:
    import gmqtt
    from gmqtt.mqtt.constants import MQTTv311

    subscribed = 0

    def on_message(_client: Any, _topic: str, _payload: bytes, _qos: int, _properties: Any) -> int:
        arrived()
        return 0  # PUBACK

    def on_subscribe(*_args: Any) -> None:
        nonlocal subscribed
        subscribed += 1

    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    clients = []

    async def one(i: int) -> None:
        client = gmqtt.Client(f"bench-gmqtt-{i}", clean_session=True)
        client.on_message = on_message
        client.on_subscribe = on_subscribe
        async with gate:
            await client.connect(host, port, version=MQTTv311, keepalive=60)
        client.subscribe(topics.region_filter(REGION), qos=1)
        clients.append(client)

    await asyncio.gather(*(one(i) for i in range(count)))
    while subscribed < count:
        await asyncio.sleep(0.05)

    async def close() -> None:
        await asyncio.gather(*(c.disconnect() for c in clients), return_exceptions=True)

    return close


async def _aiomqtt(
    host: str, port: int, count: int, arrived: Callable[[], None]
) -> Callable[[], Coroutine[Any, Any, None]]:
    import aiomqtt

    stack = contextlib.AsyncExitStack()
    gate = asyncio.Semaphore(CONNECT_CONCURRENCY)
    readers: list[asyncio.Task[None]] = []

    async def read(client: aiomqtt.Client) -> None:
        async for _message in client.messages:
            arrived()

    async def one(i: int) -> None:
        client = aiomqtt.Client(host, port, identifier=f"bench-aiomqtt-{i}", protocol=aiomqtt.ProtocolVersion.V311)
        async with gate:
            await stack.enter_async_context(client)
            await client.subscribe(topics.region_filter(REGION), qos=1)
        readers.append(asyncio.create_task(read(client)))

    await asyncio.gather(*(one(i) for i in range(count)))

    async def close() -> None:
        for reader in readers:
            reader.cancel()
        with contextlib.suppress(Exception):
            await stack.aclose()

    return close


SUBSCRIBERS = {"ruralcast": _ours, "gmqtt": _gmqtt, "aiomqtt": _aiomqtt}


def _child(library: str, host: str, port: int, count: int, messages: int, events: Any, go: Any) -> None:
    raise_fd_limit(count + 256)

    async def main() -> dict[str, Any]:
        received = 0
        expected = count * messages
        all_in = asyncio.Event()  # no polling while measuring: the loop sleeps between deliveries

        def arrived() -> None:
            nonlocal received
            received += 1
            if received == expected:
                all_in.set()

        started = time.monotonic()
        close = await SUBSCRIBERS[library](host, port, count, arrived)
        connect_s = time.monotonic() - started
        await asyncio.sleep(1.0)  # subscriptions settled
        idle_wall, idle_cpu = time.monotonic(), time.process_time()
        await asyncio.sleep(1.0)
        idle_rate = (time.process_time() - idle_cpu) / (time.monotonic() - idle_wall)
        events.put(("ready", library))
        while not go.is_set():
            await asyncio.sleep(0.001)  # before the measurement starts
        wall0, cpu0 = time.monotonic(), time.process_time()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(all_in.wait(), 120)
        cpu, wall = time.process_time() - cpu0, time.monotonic() - wall0
        await close()
        net = max(cpu - idle_rate * wall, 0.0)
        return {
            "version": _version(library),
            "delivered": received,
            "cpu_us_per_message": round(net / max(received, 1) * 1e6, 1),
            "cpu_us_per_message_gross": round(cpu / max(received, 1) * 1e6, 1),
            "idle_cpu_per_s": round(idle_rate, 4),
            "delivery_s": round(wall, 3),
            "connect_s": round(connect_s, 2),
        }

    try:
        events.put(("done", run_event_loop(main())))
    except Exception as exc:  # noqa: BLE001 — reported to the parent, which puts it in the JSON line
        events.put(("error", f"{type(exc).__name__}: {exc}"))


def measure(library: str, broker: str, count: int, messages: int) -> dict[str, Any]:
    try:
        _version(library)
    except importlib.metadata.PackageNotFoundError:
        return {"error": "not installed (requirements/dev.in)"}
    host, _, port_text = broker.rpartition(":")
    port = int(port_text)
    context = multiprocessing.get_context("spawn")
    events, go = context.Queue(), context.Event()
    child = context.Process(target=_child, args=(library, host, port, count, messages, events, go), daemon=True)
    child.start()
    try:
        kind, data = events.get(timeout=600)
        if kind != "ready":
            return {"error": data}

        async def publish() -> None:
            publisher = Client(f"bench-publisher-{library}", host, port)
            await publisher.connect()
            for n in range(messages):
                body = json.dumps({"n": n, "pad": "x" * 1000}).encode()
                await publisher.publish(topics.region_topic(REGION, f"bench{n}"), body, qos=1)
                await asyncio.sleep(0.3)
            await publisher.disconnect()

        go.set()
        asyncio.run(publish())
        kind, data = events.get(timeout=300)
        return data if kind == "done" else {"error": data}
    except queue.Empty:
        return {"error": "timed out"}
    finally:
        child.join(timeout=30)
        if child.is_alive():
            child.terminate()


def main() -> None:
    from bench_fanout import own_broker  # the same throw-away mosquitto as the fan-out benchmark

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=3000)
    parser.add_argument("--messages", type=int, default=5)
    parser.add_argument("--broker", default=None, help="HOST:PORT of a running mosquitto (default: start one)")
    parser.add_argument("--library", action="append", choices=LIBRARIES, help="only these (repeatable)")
    args = parser.parse_args()
    raise_fd_limit()
    with contextlib.ExitStack() as stack:
        broker = args.broker or stack.enter_context(own_broker())
        results = {lib: measure(lib, broker, args.subscribers, args.messages) for lib in args.library or LIBRARIES}
    print(
        json.dumps(
            {
                "bench": "mqtt_clients",
                "at": datetime.now(CST).isoformat(timespec="seconds"),
                "cpus": os.cpu_count(),
                "loop": "uvloop" if _has_uvloop() else "asyncio",
                "subscribers": args.subscribers,
                "messages": args.messages,
                "qos": 1,
                "clients": results,
            }
        )
    )


def _has_uvloop() -> bool:
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return False
    return True


if __name__ == "__main__":
    main()
