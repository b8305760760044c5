"""Writes of the messaging app: the outbox (enqueue, prepare, mark) and the broker's credentials.

Other apps use:

- `outbox_enqueue(kind=…, key=…)` inside the transaction of the write that decides to publish;
- `outbox_withdraw(actor=…, kind=…, keys=[…])` inside the transaction of the write that decides a
  pending publication must not happen after all (an alert cancelled before it was sent);
- `register_outbox_handler(kind, build, on_published)` / `register_uplink_handler(kind, handle_batch)`
  (defined in `messaging.handlers`, re-exported here) from their `AppConfig.ready()`;
- `broker_credentials_sync()` after registering or revoking terminals.

The prepare / mark steps are the dispatcher's (`messaging.dispatcher`); they are services so that
each step of a publication is a named write, and so tests can stop between them as a crash would.
"""

import base64
import contextlib
import hashlib
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F
from django.utils import timezone
from ruralcast_terminal.protocol import message_join

from ruralcast.messaging.broker import MAX_PACKET_BYTES, broker_sync
from ruralcast.messaging.handlers import (
    Outgoing,
    Signer,
    Uplink,
    outbox_handler,
    register_outbox_handler,
    register_uplink_handler,
)
from ruralcast.messaging.models import OutboxMessage, OutboxState, RetainedMessage

__all__ = [
    "OUTBOX_CHANNEL",
    "OutboxBuildError",
    "OutboxNotPending",
    "Outgoing",
    "Signer",
    "Uplink",
    "broker_credentials_sync",
    "outbox_attempt_failed",
    "outbox_enqueue",
    "outbox_mark_published",
    "outbox_prepare",
    "outbox_retry",
    "outbox_wake_register",
    "outbox_withdraw",
    "register_outbox_handler",
    "register_uplink_handler",
]

log = logging.getLogger(__name__)

# PostgreSQL LISTEN/NOTIFY channel that wakes dispatchers in other processes.
OUTBOX_CHANNEL = "ruralcast_outbox"
# Failures that are not the broker's (no handler, the build or the signature failed, on_published
# raised) are retried with back-off this many times, then the row is `failed` and needs a person.
MAX_ATTEMPTS = 8
RETRY_BASE_SECONDS = 2.0
RETRY_CAP_SECONDS = 300.0


class OutboxBuildError(Exception):
    """A row cannot be turned into messages (no handler, or the handler's result is unusable)."""


class OutboxNotPending(Exception):
    """The row is no longer pending (withdrawn, or published by another dispatcher): do not publish it."""


# ---------------------------------------------------------------------------- waking dispatchers

_wake_hooks: list[Callable[[], None]] = []


def outbox_wake_register(hook: Callable[[], None]) -> Callable[[], None]:
    """Call `hook` whenever a transaction that enqueued a row commits in this process.

    The dispatcher registers its wake-up here; returns a function that unregisters it.
    """
    _wake_hooks.append(hook)
    return lambda: _wake_hooks.remove(hook) if hook in _wake_hooks else None


def _wake_local() -> None:
    for hook in list(_wake_hooks):
        try:
            hook()
        except Exception:  # a wake-up must never break the committing request
            log.exception("outbox wake hook failed")
    wake_dispatcher_process()


def wake_address() -> bytes:
    """The dispatcher's wake-up socket: a Linux abstract Unix datagram address per RUN_DIR.

    Abstract addresses live in the kernel, not the file system: nothing to clean up, no path
    length limit, and one per deployment folder so two checkouts on one machine do not mix.
    """
    digest = hashlib.sha256(str(settings.RUN_DIR).encode()).hexdigest()[:16]
    return f"\0ruralcast-dispatcher-{digest}".encode()


def wake_dispatcher_process() -> None:
    """Nudge a dispatcher running in another process (one datagram; nothing if none listens).

    SQLite has no LISTEN/NOTIFY: without this the dispatcher would only see the row at its next
    0.2 s poll. Best effort: the poll remains the guarantee.
    """
    with contextlib.suppress(OSError), socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sender:
        sender.setblocking(False)
        sender.sendto(b"wake", wake_address())


# ---------------------------------------------------------------------------- enqueue


