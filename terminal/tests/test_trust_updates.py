"""Signed trust-list updates (docs/protocols.md §6): how a revoked key stops working on devices.

The platform publishes the whole trust list, signed by its active key, retained on
`rc/v1/down/r/000000000000/trust`. A terminal adopts it only if it is newer than the one it holds
and the signing key is trusted both before and in the new list; it keeps it across restarts.
"""

from __future__ import annotations

import asyncio
import base64
import time
from typing import Any

import pytest
from ruralcast_terminal import crypto, protocol
from ruralcast_terminal.protocol import TrustList
from test_agent import config_for, running  # terminal/tests is on sys.path (rootdir-less test dir)

from conftest import alert_payload as make_alert
from conftest import ebm_id

pytestmark = pytest.mark.anyio

TRUST_TOPIC = "rc/v1/down/r/000000000000/trust"
NOW_MS = 1_800_000_000_000  # a fixed "now" for the pure rule tests


def trust_update(version: int, *keys: Any) -> dict[str, Any]:
    return {"kind": "trust", "version": version, "keys": TrustList(list(keys)).to_list()}


async def test_a_rotation_reaches_the_terminal_and_a_revoked_key_is_then_refused(
    mosquitto, tmp_path, alert_payload, Platform, PlatformKey
):
    old, new = PlatformKey(serial="202611270001"), PlatformKey(serial="202611270002")
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, old.trust())) as agent:
        # 1. The old key vouches for a list that adds the new one (generated, pending).
        await platform.publisher.publish(
            TRUST_TOPIC, old.seal(trust_update(1, old.trusted(), new.trusted())), qos=1, retain=True
        )
        await platform.wait_for(lambda: agent.trust_version == 1)
        # 2. After rotation the new key signs alerts, and they are played.
        first = alert_payload(1)
        await platform.publish(new.seal(first))
        await platform.wait_for(lambda: ("finished", "") in platform.events(first["ebm_id"]))
        # 3. The new key publishes the list with the old key revoked; the old key is refused from then on.
        await platform.publisher.publish(
            TRUST_TOPIC, new.seal(trust_update(2, old.trusted(revoked=True), new.trusted())), qos=1, retain=True
        )
        await platform.wait_for(lambda: agent.trust_version == 2)
        second = alert_payload(2)
        await platform.publish(old.seal(second))
        await platform.wait_for(lambda: platform.events(second["ebm_id"]))
        assert platform.events(second["ebm_id"]) == [("rejected", "revoked_key")]
        # 4. A replay of the older list (signed by the new key, which it also trusts) changes nothing.
        await platform.publisher.publish(TRUST_TOPIC, new.seal(trust_update(1, old.trusted(), new.trusted())), qos=1)
        await asyncio.sleep(0.3)
        assert agent.trust_version == 2 and agent.trust.get(old.serial).revoked  # type: ignore[union-attr]

    # The adopted list survives a restart of the agent.
    async with running(config_for(mosquitto, tmp_path, old.trust())) as restarted:
        assert restarted.trust_version == 2
        assert restarted.trust.get(old.serial).revoked  # type: ignore[union-attr]


async def test_an_unknown_key_cannot_push_a_trust_list(mosquitto, tmp_path, Platform, PlatformKey):
    trusted, stranger = PlatformKey(serial="202611270001"), PlatformKey(serial="202611279999")
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, trusted.trust())) as agent:
        await platform.publisher.publish(TRUST_TOPIC, stranger.seal(trust_update(5, stranger.trusted())), qos=1)
        alert = trusted.seal(make_alert(1))  # something the agent does answer, to know it has read both
        await platform.publish(alert)
        await platform.wait_for(lambda: ("finished", "") in platform.events())
        # Not on an alert topic: refused without a receipt (protocols.md §5), and not adopted.
        assert [r["ebm_id"] for r in platform.receipts] == [ebm_id(1)] * 3
        assert agent.trust_version == 0 and agent.trust.get(stranger.serial) is None


