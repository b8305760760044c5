"""The dispatcher: one signed, retained message per region topic; crashes and broker restarts lose
nothing and never change the bytes; a broker slow to acknowledge is waited for, never sent a second
copy (a row goes out once per connection, and again, DUP set, only on a new connection after the
old one dropped before its PUBACKs). The last tests go through `MqttProxy` in front of the real
broker, which sees what the dispatcher sends and holds the broker's PUBACKs back, as mosquitto
fanning a large alert out to 10,000 terminals on one thread does for tens of seconds."""

import base64
import signal
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone
from ruralcast_terminal.protocol import covering_codes, open_envelope

from ruralcast.messaging.client import MqttLink, platform_client_id
from ruralcast.messaging.dispatcher import (
    Dispatcher,
    PostgresListener,
    dispatch_pending_once,
    payload_sign,
    publications,
)
from ruralcast.messaging.models import OutboxMessage, OutboxState
from ruralcast.messaging.services import (
    OUTBOX_CHANNEL,
    Outgoing,
    outbox_enqueue,
    outbox_prepare,
    outbox_wake_register,
    register_outbox_handler,
)
from ruralcast.messaging.tests.conftest import Broker, MqttProxy, Sent, wait_for
from ruralcast.messaging.topics import region_filter, region_topic
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate

pytestmark = pytest.mark.django_db

EBM = "45226320000000101010101202611270001"
# 贵州省, 榕江县 (where 大十字 lies) and the neighbouring 从江县.
TARGETS = ["520000000000", "522632000000", "522633000000"]
DASHIZI = "522632100001"


def alert_payload(key: str) -> dict[str, Any]:
    return {"kind": "alert", "ebm_id": key, "msg_type": "Alert", "areas": TARGETS, "title": "暴雨红色预警"}


class AlertHandler:
    def __init__(self) -> None:
        self.published: list[str] = []
        self.refuse_marks = 0

    def build(self, key: str) -> list[Outgoing]:
        return [Outgoing(topic=region_topic(code, key), payload=alert_payload(key)) for code in TARGETS]

    def on_published(self, key: str) -> None:
        if self.refuse_marks:
            self.refuse_marks -= 1
            raise RuntimeError("killed after PUBACK, before the row was marked")
        self.published.append(key)


@pytest.fixture
def alerts(outbox_handlers: None) -> AlertHandler:
    handler = AlertHandler()
    register_outbox_handler("test.alert", handler.build, handler.on_published)
    register_outbox_handler(
        "test.clear", lambda key: [Outgoing(topic=region_topic(code, key), payload=None) for code in TARGETS]
    )
    return handler


@pytest.fixture
def signing_key(run_dir: Any) -> Any:
    # SM2 signatures are randomised: signing the same payload twice gives different bytes, which is
    # what makes "replays send the stored bytes" observable.
    return signing_key_generate(actor=None, alg="SM2-SM3")


@pytest.fixture
def link(broker: Broker) -> Any:
    link = MqttLink(client_id=platform_client_id("test-dispatcher"), reconnect_base=0.1, reconnect_cap=0.3)
    link.start(wait=5.0)
    yield link
    link.stop()


def enqueue(kind: str = "test.alert", key: str = EBM) -> OutboxMessage:
    return outbox_enqueue(kind=kind, key=key)


def village_subscriber(listen: Callable[..., Any]) -> Any:
    """A late subscriber in 大十字 (a platform account stands in for the terminal)."""
    return listen([region_filter(code) for code in covering_codes(DASHIZI)])


def dedupe(messages: list[Any]) -> list[dict[str, Any]]:
    """What a terminal acts on: verified payloads, once per (ebm_id, msg_type)."""
    trust, seen, acted = trust_list_build(), set(), []
    for message in messages:
        _envelope, payload = open_envelope(message.payload, trust)
        if (payload["ebm_id"], payload["msg_type"]) not in seen:
            seen.add((payload["ebm_id"], payload["msg_type"]))
            acted.append(payload)
    return acted


