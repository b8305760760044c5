"""Sending e-mail and SMS deliveries, outside any transaction, each at most once at a time.

`notify` writes the deliveries inside its caller's transaction and asks for them to be sent once
that transaction commits; `manage.py notifications_run` sends whatever is still due (the process
that made them died, a gateway failed and the back-off has passed). A delivery is *claimed* by a
conditional UPDATE (pending and due → sending, with a lease of LEASE), so two processes never send
the same one at once; a sender that dies mid-send leaves the lease to expire, and the delivery is
sent again (at least once: a person may get an e-mail twice, never none). Every attempt's outcome
is written to the audit trail with the channel, the gateway and whether it was a stand-in.
"""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from ruralcast.audit.services import audit_record
from ruralcast.notifications.models import Channel, Delivery, DeliveryState
from ruralcast.notifications.sms import sms_gateway

log = logging.getLogger(__name__)

LEASE = timedelta(minutes=5)
_STAND_IN_EMAIL = ("console", "filebased", "locmem", "dummy")


def email_is_stand_in() -> bool:
    """Whether Django's e-mail backend keeps mail on this machine (console, file, memory)."""
    return any(f".{name}." in settings.EMAIL_BACKEND for name in _STAND_IN_EMAIL)


def email_backend_name() -> str:
    return str(settings.EMAIL_BACKEND).rsplit(".", 2)[-2]


def _absolute(url: str) -> str:
    return f"{settings.RURALCAST_PUBLIC_URL.rstrip('/')}{url}" if url.startswith("/") else url


def _due_q(now: datetime) -> Q:
    return Q(state__in=[DeliveryState.PENDING, DeliveryState.SENDING], next_attempt_at__lte=now)


def _backoff(attempts: int) -> timedelta:
    return min(timedelta(seconds=30) * 2 ** max(attempts - 1, 0), timedelta(minutes=15))


def _send(delivery: Delivery) -> tuple[str, bool]:
    """Hand the delivery to its channel; returns (gateway name, stand-in). Raises on failure."""
    notification = delivery.notification
    link = _absolute(notification.url) if notification.url else ""
    if delivery.channel == Channel.EMAIL:
        body = f"{notification.body}\n\n{link}".strip()
        connection = get_connection(timeout=settings.EMAIL_TIMEOUT)
        EmailMessage(subject=notification.title, body=body, to=[delivery.address], connection=connection).send()
        return email_backend_name(), email_is_stand_in()
    if delivery.channel == Channel.SMS:
        gateway = sms_gateway()
        gateway.send(number=delivery.address, text=f"【ruralcast】{notification.title} {link}".strip()[:300])
        return gateway.name, gateway.stand_in
    raise ValueError(f"channel {delivery.channel} is not sent")


def delivery_attempt(*, delivery_id: int, now: datetime | None = None) -> str | None:
    """Claim and send one delivery if it is due; returns its new state, None if not ours to send."""
    now = now or timezone.now()
    claimed = Delivery.objects.filter(_due_q(now), pk=delivery_id).update(
        state=DeliveryState.SENDING, attempts=F("attempts") + 1, next_attempt_at=now + LEASE
    )
    if not claimed:
        return None
    delivery = Delivery.objects.select_related("notification", "notification__recipient").get(pk=delivery_id)
    try:
        gateway, stand_in = _send(delivery)
        error = ""
    except Exception as failure:  # noqa: BLE001 — any failure of a gateway is recorded and retried
        gateway, stand_in, error = delivery.gateway, delivery.stand_in, f"{type(failure).__name__}: {failure}"[:500]
        log.warning("delivery %s (%s) failed: %s", delivery.pk, delivery.channel, error)
    with transaction.atomic():
        if not error:
            state, fields = DeliveryState.SENT, {"sent_at": timezone.now(), "last_error": ""}
        elif delivery.attempts < int(settings.RURALCAST_NOTIFY["DELIVERY_ATTEMPTS"]):
            state, fields = (
                DeliveryState.PENDING,
                {"next_attempt_at": now + _backoff(delivery.attempts), "last_error": error},
            )
        else:
            state, fields = DeliveryState.FAILED, {"last_error": error}
        Delivery.objects.filter(pk=delivery.pk, state=DeliveryState.SENDING).update(
            state=state, gateway=gateway, stand_in=stand_in, **fields
        )
        audit_record(
            actor=None,
            verb=f"notification.{'delivered' if state == DeliveryState.SENT else 'delivery_failed'}",
            obj=delivery,
            region_code=delivery.notification.region_code,
            after={
                "notification": delivery.notification_id,
                "recipient": delivery.notification.recipient.get_username(),
                "channel": delivery.channel,
                "gateway": gateway,
                "stand_in": stand_in,
                "attempt": delivery.attempts,
                "state": state,
                "error": error,
            },
        )
    return state


def deliveries_send(*, ids: list[int] | None = None, now: datetime | None = None, limit: int = 200) -> int:
    """Send the due deliveries (those of `ids`, or all that are due); returns how many were sent."""
    now = now or timezone.now()
    due = Delivery.objects.filter(_due_q(now))
    if ids is not None:
        due = due.filter(pk__in=ids)
    sent = 0
    for delivery_id in due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit]:
        if delivery_attempt(delivery_id=delivery_id, now=now) == DeliveryState.SENT:
            sent += 1
    return sent