def test_a_key_cannot_vouch_for_a_list_that_revokes_it(PlatformKey):
    key = PlatformKey()
    assert (
        protocol.trust_update_apply(
            trust_update(3, key.trusted(revoked=True)),
            current=key.trust(),
            current_version=0,
            signer=key.serial,
            now_ms=NOW_MS,
        )
        is None
    )
    with pytest.raises(protocol.Rejected):
        protocol.trust_update_apply(
            {"kind": "trust", "version": "x", "keys": []},
            current=key.trust(),
            current_version=0,
            signer=key.serial,
            now_ms=NOW_MS,
        )


def handover(old: Any, new: Any, version: int, *keys: Any) -> dict[str, Any]:
    """The list `old` signs when it is revoked in favour of `new`, with `new`'s hand-over signature."""
    statement = protocol.handover_statement(from_serial=old.serial, to_serial=new.serial, version=version)
    signature = crypto.sign(new.alg, new.private, statement)
    return {**trust_update(version, *keys), "handover": {"to": new.serial, "sig": base64.b64encode(signature).decode()}}


def test_a_version_far_ahead_of_the_clock_is_refused_and_cannot_freeze_the_terminal(PlatformKey):
    stolen = PlatformKey()
    with pytest.raises(protocol.Rejected) as refused:
        protocol.trust_update_apply(
            trust_update(2**62, stolen.trusted()), current=stolen.trust(), current_version=0,
            signer=stolen.serial, now_ms=NOW_MS,
        )  # fmt: skip
    assert refused.value.reason == protocol.STALE
    # Within the documented bound it is adopted; one millisecond beyond it is not.
    ahead = NOW_MS + protocol.TRUST_VERSION_AHEAD_MS
    adopted = protocol.trust_update_apply(
        trust_update(ahead, stolen.trusted()), current=stolen.trust(), current_version=0,
        signer=stolen.serial, now_ms=NOW_MS,
    )  # fmt: skip
    assert adopted is not None and adopted[1] == ahead
    with pytest.raises(protocol.Rejected):
        protocol.trust_update_apply(
            trust_update(ahead + 1, stolen.trusted()), current=stolen.trust(), current_version=0,
            signer=stolen.serial, now_ms=NOW_MS,
        )  # fmt: skip


def test_a_cross_signed_hand_over_lets_the_revoked_key_vouch_for_its_successor(PlatformKey):
    old, new, forged = PlatformKey(), PlatformKey(serial="202611270002"), PlatformKey(serial="202611270003")
    update = handover(old, new, 5, old.trusted(revoked=True), new.trusted())
    adopted = protocol.trust_update_apply(
        update, current=old.trust(), current_version=0, signer=old.serial, now_ms=NOW_MS
    )
    assert adopted is not None
    trust, version = adopted
    assert version == 5 and trust.get(old.serial).revoked and not trust.get(new.serial).revoked  # type: ignore[union-attr]
    # The successor's signature must be over this very hand-over: another version, another key, none.
    for bad in (
        {**update, "handover": handover(old, new, 4)["handover"]},
        {**update, "handover": {**handover(old, forged, 5)["handover"], "to": new.serial}},
        {**update, "handover": {"to": old.serial, "sig": update["handover"]["sig"]}},
        {key: value for key, value in update.items() if key != "handover"},
    ):
        assert (
            protocol.trust_update_apply(bad, current=old.trust(), current_version=0, signer=old.serial, now_ms=NOW_MS)
            is None
        )


async def test_a_stolen_key_at_version_2_62_is_ignored_by_the_agent_and_the_next_genuine_list_adopted(
    mosquitto, tmp_path, alert_payload, Platform, PlatformKey
):
    key, successor = PlatformKey(), PlatformKey(serial="202611270002")
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, key.trust())) as agent:
        await platform.publisher.publish(TRUST_TOPIC, key.seal(trust_update(2**62, key.trusted())), qos=1)
        now_ms = int(time.time() * 1000)
        await platform.publisher.publish(
            TRUST_TOPIC, key.seal(handover(key, successor, now_ms, key.trusted(revoked=True), successor.trusted())),
            qos=1, retain=True,
        )  # fmt: skip
        await platform.wait_for(lambda: agent.trust_version == now_ms)
        alert = alert_payload(1)
        await platform.publish(successor.seal(alert))
        await platform.wait_for(lambda: ("finished", "") in platform.events(alert["ebm_id"]))