def outbox_enqueue(*, kind: str, key: str) -> OutboxMessage:
    """Queue the publication of `kind` for `key` (e.g. "alert.dispatch" for an EBM id).

    Call inside the caller's `transaction.atomic()`, with the write that decides to publish, so
    both commit or neither does. Idempotent: the same kind and key return the existing row (in any
    state), so a retried request queues nothing twice; something that must be published again
    (an update) needs its own key. Dispatchers wake when the transaction commits: in this process
    through `transaction.on_commit`, in others through NOTIFY (PostgreSQL, delivered on commit) or
    their short poll (SQLite).
    """
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_enqueue must be called inside the caller's transaction.atomic()")
    if not kind or not key:
        raise ValueError("an outbox row needs a kind and a key")
    existing = OutboxMessage.objects.filter(kind=kind, key=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            message = OutboxMessage.objects.create(kind=kind, key=key)
    except IntegrityError:
        # Another transaction queued the same kind and key between our read and our insert.
        return OutboxMessage.objects.get(kind=kind, key=key)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute(f"NOTIFY {OUTBOX_CHANNEL}")
    transaction.on_commit(_wake_local)
    return message


# ---------------------------------------------------------------------------- the dispatcher's steps


def outbox_prepare(*, message: OutboxMessage, sign: Signer) -> list[dict[str, Any]]:
    """Step 1: build and sign the row's messages and store their exact bytes, once.

    The same payload on several topics (an alert on each of its regions) is signed once, so every
    region carries identical bytes. A row prepared before (by an earlier attempt, or a dispatcher
    that crashed afterwards) keeps its stored bytes: they are returned as they are, never rebuilt or re-signed (SM2 signatures are
    randomised: a second signature would be different bytes for the same message).

    Raises `OutboxNotPending` when the row is not pending any more (`outbox_withdraw`): its bytes
    are stored only while it is pending, in one conditional UPDATE, so a row withdrawn before that
    can never be published, and a row already prepared is checked again before each retry.
    """
    if message.prepared_at is not None:
        if not OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PENDING).exists():
            raise OutboxNotPending(str(message))
        return list(message.messages)
    handler = outbox_handler(message.kind)
    if handler is None:
        raise OutboxBuildError(f"no outbox handler registered for {message.kind!r}")
    outgoing = handler.build(message.key)
    prepared = []
    signed: list[tuple[dict[str, Any], bytes]] = []  # one signature per distinct payload
    for item in outgoing:
        if not isinstance(item, Outgoing):
            raise OutboxBuildError(f"the {message.kind!r} handler returned {type(item).__name__}, not Outgoing")
        if item.payload is None:
            data = b""
        else:
            data = next((raw for payload, raw in signed if payload == item.payload), b"")
            if not data:
                data = sign(item.payload)
                signed.append((item.payload, data))
            data = message_join(data, item.attachment)
        if len(data) + len(item.topic.encode()) + 16 > MAX_PACKET_BYTES:
            raise OutboxBuildError(f"message for {item.topic} is {len(data)} bytes, over the broker's limit")
        prepared.append(
            {
                "topic": item.topic,
                "retain": item.retain,
                "qos": item.qos,
                "payload_b64": base64.b64encode(data).decode("ascii"),
            }
        )
    now = timezone.now()
    with transaction.atomic():
        stored = OutboxMessage.objects.filter(
            pk=message.pk, prepared_at__isnull=True, state=OutboxState.PENDING
        ).update(messages=prepared, prepared_at=now)
    if not stored:
        # Withdrawn meanwhile, or someone else prepared it: theirs are the bytes that may be out.
        message.refresh_from_db(fields=["messages", "prepared_at", "state"])
        if message.state != OutboxState.PENDING or message.prepared_at is None:
            raise OutboxNotPending(str(message))
        return list(message.messages)
    message.messages, message.prepared_at = prepared, now
    return prepared


def outbox_mark_published(*, message: OutboxMessage) -> bool:
    """Step 3: after every PUBACK, mark the row published and run the handler's `on_published`.

    Both happen in one transaction: if `on_published` raises, the row stays pending and is sent
    again (same bytes). Returns False if the row was not pending any more (another dispatcher).
    """
    handler = outbox_handler(message.kind)
    now = timezone.now()
    with transaction.atomic():
        updated = OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PENDING).update(
            state=OutboxState.PUBLISHED, published_at=now, attempts=F("attempts") + 1, last_error=""
        )
        if updated:
            _retained_record(message.messages, now)
        if updated and handler is not None and handler.on_published is not None:
            handler.on_published(message.key)
    if updated:
        message.state, message.published_at, message.last_error = OutboxState.PUBLISHED, now, ""
    return bool(updated)


# A clearing is published again after a broker restart for this long, then forgotten (a broker that
# comes back with a state older than that is a restored backup: run `broker_run` afresh).
RETAINED_CLEAR_KEEP = timedelta(days=1)


def _retained_record(messages: list[dict[str, Any]], now: Any) -> None:
    """Remember the row's retained messages as the broker's state of their topics (one statement)."""
    latest = {item["topic"]: base64.b64decode(item["payload_b64"]) for item in messages if item["retain"]}
    if latest:
        RetainedMessage.objects.bulk_create(
            [RetainedMessage(topic=topic, payload=payload, published_at=now) for topic, payload in latest.items()],
            update_conflicts=True,
            unique_fields=["topic"],
            update_fields=["payload", "published_at"],
        )


