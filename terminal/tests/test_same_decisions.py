"""The agent and the simulator decide alike: one sequence of messages through a real mosquitto, one
real agent and one virtual terminal of the same village, and the receipts and acknowledgements of
each compared step by step (issue 14: every simulator figure is only honest if it decides as a device).

The sequence: an alert, a duplicate of it, an update of a playing alert (superseded), a cancel of a
playing alert, a cancel that arrives before its alert, a drill, an expired alert, a trust-list update
then an alert signed by the new key, and a command (and the status report that says its effect).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ruralcast_terminal import topics
from ruralcast_terminal.fleet_plan import TerminalSpec, terminal_id_for
from ruralcast_terminal.mqtt import Client
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.simulate import Fleet
from test_agent import config_for, running

from conftest import COUNTY, HOME_VILLAGE, receipts_of

pytestmark = pytest.mark.anyio

AGENT = terminal_id_for(HOME_VILLAGE, 1)
VIRTUAL = terminal_id_for(HOME_VILLAGE, 2)


async def until(predicate: Callable[[], bool], what: str, timeout: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not reached in {timeout} s: {what}")
        await asyncio.sleep(0.02)


def per_message(receipts: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
    """Each message's receipts in the order sent. Across messages the order is a matter of
    scheduling: an Update's `started` and the `cancelled superseded` of what it replaces leave from
    two tasks, and either may be first on a loaded machine; each message's own sequence is the rule."""
    sequences: dict[str, list[tuple[str, str]]] = {}
    for ebm_id, event, reason in receipts:
        sequences.setdefault(ebm_id, []).append((event, reason))
    return sequences


async def test_the_agent_and_a_virtual_terminal_send_the_same_receipts_for_the_same_messages(
    mosquitto, tmp_path, alert_payload, PlatformKey
):
    old, new = PlatformKey(serial="202611270001"), PlatformKey(serial="202611270002")
    heard: dict[str, list[tuple[str, str, str]]] = {AGENT: [], VIRTUAL: []}
    acks: dict[str, list[tuple[str, str, str]]] = {AGENT: [], VIRTUAL: []}
    volumes: dict[str, list[int]] = {AGENT: [], VIRTUAL: []}  # as each status report says, in order

    def uplink(message: Any) -> None:
        terminal, kind = topics.uplink_parse(message.topic) or ("", "")
        body = json.loads(message.payload)
        if kind == topics.RECEIPT:
            heard[terminal].extend((r["ebm_id"], r["event"], r["reason"]) for r in receipts_of(body))
        elif kind == topics.ACK:
            acks[terminal].append((body["id"], body["result"], body["detail"].split("=")[0]))
        elif kind == topics.STATUS and "volume" in body:
            volumes[terminal].append(body["volume"])

    listener = Client(
        "platform-uplinks", mosquitto.host, mosquitto.port,
        subscriptions=[(topics.uplink_filter(t), 1) for t in (topics.RECEIPT, topics.ACK, topics.STATUS)],
        on_message=uplink,
    )  # fmt: skip
    publisher = Client("platform-pub", mosquitto.host, mosquitto.port)
    await listener.connect()
    await publisher.connect()
    fleet = Fleet(
        [TerminalSpec(VIRTUAL, HOME_VILLAGE)],
        host=mosquitto.host,
        port=mosquitto.port,
        trust=old.trust(),
        real_playback=True,
        reports_status=True,
    )
    fleet.start()
    config = config_for(mosquitto, tmp_path, old.trust(), terminal_id=AGENT)

    async def send(payload: dict[str, Any], *, key: Any = old, topic: str | None = None, expect: int = 0) -> None:
        """Publish once for both; wait until each has sent `expect` more receipts, then that they agree."""
        counts = {t: len(r) for t, r in heard.items()}
        body = key.seal(payload)
        await publisher.publish(topic or topics.region_topic(COUNTY, payload.get("ebm_id", "x")), body, qos=1)
        await until(lambda: all(len(heard[t]) >= counts[t] + expect for t in heard), f"{expect} receipts each")
        await asyncio.sleep(0.15)  # nothing more arrives
        assert per_message(heard[AGENT]) == per_message(heard[VIRTUAL]), payload.get("ebm_id")

    async def played(payload: dict[str, Any]) -> None:
        """Wait for both to be playing it (`started`)."""
        started = (payload["ebm_id"], "started", "")
        await until(lambda: all(started in r for r in heard.values()), f"{payload['ebm_id']} playing")

    try:
        async with running(config) as agent:
            await until(lambda: fleet.connected == 1, "the virtual terminal connected")
            first = alert_payload(1, seconds=0.1)
            await send(first, expect=3)
            await send(first, topic=topics.region_topic("522632100000", first["ebm_id"]))  # duplicate: nothing

            superseded = alert_payload(2, seconds=30)
            await send(superseded, expect=2)
            await played(superseded)
            update = alert_payload(3, msg_type="Update", references=[superseded["ebm_id"]], seconds=0.1)
            await send(update, topic=topics.region_topic(COUNTY, superseded["ebm_id"]), expect=4)

            cancelled = alert_payload(4, seconds=30)
            await send(cancelled, expect=2)
            await played(cancelled)
            cancel = alert_payload(5, msg_type="Cancel", references=[cancelled["ebm_id"]], audio=None)
            await send(cancel, topic=topics.region_topic(COUNTY, cancelled["ebm_id"]), expect=2)

            late = alert_payload(6, seconds=0.1)
            await send(alert_payload(7, msg_type="Cancel", references=[late["ebm_id"]], audio=None), expect=1)
            await send(late, expect=2)

            await send(alert_payload(8, status="Exercise", seconds=0.1), expect=3)
            sent = datetime.now(UTC) - timedelta(hours=2)
            await send(alert_payload(9, sent=sent, expires=sent + timedelta(hours=1)), expect=1)

            rotation = {"kind": "trust", "version": 1, "keys": TrustList([old.trusted(), new.trusted()]).to_list()}
            await send(rotation, topic=topics.trust_topic())
            await until(lambda: agent.trust_version == 1 and fleet.trust.version == 1, "trust list adopted")
            await send(alert_payload(10, seconds=0.1), key=new, expect=3)

            now = datetime.now(UTC)
            command = {
                "kind": "command", "id": "cmd1", "command": "volume", "params": {"volume": 40}, "sent": now.isoformat(),
                "expires": (now + timedelta(minutes=2)).isoformat(), "areas": [HOME_VILLAGE],
            }  # fmt: skip
            await send(command, topic=topics.command_topic(HOME_VILLAGE, "cmd1"))
            await until(lambda: all(acks.values()), "both acknowledged")
            assert acks[AGENT] == acks[VIRTUAL] == [("cmd1", "done", "")]
            assert agent.volume == fleet.terminals[0].state.volume == 40
            # and each says so in the status report that follows the ack, not one interval later (issue 16)
            await until(lambda: all(v and v[-1] == 40 for v in volumes.values()), "the new volume reported")
    finally:
        await fleet.stop()
        await publisher.disconnect()
        await listener.disconnect()

    events = [(e, r) for _id, e, r in heard[VIRTUAL]]
    assert ("cancelled", "superseded") in events and ("cancelled", "already withdrawn") in events
    assert ("rejected", "expired") in events and ("rejected", "unknown_key") not in events
