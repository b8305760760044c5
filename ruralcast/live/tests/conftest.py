"""Fixtures of the live-voice tests: a real mosquitto configured by the platform, on a free port."""

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ruralcast.live import runtime
from ruralcast.messaging.tests.conftest import Broker, free_port


@pytest.fixture
def broker(settings: Any, tmp_path: Path) -> Iterator[Broker]:
    settings.RUN_DIR = tmp_path
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.RURALCAST_MQTT = {
        **settings.RURALCAST_MQTT,
        "HOST": "127.0.0.1",
        "LISTEN": "127.0.0.1",
        "PORT": free_port(),
        "PASSWORD": "",
    }
    server = Broker(settings.RURALCAST_MQTT["PORT"])
    yield server
    runtime.link_stop()
    server.stop()
