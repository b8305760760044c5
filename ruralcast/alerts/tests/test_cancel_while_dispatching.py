"""Cancelling an approved alert while a real dispatcher, in another thread and on its own database
connection, is preparing or publishing it (issue 12, item 3). Real mosquitto, real signatures.

Committed data (`transaction=True`): the dispatcher sees only what is committed, as in production.
A gate holds the dispatcher at one step (the signature, or the publication) while the cancel runs:
the component itself is real, only its timing is chosen.

PostgreSQL only: the test suite's SQLite database is in memory with a shared cache, where a
connection that meets another's write lock fails at once ("database table is locked") instead of
waiting as a file database in WAL mode does in production. On SQLite the same rules are held by
`test_lifecycle` (the withdrawal and the dispatcher's conditional store, one connection).
"""

import threading
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import timedelta
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from ruralcast_terminal.protocol import open_envelope

from ruralcast.accounts.models import User
from ruralcast.alerts.lifecycle import alert_cancel
from ruralcast.alerts.models import Alert, MsgType, State
from ruralcast.alerts.services import OUTBOX_DISPATCH, AlertFields, alert_create
from ruralcast.alerts.tests.conftest import approve, submitted
from ruralcast.messaging.client import MqttLink, Publication, platform_client_id
from ruralcast.messaging.dispatcher import Dispatcher, payload_sign
from ruralcast.messaging.models import OutboxMessage, OutboxState
from ruralcast.messaging.tests.conftest import Broker, broker, listen, mqtt_settings, run_dir, wait_for  # noqa: F401
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.slow,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="two connections at once: PostgreSQL (see above)"),
]


class Gate:
    """Holds a thread at one point until the test opens it."""

    def __init__(self) -> None:
        self.reached = threading.Event()
        self.opened = threading.Event()

    def hold(self) -> None:
        self.reached.set()
        assert self.opened.wait(20), "the test never opened the gate"


class HeldLink(MqttLink):
    """The dispatcher's real MQTT link; its first publication waits at the gate."""

    def __init__(self, gate: Gate) -> None:
        super().__init__(client_id=platform_client_id("held-dispatcher"), reconnect_base=0.1, reconnect_cap=0.3)
        self.gate = gate

    def publish_all(self, publications: Sequence[Publication], *, timeout: float = 10.0) -> None:
        if not self.gate.reached.is_set():
            self.gate.hold()
        super().publish_all(publications, timeout=timeout)


@pytest.fixture
def running() -> Iterator[Callable[[Dispatcher], None]]:
    """Start a dispatcher in its own thread (closing its database connection when it ends)."""
    started: list[tuple[Dispatcher, threading.Thread]] = []

    def start(dispatcher: Dispatcher) -> None:
        def run() -> None:
            try:
                dispatcher.run(deadline=time.monotonic() + 60)
            finally:
                connection.close()

        thread = threading.Thread(target=run, name="test-dispatcher", daemon=True)
        thread.start()
        started.append((dispatcher, thread))

    yield start
    for dispatcher, thread in started:
        dispatcher.stop()
        thread.join(15)


def _approved(operator: User, approver: User, issuer: Region, target: Region) -> Alert:
    now = timezone.now()
    fields = AlertFields(
        status="Exercise", event_code="11B03", severity=2, title="暴雨橙色预警演练", text="请注意防范。",
        onset=now, expires=now + timedelta(hours=1), targets=[target],
    )  # fmt: skip
    alert = alert_create(actor=operator, issuer_region=issuer, fields=fields)
    return approve(submitted(alert, operator), approver)


def _kinds(messages: list[Any]) -> list[str]:
    trust = trust_list_build()
    return [str(open_envelope(m.payload, trust)[1]["msg_type"]) for m in messages if m.payload]


def test_a_cancel_while_the_dispatcher_signs_stops_the_alert_before_any_byte_is_sent(
    broker: Broker,  # noqa: F811
    listen: Callable[..., Any],  # noqa: F811
    running: Callable[[Dispatcher], None],
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
) -> None:
    signing_key_generate(actor=None)
    _platform, everything = listen(["rc/v1/down/#"])
    gate = Gate()

    def held_sign(payload: dict[str, Any]) -> bytes:
        gate.hold()
        return payload_sign(payload)

    alert = _approved(county_station_operator, county_alert_approver, rongjiang, guzhou)
    running(Dispatcher(sign=held_sign, poll=0.05, timeout=2.0))
    assert gate.reached.wait(10), "the dispatcher picked the row up"

    stopped = alert_cancel(actor=county_station_operator, alert=alert)  # while it signs
    gate.opened.set()

    assert stopped.state == State.WITHDRAWN
    row = OutboxMessage.objects.get(kind=OUTBOX_DISPATCH, key=alert.ebm_id)
    assert not wait_for(lambda: everything.messages, 1.5), "nothing may reach the broker"
    row.refresh_from_db()
    assert row.state == OutboxState.WITHDRAWN and row.prepared_at is None
    assert not Alert.objects.filter(msg_type=MsgType.CANCEL).exists()


def test_a_cancel_while_the_dispatcher_publishes_is_followed_by_the_cancel_on_every_topic(
    broker: Broker,  # noqa: F811
    listen: Callable[..., Any],  # noqa: F811
    running: Callable[[Dispatcher], None],
    county_station_operator: User,
    county_alert_approver: User,
    rongjiang: Region,
    guzhou: Region,
) -> None:
    signing_key_generate(actor=None)
    gate = Gate()
    alert = _approved(county_station_operator, county_alert_approver, rongjiang, guzhou)
    dispatcher = Dispatcher(link=HeldLink(gate), poll=0.05, timeout=2.0)
    running(dispatcher)
    assert gate.reached.wait(10), "the dispatcher is about to publish"

    cancel = alert_cancel(actor=county_station_operator, alert=alert)  # its bytes may be out: cancel them
    gate.opened.set()
    alert.refresh_from_db()
    assert alert.state == State.DISPATCHED and cancel.msg_type == MsgType.CANCEL
    row = OutboxMessage.objects.get(kind=OUTBOX_DISPATCH, key=alert.ebm_id)
    assert wait_for(lambda: OutboxMessage.objects.get(pk=row.pk).state == OutboxState.WITHDRAWN, 5)

    approve(cancel, county_alert_approver)
    assert wait_for(lambda: Alert.objects.get(pk=cancel.pk).state == State.DISPATCHED, 15)
    alert.refresh_from_db()
    assert alert.state == State.CANCELLED
    # What a terminal that connects now reads on the alert's topic: the Cancel, not the alert.
    _late, inbox = listen([f"rc/v1/down/r/{guzhou.code}/+"], client_id="late-terminal")
    assert wait_for(lambda: inbox.messages, 3)
    assert _kinds(inbox.messages) == ["Cancel"]
