"""Signed trust-list updates (docs/protocols.md §6): how a revoked key stops working on devices.

The platform publishes the whole trust list, signed by its active key, retained on
`rc/v1/down/r/000000000000/trust`. A terminal adopts it only if it is newer than the one it holds
and the signing key is trusted both before and in the new list; it keeps it across restarts.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from ruralcast_terminal import protocol
from ruralcast_terminal.protocol import TrustList
from test_agent import config_for, running  # terminal/tests is on sys.path (rootdir-less test dir)

pytestmark = pytest.mark.anyio

TRUST_TOPIC = "rc/v1/down/r/000000000000/trust"


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
        await platform.wait_for(lambda: platform.receipts)
        assert platform.events() == [("rejected", "unknown_key")]
        assert agent.trust_version == 0 and agent.trust.get(stranger.serial) is None


def test_a_key_cannot_vouch_for_a_list_that_revokes_it(PlatformKey):
    key = PlatformKey()
    assert (
        protocol.trust_update_apply(
            trust_update(3, key.trusted(revoked=True)), current=key.trust(), current_version=0, signer=key.serial
        )
        is None
    )
    with pytest.raises(protocol.Rejected):
        protocol.trust_update_apply(
            {"kind": "trust", "version": "x", "keys": []}, current=key.trust(), current_version=0, signer=key.serial
        )
