"""The broker accounts of terminals: a new device's password, and the provider that names every
terminal allowed on the broker (registered in `TerminalsConfig.ready`, read by messaging's
`broker_files_write` through `messaging.credentials`, which never imports terminals)."""

import secrets
from collections.abc import Iterator

from ruralcast.messaging.credentials import BrokerAccount
from ruralcast.terminals.selectors import terminals_active


def new_device_password() -> str:
    """A long random password for a device (never typed by a person)."""
    return secrets.token_urlsafe(24)


def terminal_broker_accounts() -> Iterator[BrokerAccount]:
    """Every terminal not revoked that has broker credentials, by resource code (chunked: a province
    has tens of thousands)."""
    rows = (
        terminals_active()
        .exclude(broker_password_hash="")
        .order_by("code")
        .values_list("code", "broker_password_hash", "village_id")
        .iterator(chunk_size=5000)
    )
    for code, encoded, village in rows:
        yield BrokerAccount(username=code, password_hash=encoded, region_code=village)
