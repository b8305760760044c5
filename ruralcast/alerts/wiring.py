"""How alerts plug into messaging: what an outbox row publishes, and where receipts go."""

from typing import Any

from ruralcast.alerts.models import Alert, MsgType
from ruralcast.alerts.payload import REGION_TOPIC, alert_attachment, alert_payload, alert_topics
from ruralcast.alerts.services import OUTBOX_CLEAR, OUTBOX_DISPATCH, ReceiptIn, alert_mark_dispatched, receipts_store
from ruralcast.messaging import handlers as messaging
from ruralcast.messaging.handlers import Outgoing
from ruralcast.messaging.uplinks import receipt_events


def _build_dispatch(key: str) -> list[Any]:
    """One signed message per target region topic (the broker fans out), retained."""
    alert = Alert.objects.select_related("references").get(ebm_id=key)
    payload = alert_payload(alert)
    attachment = alert_attachment(alert)
    messages = [
        Outgoing(topic=topic, payload=payload, retain=True, attachment=attachment) for topic in alert_topics(alert)
    ]
    if alert.msg_type == MsgType.UPDATE and alert.references is not None:
        # Regions the update no longer targets must not keep the superseded retained alert.
        kept = set(alert.targets.values_list("code", flat=True))
        original = alert.original
        for code in original.targets.values_list("code", flat=True):
            if code not in kept:
                messages.append(
                    Outgoing(topic=REGION_TOPIC.format(region=code, ebm_id=original.ebm_id), payload=None, retain=True)
                )
    return messages


def _build_clear(key: str) -> list[Any]:
    """Expired: remove the retained messages of the alert's topics (empty retained payloads)."""
    alert = Alert.objects.get(ebm_id=key)
    codes = set(alert.targets.values_list("code", flat=True))
    for followup in Alert.objects.filter(references=alert):
        codes.update(followup.targets.values_list("code", flat=True))
    return [
        Outgoing(topic=REGION_TOPIC.format(region=code, ebm_id=alert.ebm_id), payload=None, retain=True)
        for code in sorted(codes)
    ]


def _on_dispatched(key: str) -> None:
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


def connect() -> None:
    messaging.register_outbox_handler(OUTBOX_DISPATCH, _build_dispatch, on_published=_on_dispatched)
    messaging.register_outbox_handler(OUTBOX_CLEAR, _build_clear)
    messaging.register_uplink_handler("receipt", _store_receipts)
