"""The real broker of messaging's tests (mosquitto from the generated configuration) and a drafted
alert of alerts' tests, shared here."""

from ruralcast.alerts.tests.conftest import drafted, fields_for  # noqa: F401 — fixtures
from ruralcast.messaging.tests.conftest import (  # noqa: F401 — fixtures
    broker,
    listen,
    mqtt_settings,
    other_terminal,
    run_dir,
    terminal,
)
