"""The schedule topics against the real broker and the platform's ACL: a terminal reads its own
village's retained document (not a neighbour's), writes its playback logs, never a document."""

from typing import Any

import pytest

from ruralcast.messaging.client import Publication
from ruralcast.messaging.tests.conftest import Broker, wait_for
from ruralcast.messaging.topics import PLAYLOG, region_topic, uplink_topic
from ruralcast.terminals.services import Registration

pytestmark = pytest.mark.django_db


def test_a_terminal_reads_its_villages_retained_schedule_and_writes_only_its_playlog(
    broker: Broker, terminal: Registration, other_terminal: Registration, listen: Any
) -> None:
    broker.sync()
    me = terminal.terminal
    mine = region_topic(me.village_id, "schedule")
    theirs = region_topic(other_terminal.terminal.village_id, "schedule")
    platform, platform_inbox = listen(["rc/v1/up/+/playlog", "rc/v1/down/r/+/schedule"])
    platform.publish_all([Publication(mine, b"ours", retain=True), Publication(theirs, b"theirs", retain=True)])
    assert len(platform_inbox.wait(2)) == 2

    # Subscribed after the publication, as a terminal that comes back: the retained document arrives.
    link, inbox = listen(
        [f"rc/v1/down/r/{me.village_id}/+", f"rc/v1/down/r/{other_terminal.terminal.village_id}/+"],
        username=me.code, password=terminal.password, client_id=me.code,
    )  # fmt: skip
    assert [(m.topic, m.payload) for m in inbox.wait(1)] == [(mine, b"ours")]
    assert not wait_for(lambda: len(inbox.messages) > 1, 0.3)

    platform_inbox.messages.clear()
    link.publish_all([Publication(mine, b"forged", qos=1, retain=True)])  # refused by the ACL, dropped
    link.publish_all([Publication(uplink_topic(me.code, PLAYLOG), b'{"logs": []}', qos=1)])
    assert [m.topic for m in platform_inbox.wait(1)] == [uplink_topic(me.code, PLAYLOG)]
    assert not wait_for(lambda: len(platform_inbox.messages) > 1, 0.3)
