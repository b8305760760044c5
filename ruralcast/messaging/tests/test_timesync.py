"""The platform answers a terminal's time-sync question (docs/protocols.md §11, issue 12 item 7):
real mosquitto, the ingest worker, the outbox and the dispatcher; the answer is signed, names the
terminal's nonce and carries the platform's clock in milliseconds."""

import json
import time
from typing import Any

import pytest
from ruralcast_terminal.protocol import open_envelope

from ruralcast.messaging.client import Publication
from ruralcast.messaging.dispatcher import dispatch_pending_once
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.models import OutboxMessage
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.messaging.timesync import TIME_OUTBOX_KIND
from ruralcast.messaging.topics import terminal_topic, time_topic
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db


def test_a_question_gets_a_signed_answer_with_its_nonce_and_the_platforms_time(
    broker: Broker, terminal: Registration, listen: Any
) -> None:
    signing_key_generate(actor=None)
    broker.sync()
    me = terminal.terminal.code
    worker = IngestWorker(batch_seconds=0.05)
    worker.link.start(wait=5.0)
    device, inbox = listen([terminal_topic(me)], username=me, password=terminal.password, client_id=me)
    nonce, flood = "a1" * 16, "b2" * 16
    question = {"terminal": me, "nonce": nonce, "sent_ms": 1}
    device.publish_all([Publication(time_topic(me), json.dumps(question).encode())])
    device.publish_all([Publication(time_topic(me), json.dumps({**question, "nonce": flood}).encode())])
    device.publish_all([Publication(time_topic(me), json.dumps({**question, "nonce": "not hex"}).encode())])
    worker.run(until=lambda: worker.stats.received >= 3, deadline=time.monotonic() + 10)
    assert list(OutboxMessage.objects.filter(kind=TIME_OUTBOX_KIND).values_list("key", flat=True)) == [
        f"{me}:{nonce}"
    ], "one answer per terminal per interval; a malformed nonce gets none"

    before = int(time.time() * 1000)
    assert dispatch_pending_once().published == 1
    (message,) = inbox.wait(1)
    assert message.topic == terminal_topic(me) and not message.retain
    _, payload = open_envelope(message.payload, trust_list_build())  # signed by a key terminals trust
    assert (payload["kind"], payload["terminal"], payload["nonce"]) == ("time", me, nonce)
    assert before <= payload["time_ms"] <= int(time.time() * 1000)
