"""The dispatcher: publishes the outbox over one persistent MQTT connection.

One row → its prepared messages (one per region topic for an alert: the broker fans out to the
terminals) → QoS 1 with PUBACK → row marked published. See `messaging.models` for the three steps and
why a crash between any two of them re-sends identical bytes.

Waking up (docs/architecture.md, *Messaging*):
- in this process, `transaction.on_commit` of `outbox_enqueue` calls the registered wake hook;
- from other processes, on PostgreSQL, a LISTEN on `ruralcast_outbox` (the NOTIFY is issued inside
  the enqueueing transaction, so PostgreSQL delivers it only on commit);
- from other processes, on any database, a datagram on a Linux abstract Unix socket sent when the
  enqueueing transaction commits (`wake_dispatcher_process`): SQLite's fast path;
- on SQLite, which has no notifications, a poll of due rows every 0.2 s (one indexed query);
- on every database, the same poll is the crash-recovery path: pending rows left by a dispatcher
  that died, and rows whose back-off has expired. On PostgreSQL it runs every 2 s.

Each time its connection to the broker is (re)established, the dispatcher first publishes again
the retained state the platform last published (`RetainedMessage`, identical bytes): a broker
killed between two autosaves comes back without the alerts it had acknowledged, or with ones
cleared since, and this puts its retained messages back as the platform left them.

A row is published once per connection. A broker slow to PUBACK (a large alert fanned out to
thousands of terminals) is waited for: an attempt that times out leaves its copy in flight, and the
retry waits for that copy's PUBACKs instead of sending another. Only a connection that drops before
every PUBACK makes the row go again, DUP set, on the new connection and after the retained state
(so a clearing in flight is never overtaken by the alert it clears).
"""

from __future__ import annotations

import base64
import contextlib
import logging
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from django.db import InterfaceError, OperationalError, connection, connections
from ruralcast_terminal import crypto

from ruralcast.messaging.client import MqttLink, Publication, PublishError, platform_client_id
from ruralcast.messaging.handlers import payload_signer
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.selectors import outbox_due, retained_messages
from ruralcast.messaging.services import (
    OUTBOX_CHANNEL,
    OutboxNotPending,
    Signer,
    outbox_attempt_failed,
    outbox_mark_published,
    outbox_prepare,
    outbox_wake_register,
    retained_clearings_forget,
    wake_address,
)

log = logging.getLogger(__name__)

SQLITE_POLL_SECONDS = 0.2
POSTGRES_POLL_SECONDS = 2.0
# How long one attempt waits for PUBACKs before the run loop looks up (stop, reconnect, retained
# state). Not a resend: the copy stays in flight and the next attempt waits for it again; only a
# lost connection makes the link send a row again (`MqttLink.publish_all`).
PUBACK_TIMEOUT_SECONDS = 10.0
BATCH = 100


# What the first row of a freshly started dispatcher would otherwise pay (imports, a tool's version
# probe, a cache read): apps register it with `register_warm_up` and `Dispatcher.run` calls it once
# at start, before it listens. Measured (issue 17 benchmark 1): the first alert after a start took
# ~0.3 s from commit to signed bytes against ~0.05 s for the next ones on the loaded 2-core machine.
_WARM_UPS: list[Callable[[], None]] = []


def register_warm_up(warm_up: Callable[[], None]) -> None:
    """Have `warm_up()` run once when a dispatcher starts (best effort: a failure is logged, the
    row's own build then pays the cost or raises as it would have). Registering it again is a no-op."""
    if warm_up not in _WARM_UPS:
        _WARM_UPS.append(warm_up)


def warm_ups_run() -> None:
    for warm_up in list(_WARM_UPS):
        try:
            warm_up()
        except Exception:  # a warm-up never keeps the dispatcher from starting
            log.warning("dispatcher warm-up %s failed", getattr(warm_up, "__qualname__", warm_up), exc_info=True)


class NoSigner(RuntimeError):
    """No app registered a payload signer (the signing app is not installed)."""


def payload_sign(payload: dict[str, Any]) -> bytes:
    """The production signer: whatever the signing app registered (`register_payload_signer`: the
    sealed envelope with the platform's active key). Without one nothing is published: the row
    backs off and fails with this error, never goes out unsigned."""
    sign = payload_signer()
    if sign is None:
        raise NoSigner("no payload signer is registered: is ruralcast.signing in INSTALLED_APPS?")
    return sign(payload)


class Publisher(Protocol):
    def publish_all(self, publications: Sequence[Publication], *, timeout: float = ...) -> None: ...


