"""How live voice plugs into messaging: terminals' `live_started` / `live_stopped` receipts.

They travel on the ordinary receipt uplink (docs/protocols.md §5, §10) with `ebm_id` =
`live-<session id>`. The alerts app owns the `receipt` handler; this wraps it once, taking the live
receipts out of each batch and handing the rest on unchanged.
"""

from typing import Any

from ruralcast.live.services import LiveReceiptIn, live_receipts_store
from ruralcast.messaging import handlers as messaging
from ruralcast.messaging.uplinks import receipt_events

LIVE_PREFIX = "live-"


def live_receipts_of(items: list[Any]) -> tuple[list[Any], list[Any]]:
    """(live receipts as LiveReceiptIn, the other uplinks untouched)."""
    live: list[LiveReceiptIn] = []
    others: list[Any] = []
    for item in items:
        body = item.payload
        ebm_id = body.get("ebm_id") if isinstance(body, dict) else None
        if not (isinstance(ebm_id, str) and ebm_id.startswith(LIVE_PREFIX) and ebm_id[len(LIVE_PREFIX) :].isdigit()):
            others.append(item)
            continue
        session_id = int(ebm_id[len(LIVE_PREFIX) :])
        live.extend(
            LiveReceiptIn(terminal_code=item.terminal, session_id=session_id, event=event, reason=reason, device_at=at)
            for event, reason, at in receipt_events(body)
        )
    return live, others


def connect() -> None:
    inner = messaging.uplink_handler("receipt")
    if inner is not None and getattr(inner, "live_wrapped", False):
        return

    def store(items: list[Any]) -> None:
        live, others = live_receipts_of(items)
        if live:
            live_receipts_store(live)
        if others and inner is not None:
            inner(others)

    store.live_wrapped = True  # type: ignore[attr-defined]
    messaging.register_uplink_handler("receipt", store)
