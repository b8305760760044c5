"""Retained alerts survive a broker killed with SIGKILL between two autosaves: the dispatcher puts
back the retained state the platform last published (alerts and clearings) when it reconnects."""

import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from ruralcast.messaging.broker import AUTOSAVE_SECONDS
from ruralcast.messaging.client import MqttLink
from ruralcast.messaging.dispatcher import Dispatcher
from ruralcast.messaging.models import OutboxMessage, OutboxState, RetainedMessage
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.tests.test_dispatcher import (  # noqa: F401 — fixtures
    EBM,
    TARGETS,
    AlertHandler,
    alerts,
    dedupe,
    enqueue,
    link,
    signing_key,
    village_subscriber,
)
from ruralcast.messaging.topics import region_topic

pytestmark = pytest.mark.django_db


def published(message: OutboxMessage) -> Callable[[], bool]:
    return lambda: OutboxMessage.objects.filter(pk=message.pk, state=OutboxState.PUBLISHED).exists()


def kill_9_and_restart(broker: Broker) -> None:
    assert broker.process is not None
    broker.process.send_signal(signal.SIGKILL)
    broker.process.wait(5)
    broker.start()


def run_through_a_broker_crash(
    dispatcher: Dispatcher, mqtt: MqttLink, broker: Broker, done: Callable[[], bool]
) -> None:
    """Run the dispatcher until `done()`, then kill -9 the broker and restart it, and run on until the
    dispatcher has reconnected and put the retained state back."""
    crashed: list[float] = []

    def until() -> bool:
        if not crashed:
            if done():
                kill_9_and_restart(broker)
                crashed.append(time.monotonic())
            return False
        return mqtt.connects >= 2 and dispatcher.republished_for == mqtt.connects

    started = time.monotonic()
    dispatcher.run(until=until, deadline=time.monotonic() + 20)
    assert crashed, "the publication was not acknowledged"
    assert crashed[0] - started < AUTOSAVE_SECONDS, "killed before the broker's next autosave"
    assert dispatcher.republished_for == mqtt.connects >= 2


def test_a_retained_alert_acknowledged_just_before_a_broker_kill_9_is_retained_after_its_restart(
    alerts: AlertHandler,  # noqa: F811 — the fixtures imported above
    signing_key: Any,  # noqa: F811
    broker: Broker,
    link: MqttLink,  # noqa: F811
    listen: Callable[..., Any],
) -> None:
    message = enqueue()
    dispatcher = Dispatcher(link=link, poll=0.05, timeout=2.0)
    run_through_a_broker_crash(dispatcher, link, broker, published(message))
    assert sorted(RetainedMessage.objects.values_list("topic", flat=True)) == sorted(
        region_topic(code, EBM) for code in TARGETS
    )

    _late, inbox = village_subscriber(listen)
    late = inbox.wait(2)
    assert sorted(m.topic for m in late) == [region_topic("520000000000", EBM), region_topic("522632000000", EBM)]
    assert all(m.retain for m in late)
    assert [p["ebm_id"] for p in dedupe(late)] == [EBM]
    assert {m.payload for m in late} == {bytes(r.payload) for r in RetainedMessage.objects.all()}, "the same bytes"


def test_an_alert_cleared_after_the_brokers_last_save_does_not_come_back_after_a_kill_9(
    alerts: AlertHandler,  # noqa: F811 — the fixtures imported above
    signing_key: Any,  # noqa: F811
    broker: Broker,
    link: MqttLink,  # noqa: F811
    listen: Callable[..., Any],
) -> None:
    alert = enqueue()
    dispatcher = Dispatcher(link=link, poll=0.05, timeout=2.0)
    dispatcher.run(until=published(alert), deadline=time.monotonic() + 10)
    assert broker.process is not None
    saves = broker.log().count("Saving in-memory database")
    broker.process.send_signal(signal.SIGUSR1)  # mosquitto saves its state now: the alert is in it
    assert wait_for(lambda: broker.log().count("Saving in-memory database") > saves, 3.0)

    clear = enqueue(kind="test.clear")
    run_through_a_broker_crash(dispatcher, link, broker, published(clear))
    assert {bytes(p) for p in RetainedMessage.objects.values_list("payload", flat=True)} == {b""}

    _late, inbox = village_subscriber(listen)
    assert not wait_for(lambda: inbox.messages, 1.0), "the cleared alert is not retained any more"
