"""A real mosquitto per test, configured by `messaging.broker` from the test database.

Each test gets its own RUN_DIR (tmp_path: broker files, keys) and a free port; the broker is started
with the generated configuration, exactly as `manage.py broker_run` would run it.
"""

import asyncio
import contextlib
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from ruralcast_terminal.mqtt import Client, Message
from ruralcast_terminal.mqtt_codec import PUBACK, PUBLISH, PacketReader, encode_remaining_length, parse_publish

from ruralcast.messaging import handlers
from ruralcast.messaging.broker import (
    BROKER_LOG_FILE,
    broker_config_write,
    broker_dir,
    broker_sync,
    mosquitto_binary,
)
from ruralcast.messaging.client import MqttLink
from ruralcast.regions.models import Region
from ruralcast.terminals.services import Registration, terminal_register


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], object], timeout: float = 5.0, interval: float = 0.02) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return bool(predicate())


class BrokerStartError(RuntimeError):
    pass


class Broker:
    """mosquitto started from the generated config; `sync()` waits until the reload happened."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.process: subprocess.Popen[bytes] | None = None
        self.log_path = broker_dir() / "test.log"

    def start(self) -> None:
        config = broker_config_write()
        runs = self.log().count(" running")
        log = open(self.log_path, "ab")  # noqa: SIM115 — handed to the child
        self.process = subprocess.Popen([mosquitto_binary(), "-c", str(config)], stdout=log, stderr=log)
        log.close()
        process = self.process
        # "running" is logged once its listener is bound (a port held by someone else would accept
        # connections too, so probing the port is not enough).
        started = runs + 1

        def up() -> bool:
            return self.log().count(" running") >= started and self._accepts()

        if not wait_for(lambda: up() or process.poll() is not None, 5.0) or process.poll() is not None:
            self.process = None
            raise BrokerStartError(f"mosquitto did not start:\n{self.log()}")

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()  # a clean shutdown saves retained messages to disk
            self.process.wait(5)
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def log(self) -> str:
        """What mosquitto wrote to stderr and, with LOG_DENIALS, to its log file (where it then logs)."""
        paths = [self.log_path, broker_dir() / BROKER_LOG_FILE]
        return "".join(path.read_text(errors="replace") for path in paths if path.exists())

    def sync(self) -> None:
        reloads = self.log().count("Reloading config")
        assert broker_sync()
        assert wait_for(lambda: self.log().count("Reloading config") > reloads, 3.0), self.log()


@pytest.fixture(autouse=True)
def run_dir(settings: Any, tmp_path: Path) -> Path:
    settings.RUN_DIR = tmp_path
    return tmp_path


@pytest.fixture
def mqtt_settings(settings: Any, run_dir: Path) -> dict[str, Any]:
    settings.RURALCAST_MQTT = {
        **settings.RURALCAST_MQTT,
        "HOST": "127.0.0.1",
        "LISTEN": "127.0.0.1",
        "PORT": free_port(),
        "PASSWORD": "",
    }
    return settings.RURALCAST_MQTT


@pytest.fixture
def broker(db: None, settings: Any, mqtt_settings: dict[str, Any]) -> Iterator[Broker]:
    for attempt in range(3):
        server = Broker(settings.RURALCAST_MQTT["PORT"])
        try:
            server.start()
            break
        except BrokerStartError:
            # Another test process took the free port first: take another one.
            if attempt == 2:
                raise
            settings.RURALCAST_MQTT = {**settings.RURALCAST_MQTT, "PORT": free_port()}
    yield server
    server.stop()


@pytest.fixture
def outbox_handlers() -> Iterator[None]:
    """Outbox handlers a test registers are gone after it (the apps' own ones stay)."""
    saved = dict(handlers._OUTBOX_HANDLERS)
    yield
    handlers._OUTBOX_HANDLERS.clear()
    handlers._OUTBOX_HANDLERS.update(saved)


@pytest.fixture
def uplink_handlers() -> Iterator[None]:
    """Uplink handlers a test registers are gone after it."""
    saved = dict(handlers._UPLINK_HANDLERS)
    handlers._UPLINK_HANDLERS.clear()
    yield
    handlers._UPLINK_HANDLERS.clear()
    handlers._UPLINK_HANDLERS.update(saved)


@pytest.fixture
def terminal(dashizi: Region) -> Registration:
    return terminal_register(actor=None, village=dashizi)


@pytest.fixture
def other_terminal(liziyuan: Region) -> Registration:
    return terminal_register(actor=None, village=liziyuan)


def connect_once(port: int, *, username: str | None, password: str | None, client_id: str = "probe") -> None:
    """One CONNECT with the lean client; raises ConnectRefused if the broker says no."""

    async def attempt() -> None:
        client = Client(client_id, "127.0.0.1", port, username=username, password=password, connect_timeout=3)
        await client.connect()
        await client.disconnect()

    asyncio.run(attempt())


class Inbox:
    """Messages received by a test client, thread-safe."""

    def __init__(self) -> None:
        self.messages: list[Message] = []
        self._lock = threading.Lock()

    def __call__(self, message: Message) -> None:
        with self._lock:
            self.messages.append(message)

    def on(self, topic: str) -> list[Message]:
        with self._lock:
            return [m for m in self.messages if m.topic == topic]

    def wait(self, count: int, timeout: float = 5.0) -> list[Message]:
        wait_for(lambda: len(self.messages) >= count, timeout)
        with self._lock:
            return list(self.messages)


@pytest.fixture
def listen() -> Iterator[Callable[..., tuple[MqttLink, Inbox]]]:
    """listen(topics, username=…, password=…): a connected subscriber and its inbox (platform by default)."""
    links: list[MqttLink] = []

    def make(
        topics: list[str], *, username: str | None = None, password: str | None = None, client_id: str | None = None
    ) -> tuple[MqttLink, Inbox]:
        inbox = Inbox()
        link = MqttLink(
            client_id=client_id or f"test-{len(links)}-{username or 'platform'}",
            username=username,
            password=password,
            subscriptions=[(topic, 1) for topic in topics],
            on_message=inbox,
            reconnect_base=0.1,
            reconnect_cap=0.5,
        )
        link.start(wait=5.0)
        links.append(link)
        return link, inbox

    yield make
    for link in links:
        link.stop()


@dataclass(frozen=True)
class Sent:
    """A PUBLISH a client sent through the `MqttProxy`: on which of its connections (1, 2, …)."""

    connection: int
    topic: str
    payload: bytes
    dup: bool


class MqttProxy:
    """A TCP relay in front of the real broker, to see and disturb what one client sends.

    It records every PUBLISH the client sends (`sent`, with the connection and the DUP flag) and
    forwards everything unchanged, except the broker's PUBACKs of publications `hold(sent)` picks:
    those are kept back (the broker is slow to acknowledge) until `release()`, or lost with the
    connection when `cut()` drops it (the client's link breaks before the PUBACK).
    """

    def __init__(self, upstream_port: int) -> None:
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self.listener.getsockname()[1])
        self.hold: Callable[[Sent], bool] | None = None
        self.sent: list[Sent] = []
        self.connections = 0
        self._lock = threading.Lock()
        self._open: list[tuple[socket.socket, socket.socket]] = []
        self._held: list[tuple[socket.socket, bytes]] = []
        self._closed = False
        threading.Thread(target=self._accept, daemon=True, name="mqtt-proxy").start()

    def _accept(self) -> None:
        while not self._closed:
            try:
                downstream, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port))
            with self._lock:
                self.connections += 1
                number = self.connections
                self._open.append((downstream, upstream))
            by_packet_id: dict[int, Sent] = {}
            threading.Thread(target=self._up, args=(downstream, upstream, number, by_packet_id), daemon=True).start()
            threading.Thread(target=self._down, args=(upstream, downstream, by_packet_id), daemon=True).start()

    def _up(self, source: socket.socket, target: socket.socket, number: int, by_packet_id: dict[int, Sent]) -> None:
        reader = PacketReader()
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                for kind, flags, body in reader.feed(data):
                    if kind == PUBLISH:
                        message, packet_id = parse_publish(flags, body)
                        sent = Sent(number, message.topic, message.payload, message.dup)
                        with self._lock:
                            self.sent.append(sent)
                            by_packet_id[packet_id] = sent
                target.sendall(data)
        self._close(source, target)

    def _down(self, source: socket.socket, target: socket.socket, by_packet_id: dict[int, Sent]) -> None:
        reader = PacketReader()
        with contextlib.suppress(OSError):
            while data := source.recv(65536):
                for kind, flags, body in reader.feed(data):
                    packet = bytes(((kind << 4) | flags,)) + encode_remaining_length(len(body)) + body
                    with self._lock:
                        sent = by_packet_id.get(int.from_bytes(body[:2], "big")) if kind == PUBACK else None
                        if sent is not None and self.hold is not None and self.hold(sent):
                            self._held.append((target, packet))
                            continue
                        target.sendall(packet)
        self._close(source, target)

    def _close(self, *sockets: socket.socket) -> None:
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
            sock.close()

    def release(self) -> None:
        """Stop holding PUBACKs and send the held ones (to connections still open)."""
        with self._lock:
            self.hold = None
            held, self._held = self._held, []
            for target, packet in held:
                with contextlib.suppress(OSError):
                    target.sendall(packet)

    def cut(self) -> None:
        """Drop every open connection; the PUBACKs held for them are lost with them."""
        with self._lock:
            pairs, self._open = self._open, []
            self._held = []
        for pair in pairs:
            self._close(*pair)

    def on(self, connection: int) -> list[Sent]:
        with self._lock:
            return [sent for sent in self.sent if sent.connection == connection]

    def close(self) -> None:
        self._closed = True
        self.listener.close()
        self.cut()


@pytest.fixture
def mqtt_proxy(broker: Broker) -> Iterator[MqttProxy]:
    """An `MqttProxy` in front of the test's broker."""
    proxy = MqttProxy(broker.port)
    yield proxy
    proxy.close()
