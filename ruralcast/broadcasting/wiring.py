"""How daily broadcasting plugs into messaging: a schedule change becomes one signed
effective-schedule document per affected village, retained on that village's region topic
(`rc/v1/down/r/<village>/schedule`), and terminals' playback logs (`rc/v1/up/<id>/playlog`) are
written in batches by the ingest worker."""

from typing import Any

from ruralcast.broadcasting.documents import (
    DEFAULT_DAYS,
    TOPIC_NAME,
    ProgrammeMemo,
    schedule_document,
    slots_covering,
)
from ruralcast.broadcasting.models import ScheduleChange
from ruralcast.broadcasting.playlogs import playlogs_write
from ruralcast.broadcasting.programme import local_today
from ruralcast.broadcasting.services import OUTBOX_PUBLISH
from ruralcast.messaging import handlers as messaging
from ruralcast.messaging.handlers import Outgoing
from ruralcast.messaging.topics import PLAYLOG, region_topic, terminal_topic
from ruralcast.terminals.selectors import terminals_active


def _build_publish(key: str) -> list[Any]:
    """One document per village the change touched (retained: a terminal that reconnects gets its latest)."""
    change = ScheduleChange.objects.get(pk=int(key))
    villages = sorted(change.villages)
    start = local_today()
    memo = ProgrammeMemo(slots=slots_covering(villages), start=start, days=DEFAULT_DAYS)
    return [
        Outgoing(
            topic=region_topic(code, TOPIC_NAME),
            payload=schedule_document(village=code, start=start, version=change.pk, memo=memo),
            retain=True,
        )
        for code in villages
    ]


# Queued once by migration 0002 where format-1 documents had been sent (one per terminal, retained on
# `rc/v1/down/t/<terminal>`, which carries nothing else retained): clears them, so agents stop
# receiving an outdated document on every reconnect.
LEGACY_CLEAR = "schedule.clear_legacy"


def _build_legacy_clear(key: str) -> list[Any]:
    codes = terminals_active().order_by("code").values_list("code", flat=True)
    return [Outgoing(topic=terminal_topic(code), payload=None, retain=True) for code in codes]


def connect() -> None:
    messaging.register_outbox_handler(OUTBOX_PUBLISH, _build_publish)
    messaging.register_outbox_handler(LEGACY_CLEAR, _build_legacy_clear)
    messaging.register_uplink_handler(PLAYLOG, playlogs_write)
