"""The real mosquitto of the messaging tests (configured from the test database) for provisioning tests."""

from ruralcast.messaging.tests.conftest import broker, listen, mqtt_settings, run_dir  # noqa: F401
