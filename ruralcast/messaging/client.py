"""The platform's MQTT connection for synchronous Django code.

It reuses the terminals' lean asyncio client (`ruralcast_terminal.mqtt`, the same code the village
devices run), on an event loop in a background thread, so the ORM stays on the calling thread (the
dispatcher's and the ingest worker's main loops, and the tests, which hold the test transaction).
The lean client reconnects by itself with jittered back-off.

Publishing follows MQTT's rule for QoS 1 (3.1.1 §4.4): a message is sent once per connection and
only sent again, DUP set, on a new connection. A broker slow to acknowledge (mosquitto fanning a
62 KB alert out to 10,000 terminals on one thread takes longer than any fixed timeout) is waited
for, never sent a second copy. Unlike the terminals' default, the link does not re-send by itself
on reconnecting: what was unacknowledged when the link dropped fails, and the caller publishes it
again on the new connection, after what must go first there (the dispatcher puts the retained
state back before it; see `MqttLink.publish_all`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import socket
import threading
import time
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


# A publication waiting this long for its PUBACK on one connection is logged as an error (once):
# the broker is stuck, not slow. It is still not sent again while that connection is up.
PUBACK_ALARM_SECONDS = 120.0
# Unfinished batches remembered per link (a batch is forgotten once a call sees it acknowledged).
BATCHES_KEPT = 1000


@dataclass
class _Batch:
    """A `publish_all` batch sent on one connection and not yet seen acknowledged by a caller."""

    link_serial: int  # the connection it was last sent on
    futures: list[asyncio.Future[None]]
    sent_at: float  # monotonic
    alarmed: bool = False


def _batch_key(publications: Sequence[Publication]) -> bytes:
    digest = hashlib.sha256()
    for p in publications:
        for part in (p.topic.encode(), p.payload, bytes((p.qos, p.retain))):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
    return digest.digest()


def _retrieve(future: asyncio.Future[None]) -> None:
    """Mark a failure as seen (a batch nobody asks about again must not log "never retrieved")."""
    if not future.cancelled():
        future.exception()


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
            # The caller republishes what a lost link left unacknowledged (`publish_all`).
            "resend_unacked": False,
        }
        self.client_id = client_id
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: Client | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._batches: dict[bytes, _Batch] = {}  # touched on the loop's thread only

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

        Once per connection: a batch (the same publications, identical bytes) already sent on the
        current connection is not sent again; the call waits for the PUBACKs of that copy, however
        long the broker takes. The batch is sent again, DUP set, only by a call on a later
        connection, after the one that carried it dropped before every PUBACK came back. So a
        caller that retries after a PublishError (the dispatcher) costs the broker nothing extra.

        Raises PublishError when not connected (nothing is sent then), when the link drops before
        every PUBACK, or when they have not all arrived within `timeout`: then the copy stays in
        flight on this connection, and a later call waits for it again (after
        PUBACK_ALARM_SECONDS on one connection that is logged as an error, once).
        """
        client = self._client
        if client is None or not client.is_connected:
            raise PublishError("not connected to the broker")
        if not publications:
            return
        key = _batch_key(publications)

        async def send() -> None:
            if not client.is_connected:  # dropped since the check above
                raise PublishError("not connected to the broker")
            serial = client.link_serial
            batch = self._batches.get(key)
            if batch is None or batch.link_serial != serial:
                dup = batch is not None  # its connection dropped before every PUBACK
                futures = [
                    client.publish_nowait(p.topic, p.payload, qos=p.qos, retain=p.retain, dup=dup and p.qos > 0)
                    for p in publications
                ]
                for future in futures:
                    future.add_done_callback(_retrieve)
                self._batches.pop(key, None)
                batch = self._batches[key] = _Batch(serial, futures, time.monotonic())
                self._forget_old_batches()
            _, waiting = await asyncio.wait(batch.futures, timeout=timeout)  # never cancels them
            if waiting:
                age = time.monotonic() - batch.sent_at
                if age > PUBACK_ALARM_SECONDS and not batch.alarmed:
                    batch.alarmed = True
                    log.error(
                        "%s: %d of %d publications sent %.0f s ago still have no PUBACK; waiting (not resent)",
                        self.client_id,
                        len(waiting),
                        len(batch.futures),
                        age,
                    )
                raise PublishError(
                    f"no PUBACK from the broker within {timeout:g} s (sent {age:.0f} s ago on this"
                    " connection; not sent again while it stays up)"
                )
            failed = [f.exception() for f in batch.futures if f.exception() is not None]
            if failed:
                # Not the link's loss (the client dropped it, queue full): a retry sends afresh.
                same_link = client.is_connected and client.link_serial == batch.link_serial
                if same_link and self._batches.get(key) is batch:
                    del self._batches[key]
                raise PublishError(f"{type(failed[0]).__name__}: {failed[0]}")
            if self._batches.get(key) is batch:
                del self._batches[key]

        try:
            self._call(send(), timeout + 5.0)
        except PublishError:
            raise
        except (TimeoutError, FutureTimeout) as error:
            raise PublishError(f"no PUBACK from the broker within {timeout:g} s") from error
        except Exception as error:
            raise PublishError(f"{type(error).__name__}: {error}") from error

    def _forget_old_batches(self) -> None:
        """Keep at most BATCHES_KEPT unfinished batches (the oldest go: sent again, they would go
        without DUP, which is harmless)."""
        while len(self._batches) > BATCHES_KEPT:
            del self._batches[next(iter(self._batches))]

    def subscribe(self, topics: Sequence[tuple[str, int]], *, timeout: float = 5.0) -> list[int]:
        assert self._client is not None
        return list(self._call(self._client.subscribe(list(topics)), timeout))
