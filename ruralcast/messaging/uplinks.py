"""Reading what terminals send up: their clock's times, and receipt bodies (docs/protocols.md §5).

`device_time` reads an `at` (receipts, status reports, playback logs). Alerts own the `receipt`
uplink handler; live voice's `live_started`/`live_stopped` receipts travel
on the same uplink with `ebm_id` = `live-<session>`. Both read the body the same way: one receipt
(`event`, `reason`, `at`) or several that happened together (`events`: a list of those).
"""

from datetime import datetime
from typing import Any


def device_time(value: Any) -> datetime | None:
    """The terminal's `at` as a datetime, or None when it is missing or not ISO 8601."""
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


def receipt_events(body: dict[str, Any]) -> list[tuple[str, str, datetime | None]]:
    """(event, reason, device time) of each well-formed receipt in the body; malformed ones are skipped."""
    events = body["events"] if isinstance(body.get("events"), list) else [body]
    return [
        (event["event"], str(event.get("reason") or ""), device_time(event.get("at")))
        for event in events
        if isinstance(event, dict) and isinstance(event.get("event"), str)
    ]