@dataclass
class DispatchReport:
    published: int = 0
    failed: int = 0  # attempts that failed for a reason other than the broker
    broker_down: bool = False  # stopped early: the broker did not acknowledge
    more: bool = False  # a full batch was due: run again at once

    def __bool__(self) -> bool:
        return bool(self.published or self.failed or self.broker_down)


def publications(message: OutboxMessage) -> list[Publication]:
    return [
        Publication(
            topic=item["topic"],
            payload=base64.b64decode(item["payload_b64"]),
            qos=int(item["qos"]),
            retain=bool(item["retain"]),
        )
        for item in message.messages
    ]


def dispatch_one(
    message: OutboxMessage, *, publisher: Publisher, sign: Signer, timeout: float = PUBACK_TIMEOUT_SECONDS
) -> None:
    """Prepare (once), publish and mark one row. Raises PublishError when the broker fails us,
    OutboxNotPending when the row was withdrawn (or published elsewhere) before it went out, and
    whatever the handler or the signer raise."""
    outbox_prepare(message=message, sign=sign)
    publisher.publish_all(publications(message), timeout=timeout)
    outbox_mark_published(message=message)


def dispatch_pending_once(
    *,
    publisher: Publisher | None = None,
    sign: Signer | None = None,
    limit: int = BATCH,
    timeout: float = PUBACK_TIMEOUT_SECONDS,
) -> DispatchReport:
    """Publish every due pending row once, oldest first; for tests, tools and in-process use.

    Without `publisher` it opens a connection as the platform account for this call (a long-running
    process passes its `MqttLink`). Stops at the first broker failure: the rows stay pending and are
    due again at once.
    """
    sign = sign or payload_sign
    due = outbox_due(limit=limit)
    report = DispatchReport(more=len(due) == limit)
    if not due:
        return report
    own_link: MqttLink | None = None
    if publisher is None:
        own_link = MqttLink(client_id=platform_client_id("dispatch-once"))
        try:
            own_link.start(wait=5.0)
        except TimeoutError as error:
            own_link.stop()
            log.warning("dispatch: %s", error)
            return DispatchReport(broker_down=True)
        publisher = own_link
    try:
        for message in due:
            try:
                dispatch_one(message, publisher=publisher, sign=sign, timeout=timeout)
            except OutboxNotPending:
                log.info("dispatch of %s skipped: it is not pending any more (withdrawn)", message)
            except PublishError as error:
                outbox_attempt_failed(message=message, error=f"broker: {error}", broker=True)
                log.warning("dispatch of %s waits for the broker: %s", message, error)
                report.broker_down, report.more = True, False
                break
            except (OperationalError, InterfaceError):
                raise  # the database is away: not this row's fault (the run loop reconnects)
            except Exception as error:
                log.exception("dispatch of %s failed", message)
                outbox_attempt_failed(message=message, error=f"{type(error).__name__}: {error}", broker=False)
                report.failed += 1
            else:
                report.published += 1
                log.info("published %s (%d messages)", message, len(message.messages))
    finally:
        if own_link is not None:
            own_link.stop()
    return report


def retained_republish(*, publisher: Publisher, timeout: float = PUBACK_TIMEOUT_SECONDS) -> int:
    """Publish the recorded retained state again (oldest first, clearings too); returns how many.
    Raises PublishError if the broker does not acknowledge them all."""
    retained_clearings_forget()
    items = [
        Publication(topic=row.topic, payload=bytes(row.payload), qos=1, retain=True) for row in retained_messages()
    ]
    for start in range(0, len(items), BATCH):
        publisher.publish_all(items[start : start + BATCH], timeout=timeout)
    return len(items)


class PostgresListener(threading.Thread):
    """LISTEN on the outbox channel on a connection of its own; every notification wakes the dispatcher."""

    def __init__(self, wake: Callable[[], None], *, alias: str = "default") -> None:
        super().__init__(name="outbox-listen", daemon=True)
        self.wake = wake
        self.alias = alias
        self.stopping = threading.Event()
        self.listening = threading.Event()

    def run(self) -> None:
        while not self.stopping.is_set():
            raw = None
            try:
                wrapper = connections.create_connection(self.alias)
                raw = wrapper.get_new_connection(wrapper.get_connection_params())
                raw.autocommit = True
                raw.execute(f"LISTEN {OUTBOX_CHANNEL}")
                self.listening.set()
                self.wake()  # anything committed while we were not listening
                while not self.stopping.is_set():
                    for _notify in raw.notifies(timeout=1.0, stop_after=1):
                        self.wake()
            except Exception as error:  # noqa: BLE001 — the database went away: listen again shortly
                self.listening.clear()
                log.warning("outbox LISTEN failed (%s); retrying", error)
                self.stopping.wait(1.0)
            finally:
                if raw is not None:
                    with contextlib.suppress(Exception):  # already broken
                        raw.close()

    def stop(self) -> None:
        self.stopping.set()