def test_dispatcher_publishes_one_signed_retained_message_per_region_topic(
    alerts: AlertHandler, signing_key: Any, link: MqttLink, listen: Callable[..., Any]
) -> None:
    _platform, everything = listen(["rc/v1/down/#"])
    message = enqueue()
    report = dispatch_pending_once(publisher=link)
    assert report.published == 1

    received = everything.wait(3)
    assert sorted(m.topic for m in received) == sorted(region_topic(code, EBM) for code in TARGETS)
    assert not wait_for(lambda: len(everything.messages) > 3, 0.3), "one message per region, no more"
    assert len({m.payload for m in received}) == 1, "signed once: the same bytes on every region"
    message.refresh_from_db()
    assert message.state == OutboxState.PUBLISHED and alerts.published == [EBM]

    # A terminal that connects later gets the retained alerts of its regions only, and they verify.
    _late, inbox = village_subscriber(listen)
    late = inbox.wait(2)
    assert sorted(m.topic for m in late) == [region_topic("520000000000", EBM), region_topic("522632000000", EBM)]
    assert all(m.retain for m in late)
    assert [p["ebm_id"] for p in dedupe(late)] == [EBM]
    stored = {item["topic"]: base64.b64decode(item["payload_b64"]) for item in message.messages}
    assert all(m.payload == stored[m.topic] for m in late)


def test_killed_before_publishing_the_restarted_dispatcher_sends_the_stored_bytes(
    alerts: AlertHandler, signing_key: Any, link: MqttLink, listen: Callable[..., Any]
) -> None:
    message = enqueue()
    outbox_prepare(message=message, sign=payload_sign)  # then the process dies
    stored = [p.payload for p in publications(message)]
    assert payload_sign(alert_payload(EBM)) not in stored, "SM2: a second signature differs"

    _platform, everything = listen(["rc/v1/down/#"])
    assert dispatch_pending_once(publisher=link).published == 1
    assert sorted(m.payload for m in everything.wait(3)) == sorted(stored)


def test_killed_after_publishing_before_marking_the_same_bytes_go_again_and_terminals_act_once(
    alerts: AlertHandler, signing_key: Any, link: MqttLink, listen: Callable[..., Any]
) -> None:
    _terminal, inbox = village_subscriber(listen)
    message = enqueue()
    outbox_prepare(message=message, sign=payload_sign)
    link.publish_all(publications(message))  # PUBACKs in, then the process dies before the mark
    first = inbox.wait(2)
    assert len(first) == 2

    assert dispatch_pending_once(publisher=link).published == 1  # the restarted dispatcher
    both = inbox.wait(4)
    by_topic: dict[str, set[bytes]] = {}
    for m in both:
        by_topic.setdefault(m.topic, set()).add(m.payload)
    assert len(both) == 4 and all(len(payloads) == 1 for payloads in by_topic.values()), "identical bytes"
    assert [p["ebm_id"] for p in dedupe(both)] == [EBM]


def test_a_mark_that_fails_after_the_pubacks_is_retried_with_identical_bytes(
    alerts: AlertHandler, signing_key: Any, link: MqttLink, listen: Callable[..., Any]
) -> None:
    _terminal, inbox = village_subscriber(listen)
    alerts.refuse_marks = 1
    message = enqueue()
    report = dispatch_pending_once(publisher=link)
    assert report.failed == 1
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and "killed after PUBACK" in message.last_error
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now())  # skip the back-off

    assert dispatch_pending_once(publisher=link).published == 1
    received = inbox.wait(4)
    assert len(received) == 4 and len({m.payload for m in received}) == 1
    assert [p["ebm_id"] for p in dedupe(received)] == [EBM]
    assert alerts.published == [EBM]


def test_a_broker_restart_during_dispatch_delays_the_alert_but_loses_nothing(
    alerts: AlertHandler, signing_key: Any, broker: Broker, link: MqttLink, listen: Callable[..., Any]
) -> None:
    broker.stop()
    assert wait_for(lambda: not link.connected, 3.0)
    message = enqueue()
    report = dispatch_pending_once(publisher=link, timeout=1.0)
    assert report.broker_down and report.published == 0
    message.refresh_from_db()
    assert message.state == OutboxState.PENDING and message.last_error.startswith("broker:")

    broker.start()
    dispatcher = Dispatcher(link=link, sign=payload_sign, poll=0.05, timeout=2.0)
    dispatcher.run(
        until=lambda: OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PUBLISHED).exists(),
        deadline=time.monotonic() + 10,
    )
    message.refresh_from_db()
    assert message.state == OutboxState.PUBLISHED, message.last_error
    _late, inbox = village_subscriber(listen)
    assert [p["ebm_id"] for p in dedupe(inbox.wait(2))] == [EBM]


