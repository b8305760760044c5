"""Publishes the real broker refuses are counted from its log, per terminal and region."""

from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command

from ruralcast.messaging.broker import BROKER_LOG_FILE, broker_config_write, broker_dir
from ruralcast.messaging.client import Publication
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.topics import terminal_topic, uplink_topic
from ruralcast.security.broker_log import BrokerLogWatch
from ruralcast.security.models import SecurityCount, SecurityEvent, SecurityKind
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db


def _log() -> Path:
    return broker_dir() / BROKER_LOG_FILE


def test_a_terminal_publishing_outside_its_acl_is_counted_as_refused_publishes_of_its_village(
    broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    broker.sync()
    me, other = terminal.terminal.code, other_terminal.terminal.code
    watch = BrokerLogWatch(path=_log())
    watch.scan()  # what the broker logged before: the platform's own connections
    sender, _ = listen([], username=me, password=terminal.password, client_id="not-my-code")
    forged = [uplink_topic(other, "receipt"), terminal_topic(other)]
    sender.publish_all([Publication(topic, b'{"forged": true}', qos=1) for topic in forged])
    sender.publish_all([Publication(uplink_topic(me, "status"), b"{}", qos=1)])  # allowed: not counted
    assert wait_for(lambda: _log().read_text().count("Denied PUBLISH") >= 2, 3.0), _log().read_text()
    assert watch.scan() == 2
    # The client id is not the code: the user it connected as names the terminal.
    events = list(SecurityEvent.objects.order_by("id").values_list("kind", "terminal_code", "region_code", "detail"))
    assert events == [(SecurityKind.REFUSED_PUBLISH, me, "522632100001", topic) for topic in forged]
    assert SecurityCount.objects.get().count == 2
    assert watch.scan() == 0, "a line is counted once"


def test_the_watch_starts_again_on_an_emptied_log_and_empties_a_long_one(
    mqtt_settings: dict[str, Any], tmp_path: Path
) -> None:
    path = tmp_path / "mosquitto.log"
    code = "65226321000010314010401"
    denied = f"2026-12-02T06:00:00: Denied PUBLISH from {code} (d0, q1, r0, m1, 'rc/v1/down/t/x', ... (2 bytes))\n"
    path.write_text(denied * 3)
    watch = BrokerLogWatch(path=path, truncate_bytes=len(denied) * 3)
    assert watch.scan() == 3
    assert path.stat().st_size == 0, "read past the limit: emptied"
    path.write_text(denied + denied[:20])  # half a line waits for the rest
    assert watch.scan() == 1
    assert SecurityEvent.objects.filter(terminal_code=code).count() == 4


def test_the_broker_logs_denials_only_when_asked(settings: Any, mqtt_settings: dict[str, Any]) -> None:
    assert "log_type debug" in broker_config_write().read_text()
    settings.RURALCAST_MQTT = {**mqtt_settings, "LOG_DENIALS": False}
    assert "log_type debug" not in broker_config_write().read_text()


def test_security_watch_scans_once_without_every(mqtt_settings: dict[str, Any], capsys: Any) -> None:
    call_command("security_watch")
    assert "0 refused publishes recorded" in capsys.readouterr().out
