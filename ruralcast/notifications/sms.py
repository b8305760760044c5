"""SMS through a pluggable gateway, and the log-only STAND-IN the platform ships with.

A gateway is any class with `name`, `stand_in` and `send(*, number, text) -> str` (the gateway's
message id; raise `SmsError` when the message was not accepted), built with no arguments, named by
`RURALCAST_NOTIFY["SMS_GATEWAY"]` (environment `RURALCAST_SMS_GATEWAY`). A county plugs in its
operator's SMS platform (China Mobile 云MAS, Alibaba Cloud SMS, …) by writing such a class.

`LogOnlySmsGateway`, the default, is a STAND-IN: NO SMS LEAVES THIS MACHINE. It writes each message
to the log and to RUN_DIR/sms-stand-in.log, so a demo shows what would be sent; the console marks
every SMS it carried as a stand-in.
"""

import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


class SmsError(Exception):
    """The gateway did not accept the message (the delivery is retried, then marked failed)."""


class SmsGateway(Protocol):
    name: str
    stand_in: bool

    def send(self, *, number: str, text: str) -> str: ...


class LogOnlySmsGateway:
    """STAND-IN: logs the SMS and appends it to RUN_DIR/sms-stand-in.log; nothing is sent."""

    name = "log-only stand-in"
    stand_in = True

    def send(self, *, number: str, text: str) -> str:
        at = datetime.now(UTC).isoformat(timespec="seconds")
        log.warning("SMS STAND-IN (not sent) to %s: %s", number, text)
        path = Path(settings.RUN_DIR) / "sms-stand-in.log"
        with path.open("a", encoding="utf-8") as handle:
            handle.write(f"{at}\tNOT SENT (stand-in)\t{number}\t{text}\n")
        return f"stand-in-{at}"


def sms_gateway() -> SmsGateway:
    gateway: SmsGateway = import_string(settings.RURALCAST_NOTIFY["SMS_GATEWAY"])()
    return gateway