class WakeListener(threading.Thread):
    """Receives the datagrams `outbox_enqueue` sends on commit from other processes (any database).

    Only one dispatcher per deployment can bind the address; a second one logs it and relies on
    its poll.
    """

    def __init__(self, wake: Callable[[], None]) -> None:
        super().__init__(name="outbox-wake", daemon=True)
        self.wake = wake
        self.socket = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.bound = False
        try:
            self.socket.bind(wake_address())
            self.bound = True
        except OSError as error:
            log.warning("dispatcher wake socket unavailable (%s); relying on the poll", error)
        self.socket.settimeout(1.0)
        self.stopping = threading.Event()

    def run(self) -> None:
        while self.bound and not self.stopping.is_set():
            try:
                self.socket.recv(64)
            except TimeoutError:
                continue
            except OSError:
                break
            self.wake()
        self.socket.close()

    def stop(self) -> None:
        self.stopping.set()


class Dispatcher:
    """The long-running dispatcher (`manage.py dispatcher`): one MQTT link, woken by commits."""

    def __init__(
        self,
        *,
        link: MqttLink | None = None,
        sign: Signer | None = None,
        poll: float | None = None,
        timeout: float = PUBACK_TIMEOUT_SECONDS,
    ) -> None:
        self.link = link or MqttLink(client_id=platform_client_id("dispatcher"))
        self.sign = sign or payload_sign
        self.postgres = connection.vendor == "postgresql"
        self.poll = poll if poll is not None else (POSTGRES_POLL_SECONDS if self.postgres else SQLITE_POLL_SECONDS)
        self.timeout = timeout
        self.stopping = threading.Event()
        self._work = threading.Event()
        self.published = 0
        self.republished_for = 0  # the link's connection count when the retained state was last put back

    def wake(self) -> None:
        self._work.set()

    def wait_for_work(self, timeout: float) -> bool:
        """Sleep until woken or `timeout`; True if woken."""
        woken = self._work.wait(timeout)
        self._work.clear()
        return woken

    def stop(self) -> None:
        self.stopping.set()
        self._work.set()

    def run(self, *, until: Callable[[], bool] | None = None, deadline: float | None = None) -> None:
        """Dispatch until `stop()` (a signal), `until()` is true, or `deadline` (monotonic) passes."""
        crypto.warm_up()  # the first alert should not pay the signing library's set-up
        warm_ups_run()  # nor the apps' first build (e.g. the drill preamble's speech cache)
        self.republished_for = 0  # a (re)started link counts its connections from 1 again
        unregister = outbox_wake_register(self.wake)
        listener = PostgresListener(self.wake) if self.postgres else None
        if listener is not None:
            listener.start()
        nudges = WakeListener(self.wake)
        nudges.start()
        self.link.start()
        log.info("dispatcher running (poll every %.1f s%s)", self.poll, ", LISTEN" if listener else "")
        try:
            while not self.stopping.is_set():
                if until is not None and until():
                    break
                if deadline is not None and time.monotonic() > deadline:
                    break
                if not self.link.connected:
                    # The lean client reconnects with back-off; rows wait, pending, meanwhile.
                    try:
                        self.link.wait_connected(self.poll)
                    except TimeoutError:
                        continue
                self._work.clear()
                try:
                    connects = self.link.connects
                    if connects != self.republished_for:
                        count = retained_republish(publisher=self.link, timeout=self.timeout)
                        self.republished_for = connects
                        log.info("dispatcher: %d retained messages published again after connecting", count)
                    report = dispatch_pending_once(publisher=self.link, sign=self.sign, timeout=self.timeout)
                except PublishError as error:
                    log.warning("dispatcher: retained state not put back yet (%s)", error)
                    continue
                except (OperationalError, InterfaceError) as error:
                    log.warning("dispatcher: database error (%s); reconnecting", error)
                    connection.close()
                    self.stopping.wait(self.poll)
                    continue
                self.published += report.published
                if report.more:
                    continue
                self.wait_for_work(self.poll)
        finally:
            unregister()
            nudges.stop()
            if listener is not None:
                listener.stop()
            self.link.stop()
