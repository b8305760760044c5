"""Fixtures of the live-voice tests: a real mosquitto configured by the platform, on a free port."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruralcast.live import runtime
from ruralcast.messaging.tests.conftest import Broker, mqtt_settings, run_dir  # noqa: F401 — fixtures


@pytest.fixture
def broker(settings: Any, tmp_path: Path, mqtt_settings: dict[str, Any]) -> Iterator[Broker]:  # noqa: F811
    """mosquitto configured by the platform on a free port, not yet started (the test starts it)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    server = Broker(mqtt_settings["PORT"])
    yield server
    runtime.link_stop()
    server.stop()
