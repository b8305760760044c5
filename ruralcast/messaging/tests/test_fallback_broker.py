"""The amqtt fallback broker enforces the same passwords and ACL as mosquitto, from the same files."""

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from ruralcast_terminal.mqtt import ConnectRefused

from ruralcast.messaging.broker import broker_config_write, broker_dir, broker_sync
from ruralcast.messaging.client import Publication
from ruralcast.messaging.fallback_broker import acl_parse, fallback_broker_serve, topic_matches
from ruralcast.messaging.tests.conftest import connect_once, wait_for
from ruralcast.messaging.topics import region_topic, terminal_topic, uplink_topic
from ruralcast.terminals.services import Registration, terminal_revoke

pytestmark = pytest.mark.django_db


class Amqtt:
    """amqtt serving the generated files, in a thread with its own event loop."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.loop = asyncio.new_event_loop()
        self.stop_event: asyncio.Event | None = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.error: BaseException | None = None

    def _run(self) -> None:
        async def main() -> None:
            self.stop_event = asyncio.Event()
            await fallback_broker_serve(host="127.0.0.1", port=self.port, directory=broker_dir(), stop=self.stop_event)

        try:
            self.loop.run_until_complete(main())
        except BaseException as error:  # reported by the fixture
            self.error = error

    def start(self) -> None:
        broker_config_write()
        self.thread.start()

        def accepting() -> bool:
            try:
                connect_once(self.port, username=None, password=None)
            except ConnectRefused:
                return True  # up, and refusing anonymous clients
            except OSError:
                return False
            return True

        assert wait_for(accepting, 10.0), self.error

    def sync(self) -> None:
        """Rewrite the files from the database; amqtt re-reads them at its next check (no reload)."""
        assert broker_sync()

    def stop(self) -> None:
        if self.stop_event is not None:
            self.loop.call_soon_threadsafe(self.stop_event.set)
        self.thread.join(10)


@pytest.fixture
def amqtt(db: None, mqtt_settings: dict[str, Any]) -> Iterator[Amqtt]:
    server = Amqtt(mqtt_settings["PORT"])
    server.start()
    yield server
    server.stop()


def test_acl_lines_are_read_as_mosquitto_reads_them() -> None:
    users, patterns = acl_parse(
        [
            "# comment",
            "topic read orphan/#",  # before any user: anonymous, which is refused anyway
            "user platform",
            "topic readwrite rc/v1/#",
            "pattern read rc/v1/down/t/%u",
            "pattern write rc/v1/up/%u/#",
        ]
    )
    assert [rule.topic for rule in users["platform"]] == ["rc/v1/#"]
    assert [(rule.topic, sorted(rule.access)) for rule in patterns] == [
        ("rc/v1/down/t/%u", ["read"]),
        ("rc/v1/up/%u/#", ["write"]),
    ]
    assert patterns[1].allows(username="T1", client_id="c", topic="rc/v1/up/T1/receipt", access="write")
    assert not patterns[1].allows(username="T1", client_id="c", topic="rc/v1/up/T2/receipt", access="write")
    assert not patterns[1].allows(username="T1", client_id="c", topic="rc/v1/up/T1/receipt", access="read")


@pytest.mark.parametrize(
    ("topic", "topic_filter", "matches"),
    [
        ("rc/v1/down/r/52/x", "rc/v1/down/r/#", True),
        ("rc/v1/down/r", "rc/v1/down/r/#", True),
        ("rc/v1/up/T/receipt", "rc/v1/up/+/receipt", True),
        ("rc/v1/up/T/status", "rc/v1/up/+/receipt", False),
        ("rc/v1/up/T/receipt/x", "rc/v1/up/+/receipt", False),
        ("#", "rc/v1/#", False),  # a terminal asking for everything gets nothing
    ],
)
def test_topic_matching(topic: str, topic_filter: str, matches: bool) -> None:
    assert topic_matches(topic, topic_filter) is matches


def test_terminal_connects_with_its_password_and_others_are_refused(amqtt: Amqtt, terminal: Registration) -> None:
    amqtt.sync()
    code = terminal.terminal.code
    connect_once(amqtt.port, username=code, password=terminal.password, client_id=code)
    with pytest.raises(ConnectRefused):
        connect_once(amqtt.port, username=code, password=terminal.password + "x", client_id=code)
    with pytest.raises(ConnectRefused):
        connect_once(amqtt.port, username=None, password=None)


def test_terminal_cannot_publish_on_another_terminals_uplink_or_any_downlink(
    amqtt: Amqtt, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    amqtt.sync()
    _platform, inbox = listen(["rc/v1/#"])
    me, other = terminal.terminal.code, other_terminal.terminal.code
    forged = [uplink_topic(other, "receipt"), region_topic("522632000000", "4" * 35), terminal_topic(other)]
    own = uplink_topic(me, "receipt")
    sender, _ = listen([], username=me, password=terminal.password, client_id=me)
    sender.publish_all([Publication(topic, b'{"forged": true}', qos=1) for topic in forged])
    sender.publish_all([Publication(own, b"{}", qos=1)])
    assert [m.topic for m in inbox.wait(1)] == [own]
    assert not wait_for(lambda: len(inbox.messages) > 1, 0.3)


def test_terminal_reads_its_own_downlink_and_region_topics_but_not_another_terminals(
    amqtt: Amqtt, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    amqtt.sync()
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
    assert sorted(m.topic for m in inbox.wait(2)) == sorted([alert, terminal_topic(me)])
    assert not wait_for(lambda: len(inbox.messages) > 2, 0.3)


def test_revoked_terminal_is_refused_and_its_open_connection_can_neither_receive_nor_publish(
    amqtt: Amqtt, terminal: Registration, listen: Any
) -> None:
    amqtt.sync()
    code = terminal.terminal.code
    link, inbox = listen([terminal_topic(code)], username=code, password=terminal.password, client_id=code)
    platform, uplinks = listen([uplink_topic(code, "receipt")])
    link.publish_all([Publication(uplink_topic(code, "receipt"), b"{}", qos=1)])
    assert len(uplinks.wait(1)) == 1  # allowed before the revocation
    terminal_revoke(actor=None, terminal=terminal.terminal)
    amqtt.sync()

    with pytest.raises(ConnectRefused):
        connect_once(amqtt.port, username=code, password=terminal.password, client_id=code + "-again")
    platform.publish_all([Publication(terminal_topic(code), b"after revocation", qos=1)])
    link.publish_all([Publication(uplink_topic(code, "receipt"), b"{}", qos=1)])
    assert not wait_for(lambda: inbox.messages or len(uplinks.messages) > 1, 0.5)


def test_alert_published_by_the_platform_reaches_a_terminal_subscribed_to_its_region(
    amqtt: Amqtt, terminal: Registration, listen: Any
) -> None:
    amqtt.sync()
    code = terminal.terminal.code
    village = terminal.terminal.village.code
    county = village[:6] + "000000"
    _link, inbox = listen([f"rc/v1/down/r/{county}/+"], username=code, password=terminal.password, client_id=code)
    platform, _ = listen([])
    platform.publish_all([Publication(region_topic(county, "4" * 35), b"signed alert", qos=1, retain=True)])
    (message,) = inbox.wait(1)
    assert message.payload == b"signed alert"
    # Retained: a terminal connecting later gets it too (amqtt 0.12 may hand a retained message to a
    # new subscription twice; terminals drop the copy by its EBM id, as any duplicate delivery).
    _late, late_inbox = listen(
        [f"rc/v1/down/r/{county}/+"], username=code, password=terminal.password, client_id=code + "-2"
    )
    assert {m.payload for m in late_inbox.wait(1)} == {b"signed alert"}
