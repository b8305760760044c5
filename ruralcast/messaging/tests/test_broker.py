"""The broker the platform configures: who may connect, who may read and write which topics."""

import asyncio
import contextlib
import shutil
import socket
import stat
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from ruralcast_terminal.mqtt import PUBLISH, Client, ConnectRefused, PacketReader, connect_packet, subscribe_packet

from ruralcast.messaging.broker import (
    ACL_FILE,
    CONFIG_FILE,
    MAX_INFLIGHT_MESSAGES,
    PASSWORD_FILE,
    PLATFORM_PASSWORD_FILE,
    BrokerError,
    broker_config_write,
    broker_dir,
    broker_sync,
    platform_credentials,
)
from ruralcast.messaging.client import MqttLink, Publication
from ruralcast.messaging.credentials import mosquitto_password_check
from ruralcast.messaging.health import broker_check
from ruralcast.messaging.services import broker_credentials_sync
from ruralcast.messaging.tests.conftest import Broker, connect_once, wait_for
from ruralcast.messaging.topics import region_topic, terminal_topic, uplink_topic
from ruralcast.terminals.services import Registration, terminal_revoke

pytestmark = pytest.mark.django_db


def test_generated_files_allow_only_active_terminals_and_the_platform(
    mqtt_settings: dict[str, Any], terminal: Registration, other_terminal: Registration
) -> None:
    terminal_revoke(actor=None, terminal=other_terminal.terminal)
    config = broker_config_write()
    directory = broker_dir()

    lines = (directory / PASSWORD_FILE).read_text().splitlines()
    users = dict(line.split(":", 1) for line in lines)
    username, password = platform_credentials()
    assert set(users) == {username, terminal.terminal.code}
    assert mosquitto_password_check(password, users[username])
    assert mosquitto_password_check(terminal.password, users[terminal.terminal.code])

    text = config.read_text()
    assert "allow_anonymous false" in text
    assert "max_connections -1" in text
    assert "persistence true" in text
    assert f"listener {mqtt_settings['PORT']} 127.0.0.1" in text
    acl = (directory / ACL_FILE).read_text()
    assert "pattern write rc/v1/up/%u/#" in acl
    assert "pattern read rc/v1/down/t/%u" in acl
    for name in (PASSWORD_FILE, ACL_FILE, CONFIG_FILE, PLATFORM_PASSWORD_FILE):
        assert stat.S_IMODE((directory / name).stat().st_mode) == 0o600, name


def test_platform_password_is_generated_once(mqtt_settings: dict[str, Any]) -> None:
    first = platform_credentials()
    assert len(first[1]) >= 32
    assert platform_credentials() == first


def test_broker_run_write_only_writes_the_configuration(mqtt_settings: dict[str, Any], capsys: Any) -> None:
    call_command("broker_run", "--write-only")
    assert Path(capsys.readouterr().out.strip()) == broker_dir() / CONFIG_FILE
    assert (broker_dir() / PASSWORD_FILE).exists()


