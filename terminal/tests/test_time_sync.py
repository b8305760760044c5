"""Signed round-trip time sync (docs/protocols.md §11, issue 12 item 7) with the real agent and
mosquitto: a device clock 10 minutes slow or fast (injected into the agent, never the machine's
clock) would refuse a fresh alert as stale or expired; after the signed answer to its own nonce it
judges against corrected time and plays it. A replayed answer (old or wrong nonce) sets nothing."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from ruralcast_terminal.mqtt import Client
from ruralcast_terminal.router import TerminalState, TrustState, route
from ruralcast_terminal.timesync import MAX_ROUND_TRIP_MS
from test_agent import TERMINAL, config_for, running

from conftest import HOME_TERMINAL, HOME_VILLAGE, PlatformKey

pytestmark = pytest.mark.anyio


def answer(terminal: str, nonce: str, time_ms: int) -> dict[str, Any]:
    return {"kind": "time", "terminal": terminal, "nonce": nonce, "time_ms": time_ms}


@pytest.mark.parametrize("skew_minutes", [-10, 10])
async def test_a_skewed_terminal_plays_a_fresh_alert_once_its_clock_is_corrected(
    skew_minutes, mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    questions: list[dict[str, Any]] = []
    asker = Client(
        "platform-time", mosquitto.host, mosquitto.port,
        subscriptions=[("rc/v1/up/+/time", 1)], on_message=lambda m: questions.append(json.loads(m.payload)),
    )  # fmt: skip
    await asker.connect()
    skew = skew_minutes * 60
    now = datetime.now(UTC).replace(microsecond=0)
    try:
        config = config_for(mosquitto, tmp_path, platform_key.trust(), clock_offset_seconds=skew)
        async with Platform(mosquitto) as platform, running(config) as agent:
            # Uncorrected, the fresh alert (expiring in 4 minutes) is refused.
            before = alert_payload(1, sent=now, expires=now + timedelta(minutes=4))
            await platform.publish(platform_key.seal(before))
            await platform.wait_for(lambda: platform.events(before["ebm_id"]))
            assert platform.events(before["ebm_id"]) == [("rejected", "stale" if skew < 0 else "expired")]

            await platform.wait_for(lambda: bool(questions))
            question = questions[-1]
            assert question["terminal"] == TERMINAL and len(question["nonce"]) == 32
            down = f"rc/v1/down/t/{TERMINAL}"
            # A replayed answer to another nonce cannot set the clock.
            stale = platform_key.seal(answer(TERMINAL, "0" * 32, int(time.time() * 1000)))
            await platform.publisher.publish(down, stale, qos=1)
            await platform.publisher.publish(
                down, platform_key.seal(answer(TERMINAL, question["nonce"], int(time.time() * 1000))), qos=1
            )
            await platform.wait_for(lambda: agent.state.time.round_trip_ms is not None)
            assert abs(agent.state.time.offset_ms + skew * 1000) < 2000
            corrected = agent.state.time.offset_ms
            # The same answer again (its nonce is spent) changes nothing, whatever time it carries.
            await platform.publisher.publish(
                down, platform_key.seal(answer(TERMINAL, question["nonce"], int(time.time() * 1000) + 3_600_000)), qos=1
            )

            after = alert_payload(2, sent=now, expires=now + timedelta(minutes=4))
            await platform.publish(platform_key.seal(after))
            await platform.wait_for(lambda: ("finished", "") in platform.events(after["ebm_id"]))
            assert agent.state.time.offset_ms == corrected
            assert abs((agent.state.now() - datetime.now(UTC)).total_seconds()) < 2
    finally:
        await asker.disconnect()


def test_only_the_answer_to_the_outstanding_nonce_within_the_round_trip_bound_sets_the_clock():
    key = PlatformKey()
    device = [1_800_000_000_000]
    clock = lambda: datetime.fromtimestamp(device[0] / 1000, UTC)  # noqa: E731
    state = TerminalState(
        terminal_id=HOME_TERMINAL, village_code=HOME_VILLAGE, trust=TrustState(key.trust()), clock=clock
    )
    topic = f"rc/v1/down/t/{HOME_TERMINAL}"
    nonce = json.loads(state.time.request(terminal_id=HOME_TERMINAL, device_ms=device[0]))["nonce"]
    device[0] += 400  # the answer arrives 400 ms later; the platform stamped 600 s behind the device
    platform_ms = device[0] - 600_000 - 200
    for wrong in (answer("other", nonce, platform_ms), answer(HOME_TERMINAL, "f" * 32, platform_ms)):
        assert route(state, topic, key.seal(wrong))[0].reason == "not_adopted"  # type: ignore[union-attr]
    assert state.time.offset_ms == 0
    assert route(state, topic, key.seal(answer(HOME_TERMINAL, nonce, platform_ms)))[0].reason == "clock_set"  # type: ignore[union-attr]
    assert state.time.offset_ms == platform_ms + 200 - device[0] == -600_000
    # Too slow an answer says too little: refused.
    nonce = json.loads(state.time.request(terminal_id=HOME_TERMINAL, device_ms=device[0]))["nonce"]
    device[0] += MAX_ROUND_TRIP_MS + 1
    assert route(state, topic, key.seal(answer(HOME_TERMINAL, nonce, device[0])))[0].reason == "not_adopted"  # type: ignore[union-attr]
    assert state.time.offset_ms == -600_000
