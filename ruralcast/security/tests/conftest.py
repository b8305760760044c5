"""The real broker of messaging's tests (mosquitto from the generated configuration), shared here."""

from ruralcast.messaging.tests.conftest import (  # noqa: F401 — fixtures
    broker,
    listen,
    mqtt_settings,
    other_terminal,
    run_dir,
    terminal,
)
from ruralcast.alerts.tests.conftest import drafted, fields_for  # noqa: F401, E402 — fixtures
