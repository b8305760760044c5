"""The platform's MQTT connection for synchronous Django code.

It reuses the terminals' lean asyncio client (`ruralcast_terminal.mqtt`, the same code the village
devices run), on an event loop in a background thread, so the ORM stays on the calling thread (the
dispatcher's and the ingest worker's main loops, and the tests, which hold the test transaction).
The lean client reconnects by itself with jittered back-off and re-sends unacknowledged QoS 1
publishes after a reconnect.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from ruralcast_terminal.mqtt import Client, Delivery, DeliveryHandler, Message, new_event_loop

from ruralcast.messaging.broker import platform_credentials

log = logging.getLogger(__name__)


class PublishError(Exception):
    """A publication was not acknowledged by the broker (not connected, timed out, link lost)."""


@dataclass(frozen=True)
class Publication:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


def platform_client_id(role: str) -> str:
    """A client id for one platform process: unique per host and pid, so two never kick each other."""
    return f"rc-{role}-{socket.gethostname()}-{os.getpid()}"[:64]


class MqttLink:
    """One persistent connection as the platform's service account, usable from sync code.

    `on_message` runs on the link's thread (put the message on a queue); the broker gets its PUBACK
    when it returns. With `on_delivery` instead, the PUBACK waits until `ack()` is called with the
    message's delivery (the ingest worker: after the batch is committed).
    """

    def __init__(
        self,
        *,
        client_id: str,
        subscriptions: Sequence[tuple[str, int]] = (),
        on_message: Callable[[Message], object] | None = None,
        on_delivery: DeliveryHandler | None = None,
        clean_session: bool = True,
        host: str | None = None,
        port: int | None = None,
        username: str | None = None,
        password: str | None = None,
        keepalive: int = 30,
        reconnect_base: float = 0.5,
        reconnect_cap: float = 10.0,
    ) -> None:
        config = settings.RURALCAST_MQTT
        if username is None:
            username, password = platform_credentials()
        self._client_kwargs: dict[str, Any] = {
            "client_id": client_id,
            "host": host or config["HOST"],
            "port": int(port or config["PORT"]),
            "username": username,
            "password": password,
            "clean_session": clean_session,
            "keepalive": keepalive,
            "subscriptions": list(subscriptions),
            "on_message": on_message,
            "on_delivery": on_delivery,
            "reconnect_base": reconnect_base,
            "reconnect_cap": reconnect_cap,
            "connect_timeout": 5.0,
        }
        self.client_id = client_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()

    # -- lifetime ------------------------------------------------------------------------------

    def start(self, *, wait: float | None = None) -> MqttLink:
        """Start the background loop and the (re)connecting client; with `wait`, block until the
        first connection (raises TimeoutError if the broker does not accept it in time)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name=f"mqtt-{self.client_id}", daemon=True)
            self._thread.start()
            self._ready.wait()
        if wait is not None:
            self.wait_connected(wait)
        return self

    def _run(self) -> None:
        loop = new_event_loop()  # uvloop's: the ingest worker's link carries every terminal's uplinks
        asyncio.set_event_loop(loop)
        self._loop = loop

        async def begin() -> None:
            self._client = Client(**self._client_kwargs)
            self._client.start()

        loop.run_until_complete(begin())
        self._ready.set()
        loop.run_forever()
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()

    def _call(self, coro: Any, timeout: float) -> Any:
        if self._loop is None:
            raise PublishError("the MQTT link is not started")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except FutureTimeout:
            future.cancel()
            raise

    def stop(self) -> None:
        """DISCONNECT and end the loop thread."""
        if self._loop is None or self._thread is None:
            return
        client = self._client
        if client is not None:
            with contextlib.suppress(Exception):
                self._call(client.disconnect(), 5.0)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        self._thread = None
        self._loop = None

    def __enter__(self) -> MqttLink:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- state ---------------------------------------------------------------------------------

    @property
    def connected(self) -> bool:
        return self._client is not None and self._client.is_connected

    def wait_connected(self, timeout: float) -> None:
        assert self._client is not None
        try:
            self._call(self._client.wait_connected(timeout), timeout + 1.0)
        except (TimeoutError, FutureTimeout) as error:
            raise TimeoutError(f"no MQTT connection to the broker within {timeout:g} s") from error

    @property
    def connects(self) -> int:
        return self._client.connects if self._client is not None else 0

    def abort(self) -> None:
        """Drop the TCP connection (tests: a link that breaks); the client reconnects."""
        if self._loop is not None and self._client is not None:
            self._loop.call_soon_threadsafe(self._client.abort)

    def ack(self, deliveries: Sequence[Delivery]) -> None:
        """Send the held PUBACKs of `deliveries` (in order; from any thread). Those received on a
        connection that has dropped since are not acknowledged: the broker sends them again."""
        if deliveries and self._loop is not None and self._client is not None:
            self._loop.call_soon_threadsafe(self._client.ack, list(deliveries))

    # -- publishing ----------------------------------------------------------------------------

    def publish_all(self, publications: Sequence[Publication], *, timeout: float = 10.0) -> None:
        """Publish in order (pipelined) and return once the broker acknowledged every QoS 1 message.

        Raises PublishError when not connected (nothing is sent then, so an outage does not pile up
        copies in the client), or when the acknowledgements do not all arrive within `timeout`.
        Messages sent but unacknowledged when the link drops are re-sent by the client after it
        reconnects; the caller retries as well, with identical bytes, which is harmless.
        """
        client = self._client
        if client is None or not client.is_connected:
            raise PublishError("not connected to the broker")

        async def send() -> None:
            futures = [client.publish_nowait(p.topic, p.payload, qos=p.qos, retain=p.retain) for p in publications]
            await asyncio.wait_for(asyncio.gather(*futures), timeout)

        try:
            self._call(send(), timeout + 1.0)
        except (TimeoutError, FutureTimeout) as error:
            raise PublishError(f"no PUBACK from the broker within {timeout:g} s") from error
        except Exception as error:
            raise PublishError(f"{type(error).__name__}: {error}") from error

    def subscribe(self, topics: Sequence[tuple[str, int]], *, timeout: float = 5.0) -> list[int]:
        assert self._client is not None
        return list(self._call(self._client.subscribe(list(topics)), timeout))