def test_broker_run_without_mosquitto_stops_and_says_what_to_install(
    mqtt_settings: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    with pytest.raises(CommandError, match="apt-get install mosquitto"):
        call_command("broker_run")


def test_sync_is_a_no_op_where_no_broker_was_set_up(mqtt_settings: dict[str, Any]) -> None:
    assert broker_sync() is False
    assert not (broker_dir() / PASSWORD_FILE).exists()


def test_registered_terminal_connects_with_its_password_and_a_wrong_one_is_refused(
    broker: Broker, terminal: Registration
) -> None:
    broker.sync()
    code = terminal.terminal.code
    connect_once(broker.port, username=code, password=terminal.password, client_id=code)
    with pytest.raises(ConnectRefused):
        connect_once(broker.port, username=code, password=terminal.password + "x", client_id=code)
    with pytest.raises(ConnectRefused):
        connect_once(broker.port, username=None, password=None)


def test_terminal_registered_while_the_broker_runs_connects_after_the_sync_on_commit(
    broker: Broker, terminal: Registration, django_capture_on_commit_callbacks: Any
) -> None:
    code = terminal.terminal.code
    with pytest.raises(ConnectRefused):
        connect_once(broker.port, username=code, password=terminal.password)
    reloads = broker.log().count("Reloading config")
    with django_capture_on_commit_callbacks(execute=True):
        broker_credentials_sync()
    assert wait_for(lambda: broker.log().count("Reloading config") > reloads)
    connect_once(broker.port, username=code, password=terminal.password)


def test_revoked_terminal_is_refused_after_sync_and_its_live_connection_is_dropped(
    broker: Broker, terminal: Registration
) -> None:
    broker.sync()
    code = terminal.terminal.code
    live = MqttLink(client_id=code, username=code, password=terminal.password, reconnect_base=0.1)
    live.start(wait=5.0)
    try:
        terminal_revoke(actor=None, terminal=terminal.terminal)
        broker.sync()
        # mosquitto re-checks connected clients on reload and disconnects those that no longer pass.
        assert wait_for(lambda: not live.connected, 3.0)
        with pytest.raises(ConnectRefused):
            connect_once(broker.port, username=code, password=terminal.password)
        assert not wait_for(lambda: live.connected, 1.0), "a revoked terminal must not get back in"
    finally:
        live.stop()


def test_terminal_cannot_publish_on_another_terminals_uplink_or_on_any_downlink(
    broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    broker.sync()
    _platform, inbox = listen(["rc/v1/#"])
    me, other = terminal.terminal.code, other_terminal.terminal.code
    forged = [
        uplink_topic(other, "receipt"),
        region_topic("522632000000", "4" * 35),
        terminal_topic(other),
        terminal_topic(me),
    ]
    own = uplink_topic(me, "receipt")
    sender, _ = listen([], username=me, password=terminal.password, client_id=me)
    # QoS 1: mosquitto acknowledges a refused publication too (MQTT 3.1.1 cannot say no) and drops it.
    sender.publish_all([Publication(topic, b'{"forged": true}', qos=1) for topic in forged])
    sender.publish_all([Publication(own, b'{"terminal": "%s"}' % me.encode(), qos=1)])
    # The allowed message comes last on one connection: when it is in, the forged ones would be too.
    assert [m.topic for m in inbox.wait(1)] == [own]
    assert not wait_for(lambda: len(inbox.messages) > 1, 0.3)


def test_terminal_reads_its_own_downlink_and_region_topics_but_not_another_terminals(
    broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    broker.sync()
    me, other = terminal.terminal.code, other_terminal.terminal.code
    _link, inbox = listen(
        [terminal_topic(other), terminal_topic(me), "rc/v1/down/r/522632000000/+"],
        username=me,
        password=terminal.password,
        client_id=me,
    )
    platform, _ = listen([])
    alert = region_topic("522632000000", "4" * 35)
    platform.publish_all(
        [
            Publication(terminal_topic(other), b"theirs"),
            Publication(alert, b"alert"),
            Publication(terminal_topic(me), b"mine"),
        ]
    )
    received = inbox.wait(2)
    assert sorted(m.topic for m in received) == sorted([alert, terminal_topic(me)])
    assert not wait_for(lambda: len(inbox.messages) > 2, 0.3)


def test_with_shared_region_topics_the_acl_stays_small_and_terminals_still_keep_to_their_own_topics(
    settings: Any, broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    settings.RURALCAST_MQTT = {**settings.RURALCAST_MQTT, "REGION_ACL": "shared"}
    broker.sync()
    acl = (broker_dir() / ACL_FILE).read_text()
    assert f"user {terminal.terminal.code}" not in acl  # no per-terminal block: a reload stays instant
    assert "pattern read rc/v1/down/r/#" in acl
    me, other = terminal.terminal.code, other_terminal.terminal.code
    elsewhere = region_topic("522633000000", "4" * 35)  # another county: readable, like any broadcast
    _link, inbox = listen(
        [terminal_topic(other), "rc/v1/down/r/522633000000/+"], username=me, password=terminal.password, client_id=me
    )
    platform, uplinks = listen([uplink_topic(other, "receipt")])
    platform.publish_all([Publication(terminal_topic(other), b"theirs"), Publication(elsewhere, b"alert")])
    assert [m.topic for m in inbox.wait(1)] == [elsewhere]
    assert not wait_for(lambda: len(inbox.messages) > 1, 0.3)
    sender, _ = listen([], username=me, password=terminal.password, client_id=me + "-2")
    sender.publish_all([Publication(uplink_topic(other, "receipt"), b"{}", qos=1)])
    assert not wait_for(lambda: uplinks.messages, 0.3)


def test_an_unknown_region_acl_mode_is_refused_with_its_name(settings: Any, mqtt_settings: dict[str, Any]) -> None:
    settings.RURALCAST_MQTT = {**settings.RURALCAST_MQTT, "REGION_ACL": "open"}
    with pytest.raises(BrokerError, match="'open'"):
        broker_config_write()


def test_health_check_connects_as_the_platform(broker: Broker) -> None:
    ok, detail = broker_check()
    assert ok, detail


def test_health_check_reports_a_broker_that_is_down(mqtt_settings: dict[str, Any]) -> None:
    ok, detail = broker_check()
    assert not ok
    assert str(mqtt_settings["PORT"]) in detail


def test_health_check_reports_a_refused_platform_password(broker: Broker, settings: Any) -> None:
    settings.RURALCAST_MQTT = {**settings.RURALCAST_MQTT, "PASSWORD": "not-the-password"}
    ok, detail = broker_check()
    assert not ok
    assert "not authorized" in detail or "bad user name" in detail


def test_a_slow_acknowledging_subscriber_gets_more_than_twenty_messages_in_flight(
    broker: Broker, terminal: Registration
) -> None:
    """The ingest worker takes every terminal's receipts through one connection: the broker must
    not hold a burst back 20 messages per round trip (mosquitto's default) while it acknowledges."""
    broker.sync()  # the terminal registered after the broker started
    user, password = platform_credentials()
    burst = 200
    assert burst <= MAX_INFLIGHT_MESSAGES
    with socket.create_connection(("127.0.0.1", broker.port), timeout=5) as raw:
        raw.sendall(connect_packet("slow-ingest", username=user, password=password, clean_session=True, keepalive=60))
        raw.sendall(subscribe_packet(1, [(uplink_topic(terminal.terminal.code, "receipt"), 1)]))
        reader = PacketReader(1 << 20)
        packets: list[tuple[int, int, bytes]] = []
        while len(packets) < 2:  # CONNACK, SUBACK
            packets.extend(reader.feed(raw.recv(65536)))

        async def publish_burst() -> None:
            client = Client(
                terminal.terminal.code, "127.0.0.1", broker.port, username=terminal.terminal.code,
                password=terminal.password,
            )  # fmt: skip
            await client.connect()
            for seq in range(burst):
                await client.publish(uplink_topic(terminal.terminal.code, "receipt"), b'{"seq":%d}' % seq, qos=1)
            await client.disconnect()

        asyncio.run(publish_burst())
        received = 0
        raw.settimeout(2)
        with contextlib.suppress(TimeoutError):
            while received < burst:  # never acknowledging any of them
                received += sum(1 for kind, _flags, _body in reader.feed(raw.recv(65536)) if kind == PUBLISH)
    assert received == burst
