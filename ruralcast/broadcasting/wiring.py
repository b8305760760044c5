"""How daily broadcasting plugs into messaging: a schedule change becomes one signed
effective-schedule document per affected terminal, on that terminal's own downlink topic."""

from typing import Any


def _build_publish(key: str) -> list[Any]:
    """One document per terminal the change touched (retained: a terminal that reconnects gets its latest)."""
    from ruralcast.broadcasting.documents import schedule_document
    from ruralcast.broadcasting.models import ScheduleChange
    from ruralcast.broadcasting.programme import local_today, slots_touching
    from ruralcast.messaging.handlers import Outgoing
    from ruralcast.messaging.topics import terminal_topic
    from ruralcast.terminals.selectors import terminals_active

    change = ScheduleChange.objects.get(pk=int(key))
    terminals = list(terminals_active().filter(code__in=change.terminals).select_related("village").order_by("code"))
    slots = list(slots_touching({terminal.village_id: terminal.village for terminal in terminals}.values()))
    start = local_today()
    return [
        Outgoing(
            topic=terminal_topic(terminal.code),
            payload=schedule_document(terminal=terminal, start=start, version=change.pk, slots=slots),
            retain=True,
        )
        for terminal in terminals
    ]


def connect() -> None:
    from ruralcast.broadcasting.services import OUTBOX_PUBLISH
    from ruralcast.messaging import handlers as messaging

    messaging.register_outbox_handler(OUTBOX_PUBLISH, _build_publish)