def retained_clearings_forget() -> int:
    """Drop clearings older than `RETAINED_CLEAR_KEEP` (an empty topic needs no republishing then)."""
    cutoff = timezone.now() - RETAINED_CLEAR_KEEP
    deleted, _ = RetainedMessage.objects.filter(payload=b"", published_at__lt=cutoff).delete()
    return deleted


def outbox_attempt_failed(*, message: OutboxMessage, error: str, broker: bool) -> OutboxMessage:
    """Record a failed attempt.

    `broker=True` (not connected, no PUBACK in time): the row is due again at once; the dispatcher
    waits for its connection instead, so an alert goes out as soon as the broker is back. Any other
    failure backs off exponentially and, after MAX_ATTEMPTS, leaves the row `failed`.
    """
    message.refresh_from_db(fields=["attempts", "state"])
    if message.state != OutboxState.PENDING:
        return message
    attempts = message.attempts + 1
    now = timezone.now()
    if broker:
        state, due = OutboxState.PENDING, now
    elif attempts >= MAX_ATTEMPTS:
        state, due = OutboxState.FAILED, now
    else:
        delay = min(RETRY_CAP_SECONDS, RETRY_BASE_SECONDS * 2 ** (attempts - 1))
        state, due = OutboxState.PENDING, now + timedelta(seconds=delay)
    OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PENDING).update(
        attempts=attempts, last_error=error[:2000], next_attempt_at=due, state=state
    )
    message.attempts, message.last_error, message.next_attempt_at, message.state = attempts, error[:2000], due, state
    if state == OutboxState.FAILED:
        log.error("outbox %s failed for good after %d attempts: %s", message, attempts, error)
    return message


def outbox_retry(*, message: OutboxMessage) -> OutboxMessage:
    """Put a failed row back in the queue (after its cause was fixed); its stored bytes, if any, stay."""
    with transaction.atomic():
        OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.FAILED).update(
            state=OutboxState.PENDING, attempts=0, next_attempt_at=timezone.now()
        )
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        transaction.on_commit(_wake_local)
    message.refresh_from_db()
    return message


@dataclass(frozen=True)
class Withdrawal:
    """What `outbox_withdraw` found for one row."""

    key: str
    state: str  # the row's state before the call
    prepared: bool  # its bytes had been stored: some may have reached the broker and terminals

    @property
    def withdrawn(self) -> bool:
        """This call stopped it (it was pending or failed)."""
        return self.state in (OutboxState.PENDING, OutboxState.FAILED)


def outbox_withdraw(*, actor: Any, kind: str, keys: list[str], region_code: str = "") -> dict[str, Withdrawal]:
    """Stop the publication of `kind` rows for `keys` that are still pending (or failed).

    Call inside the caller's `transaction.atomic()`, with the write that decides it. The rows are
    locked first, in id order and before anything else (`select_for_update`; the write lock on
    SQLite): the dispatcher's mark step also takes the row before it touches anything else, so the
    two never deadlock. A row withdrawn is never published afterwards (`outbox_prepare` refuses
    it). If its bytes were already stored (`prepared`), a dispatcher may have sent some of them, or
    be sending them now: the caller must treat the publication as possibly partial. Rows already
    published or withdrawn are reported as they are; keys without a row are left out. Each row
    withdrawn is audited (`outbox.withdraw`).
    """
    from ruralcast.audit.services import audit_record

    if not connection.in_atomic_block:
        raise RuntimeError("outbox_withdraw must be called inside the caller's transaction.atomic()")
    rows = list(OutboxMessage.objects.select_for_update().filter(kind=kind, key__in=keys).order_by("id"))
    found: dict[str, Withdrawal] = {}
    for row in rows:
        found[row.key] = result = Withdrawal(key=row.key, state=row.state, prepared=row.prepared_at is not None)
        if not result.withdrawn:
            continue
        OutboxMessage.objects.filter(pk=row.pk).update(state=OutboxState.WITHDRAWN, next_attempt_at=timezone.now())
        audit_record(
            actor=actor,
            verb="outbox.withdraw",
            obj=row,
            region_code=region_code,
            before={"state": row.state, "attempts": row.attempts},
            after={"state": OutboxState.WITHDRAWN, "prepared": result.prepared},
        )
    return found


# ---------------------------------------------------------------------------- broker credentials


def broker_credentials_sync() -> None:
    """Bring the broker's password and ACL files up to date with the terminal registry and reload it.

    Call after registering or revoking terminals. Inside a transaction it runs when that commits
    (a rolled-back registration never reaches the broker). A revoked terminal cannot connect after
    it, and mosquitto drops its current connection on the reload. A no-op on a machine that does not
    run the broker (see `broker.broker_sync`).
    """
    transaction.on_commit(broker_sync)