def test_a_broker_that_dies_with_publications_in_flight_gets_them_after_its_restart(
    alerts: AlertHandler, signing_key: Any, broker: Broker, link: MqttLink, listen: Callable[..., Any]
) -> None:
    assert broker.process is not None
    broker.process.send_signal(signal.SIGSTOP)  # frozen: the publications go out, no PUBACK comes back
    message = enqueue()
    assert dispatch_pending_once(publisher=link, timeout=0.5).broker_down
    broker.process.kill()
    broker.process.wait(5)
    broker.start()

    Dispatcher(link=link, poll=0.05, timeout=2.0).run(
        until=lambda: OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PUBLISHED).exists(),
        deadline=time.monotonic() + 10,
    )
    message.refresh_from_db()
    assert message.state == OutboxState.PUBLISHED, message.last_error
    _late, inbox = village_subscriber(listen)
    assert [p["ebm_id"] for p in dedupe(inbox.wait(2))] == [EBM]


def test_retained_alerts_survive_a_broker_restart(
    alerts: AlertHandler, signing_key: Any, broker: Broker, listen: Callable[..., Any]
) -> None:
    enqueue()
    assert dispatch_pending_once().published == 1  # its own short connection
    broker.restart()
    _late, inbox = village_subscriber(listen)
    assert len(inbox.wait(2)) == 2


def test_clearing_removes_the_retained_messages(
    alerts: AlertHandler, signing_key: Any, link: MqttLink, listen: Callable[..., Any]
) -> None:
    enqueue()
    dispatch_pending_once(publisher=link)
    clear = enqueue(kind="test.clear")
    assert dispatch_pending_once(publisher=link).published == 1
    assert all(item["payload_b64"] == "" and item["retain"] for item in clear.messages)
    _late, inbox = village_subscriber(listen)
    assert not wait_for(lambda: inbox.messages, 0.5)


def test_dispatcher_runs_until_its_rows_are_published(alerts: AlertHandler, signing_key: Any, link: MqttLink) -> None:
    keys = [EBM[:-1] + str(n) for n in range(3)]
    for key in keys:
        enqueue(key=key)
    dispatcher = Dispatcher(link=link, poll=0.05)
    dispatcher.run(until=lambda: len(alerts.published) == 3, deadline=time.monotonic() + 10)
    assert alerts.published == keys, "in the order they were decided"


def test_an_enqueue_commit_wakes_a_waiting_dispatcher(
    mqtt_settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    dispatcher = Dispatcher(poll=30)
    unregister = outbox_wake_register(dispatcher.wake)
    try:
        assert not dispatcher.wait_for_work(0.01)
        with django_capture_on_commit_callbacks(execute=True):
            enqueue()
        started = time.monotonic()
        assert dispatcher.wait_for_work(5.0)
        assert time.monotonic() - started < 0.1
    finally:
        unregister()


TOPICS = sorted(region_topic(code, EBM) for code in TARGETS)


@pytest.fixture
def proxied(mqtt_proxy: MqttProxy) -> Iterator[MqttLink]:
    """The dispatcher's link, through the proxy."""
    link = MqttLink(
        client_id=platform_client_id("test-proxied"), port=mqtt_proxy.port, reconnect_base=0.1, reconnect_cap=0.3
    )
    link.start(wait=5.0)
    yield link
    link.stop()


def run_until_published(link: MqttLink, message: OutboxMessage, *, seconds: float = 15.0) -> None:
    # An attempt waits 0.3 s for its PUBACKs: the old dispatcher sent a copy after each of them.
    Dispatcher(link=link, poll=0.05, timeout=0.3).run(
        until=lambda: OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PUBLISHED).exists(),
        deadline=time.monotonic() + seconds,
    )
    message.refresh_from_db()
    assert message.state == OutboxState.PUBLISHED, message.last_error


def once(condition: Callable[[], object], *, then: float, action: Callable[[], None]) -> threading.Thread:
    """Run `action` `then` seconds after `condition` first holds (a disturbance timed on what the
    proxy saw, not on the clock, so a loaded machine does not move it)."""

    def run() -> None:
        if wait_for(condition, 10.0):
            time.sleep(then)
            action()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    return thread


def topics_of(sent: list[Sent]) -> list[str]:
    return sorted(s.topic for s in sent)


