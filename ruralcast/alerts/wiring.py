"""How alerts plug into messaging: what an outbox row publishes, and where receipts go."""

from typing import Any

from django.db.models import Q

from ruralcast.alerts.models import Alert, AlertTarget, MsgType
from ruralcast.alerts.payload import alert_attachment, alert_payload, alert_topics
from ruralcast.alerts.services import OUTBOX_CLEAR, OUTBOX_DISPATCH, ReceiptIn, receipts_store
from ruralcast.messaging import handlers as messaging
from ruralcast.messaging.handlers import Outgoing
from ruralcast.messaging.topics import region_topic
from ruralcast.messaging.uplinks import receipt_events


def _published_regions(original: Alert, *, exclude: Alert | None = None) -> set[str]:
    """Every target region of the chain's messages that may have been published (approved ones)."""
    messages = Alert.objects.filter(Q(pk=original.pk) | Q(references=original), approved_at__isnull=False)
    if exclude is not None:
        messages = messages.exclude(pk=exclude.pk)
    return set(AlertTarget.objects.filter(alert__in=messages).values_list("region_id", flat=True))


def _build_dispatch(key: str) -> list[Any]:
    """One signed message per target region topic (the broker fans out), retained."""
    from ruralcast.messaging.handlers import Outgoing

    alert = Alert.objects.select_related("references").get(ebm_id=key)
    payload = alert_payload(alert)
    attachment = alert_attachment(alert)
    messages = [
        Outgoing(topic=topic, payload=payload, retain=True, attachment=attachment) for topic in alert_topics(alert)
    ]
    if alert.msg_type != MsgType.ALERT and alert.references is not None:
        # Regions that this message no longer targets must not keep an earlier retained message of
        # the chain (the original's, or an earlier update's that targeted more).
        original = alert.original
        kept = set(alert.targets.values_list("code", flat=True))
        for code in sorted(_published_regions(original, exclude=alert) - kept):
            messages.append(Outgoing(topic=region_topic(code, original.ebm_id), payload=None, retain=True))
    return messages


def _build_clear(key: str) -> list[Any]:
    """The chain is over (`key`, the message in force, expired): empty every retained topic the chain
    used, under each region any of its messages targeted."""

    original = Alert.objects.select_related("references").get(ebm_id=key).original
    return [
        Outgoing(topic=region_topic(code, original.ebm_id), payload=None, retain=True)
        for code in sorted(_published_regions(original))
    ]


def _on_dispatched(key: str) -> None:
    from ruralcast.alerts.lifecycle import alert_mark_dispatched

    alert_mark_dispatched(ebm_id=key)


def _store_receipts(items: list[Any]) -> None:
    receipts: list[ReceiptIn] = []
    for item in items:
        body = item.payload
        if not isinstance(body, dict) or not isinstance(body.get("ebm_id"), str):
            continue
        receipts.extend(
            ReceiptIn(terminal_code=item.terminal, ebm_id=body["ebm_id"], event=event, reason=reason, device_at=at)
            for event, reason, at in receipt_events(body)
        )
    receipts_store(receipts)


def _dispatch_warm_up() -> None:
    """What the first alert after a dispatcher start would pay in `_build_dispatch`: the speech
    engine's set-up and version probe with the drill preamble's cache read (or its synthesis, once
    per deployment), and the URL resolver behind the audio's URL."""
    from django.urls import reverse

    from ruralcast.alerts.audio import drill_preamble

    drill_preamble()
    reverse("alerts:audio", args=["0" * 64])


def connect() -> None:
    from ruralcast.messaging.dispatcher import register_warm_up

    messaging.register_outbox_handler(OUTBOX_DISPATCH, _build_dispatch, on_published=_on_dispatched)
    register_warm_up(_dispatch_warm_up)
    messaging.register_outbox_handler(OUTBOX_CLEAR, _build_clear)
    messaging.register_uplink_handler("receipt", _store_receipts)
