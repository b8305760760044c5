"""Reads of the outbox and of what the broker holds retained."""

from django.db.models import QuerySet
from django.utils import timezone

from ruralcast.messaging.models import OutboxMessage, OutboxState, RetainedMessage


def outbox_due(*, limit: int = 100) -> list[OutboxMessage]:
    """Pending rows whose next attempt is due, oldest first (publication order = decision order)."""
    rows = OutboxMessage.objects.filter(state=OutboxState.PENDING, next_attempt_at__lte=timezone.now())
    return list(rows.order_by("id")[:limit])


def outbox_list(*, state: str | None = None) -> QuerySet[OutboxMessage]:
    rows = OutboxMessage.objects.all()
    return rows.filter(state=state) if state else rows


def retained_messages() -> list[RetainedMessage]:
    """The retained state to publish again after a broker restart, oldest first (clearings included)."""
    return list(RetainedMessage.objects.order_by("published_at", "id"))