def test_a_broker_slow_to_puback_gets_each_publication_once_per_connection(
    alerts: AlertHandler, signing_key: Any, mqtt_proxy: MqttProxy, proxied: MqttLink, listen: Callable[..., Any]
) -> None:
    _platform, everything = listen(["rc/v1/down/#"])
    mqtt_proxy.hold = lambda sent: True  # no PUBACK for 2 s: several 0.3 s attempts time out meanwhile
    message = enqueue()
    released = once(lambda: len(mqtt_proxy.sent) >= 3, then=2.0, action=mqtt_proxy.release)
    run_until_published(proxied, message)
    released.join()

    assert mqtt_proxy.connections == 1
    assert topics_of(mqtt_proxy.sent) == TOPICS, "one copy per region topic, whatever the wait"
    assert not any(sent.dup for sent in mqtt_proxy.sent)
    assert message.attempts > 1, "attempts timed out while the PUBACKs were held"
    assert sorted(m.topic for m in everything.wait(3)) == TOPICS
    assert not wait_for(lambda: len(everything.messages) > 3, 0.5), "terminals got one copy each"
    assert alerts.published == [EBM]


def test_a_connection_lost_before_the_puback_is_republished_once_with_dup_after_reconnecting(
    alerts: AlertHandler, signing_key: Any, mqtt_proxy: MqttProxy, proxied: MqttLink, listen: Callable[..., Any]
) -> None:
    _platform, everything = listen(["rc/v1/down/#"])
    mqtt_proxy.hold = lambda sent: sent.connection == 1  # the broker got them; its PUBACKs never arrive
    message = enqueue()
    cut = once(lambda: len(mqtt_proxy.on(1)) >= 3, then=1.0, action=mqtt_proxy.cut)
    run_until_published(proxied, message)
    cut.join()

    assert mqtt_proxy.connections == 2
    first, second = mqtt_proxy.on(1), mqtt_proxy.on(2)
    assert topics_of(first) == TOPICS and not any(s.dup for s in first), "sent once on the first connection"
    assert topics_of(second) == TOPICS and all(s.dup for s in second), "once more, DUP set, after reconnecting"
    assert {s.payload for s in first + second} == {first[0].payload}, "identical bytes"
    received = everything.wait(6)
    assert sorted(m.topic for m in received) == sorted(TOPICS * 2)
    assert not wait_for(lambda: len(everything.messages) > 6, 0.5)


def test_after_a_reconnect_the_retained_state_goes_back_before_a_clearing_that_was_in_flight(
    alerts: AlertHandler,
    signing_key: Any,
    link: MqttLink,
    mqtt_proxy: MqttProxy,
    proxied: MqttLink,
    listen: Callable[..., Any],
) -> None:
    enqueue()
    assert dispatch_pending_once(publisher=link).published == 1  # the alert, retained
    clear = enqueue(kind="test.clear")
    mqtt_proxy.hold = lambda sent: sent.connection == 1 and not sent.payload  # the clearing's PUBACKs

    def clearing_sent() -> bool:
        return len([s for s in mqtt_proxy.on(1) if not s.payload]) >= 3

    cut = once(clearing_sent, then=1.0, action=mqtt_proxy.cut)
    run_until_published(proxied, clear)
    cut.join()

    second = mqtt_proxy.on(2)
    assert [bool(s.payload) for s in second] == [True] * 3 + [False] * 3, "the alert put back, then the clearing"
    assert [s.dup for s in second] == [False] * 3 + [True] * 3
    assert len([s for s in mqtt_proxy.on(1) if not s.payload]) == 3, "the clearing sent once on the first"
    _late, inbox = village_subscriber(listen)
    assert not wait_for(lambda: inbox.messages, 0.5), "the broker ends with the clearing, not the alert"


@pytest.mark.skipif(connection.vendor != "postgresql", reason="LISTEN/NOTIFY is PostgreSQL's")
def test_postgresql_notify_from_another_connection_wakes_the_listener() -> None:
    woken: list[bool] = []
    listener = PostgresListener(lambda: woken.append(True))
    listener.start()
    try:
        assert listener.listening.wait(5.0)
        woken.clear()
        wrapper = connections.create_connection("default")
        raw = wrapper.get_new_connection(wrapper.get_connection_params())
        raw.autocommit = True
        raw.execute(f"NOTIFY {OUTBOX_CHANNEL}")
        raw.close()
        assert wait_for(lambda: woken, 3.0)
    finally:
        listener.stop()
        listener.join(5.0)
