"""The router on its own: message + terminal state → actions, with real signatures and no broker.

Each test reads as a step of the state machine in router.py's docstring. The terminal lives in
大十字社区 (522632100001); alerts come from 榕江县's platform (conftest.alert_payload).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from ruralcast_terminal import router, topics
from ruralcast_terminal.dedupe import DedupeStore
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.router import (
    REPORT_STATUS,
    SAVE,
    Ack,
    AdoptSchedule,
    AdoptTrust,
    Drop,
    Enqueue,
    Ignored,
    Prepare,
    Receipt,
    Run,
    Stop,
    TerminalState,
    TrustState,
)

from conftest import COUNTY, HOME_TERMINAL, HOME_VILLAGE, PlatformKey, alert_payload, ebm_id

TOPIC = topics.region_topic(COUNTY, ebm_id(1))  # an alert chain's topic


def state_for(key: PlatformKey, **fields: Any) -> TerminalState:
    return TerminalState(terminal_id=HOME_TERMINAL, village_code=HOME_VILLAGE, trust=TrustState(key.trust()), **fields)


def deliver(state: TerminalState, key: PlatformKey, payload: dict[str, Any]) -> list[router.Action]:
    return router.route(state, TOPIC, key.seal(payload))


def receipts(actions: list[router.Action]) -> list[tuple[str, str, str]]:
    return [(a.ebm_id, a.event, a.reason) for a in actions if isinstance(a, Receipt)]


def play_to_the_end(state: TerminalState, payload: dict[str, Any]) -> list[tuple[str, str, str]]:
    """What a player does with an accepted alert whose audio is fine: queue, take, finish."""
    ebm = payload["ebm_id"]
    assert router.audio_ready(state, payload, None) == [Enqueue(payload, None)]
    return receipts(router.took(state, ebm)) + receipts(router.ended(state, ebm, "finished"))


@pytest.fixture
def key() -> PlatformKey:
    return PlatformKey()


def test_an_accepted_alert_is_received_prepared_started_once_and_finished(key):
    state = state_for(key)
    alert = alert_payload(1)
    actions = deliver(state, key, alert)
    assert receipts(actions) == [(alert["ebm_id"], "received", "")]
    assert isinstance(actions[-1], Prepare) and actions[-1].payload == alert
    assert router.audio_ready(state, alert, None) == [Enqueue(alert, None)]
    assert receipts(router.took(state, alert["ebm_id"])) == [(alert["ebm_id"], "started", "")]
    router.requeued(state, alert["ebm_id"])  # pre-empted by a more urgent one
    assert router.took(state, alert["ebm_id"]) == []  # played again from the start: no second `started`
    assert router.ended(state, alert["ebm_id"], "finished") == [Receipt(alert["ebm_id"], "finished"), SAVE]
    assert state.store.seen(alert["ebm_id"], "Alert") and not state.active
    # Delivered again (a retained copy, another region topic): ignored, no receipt.
    assert deliver(state, key, alert) == [Ignored("alert", "duplicate", f"{alert['ebm_id']} Alert")]


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda: alert_payload(2, sent=datetime.now(UTC) - timedelta(hours=3), expires=datetime.now(UTC) - timedelta(hours=2)), "expired"),
        (lambda: alert_payload(3, sent=datetime.now(UTC) - timedelta(days=2), expires=datetime.now(UTC) + timedelta(hours=1)), "stale"),
        (lambda: alert_payload(4, areas=["522632101000"]), "not_in_target"),
        (lambda: {**alert_payload(5), "msg_type": "Cancel", "references": []}, "malformed"),
    ],
)  # fmt: skip
def test_a_refused_alert_gets_one_rejected_receipt_and_nothing_else(key, make, reason):
    payload = make()
    assert deliver(state_for(key), key, payload) == [Receipt(payload["ebm_id"], "rejected", reason)]


def test_a_forged_or_unknown_message_is_rejected_under_the_ebm_id_it_claims(key):
    payload = alert_payload(6)
    assert deliver(state_for(key), PlatformKey(serial=key.serial), payload) == [
        Receipt(payload["ebm_id"], "rejected", "bad_signature")
    ]
    assert deliver(state_for(key), PlatformKey(serial="202611279999"), payload) == [
        Receipt(payload["ebm_id"], "rejected", "unknown_key")
    ]
    assert router.route(state_for(key), TOPIC, b"") == []  # a cleared retained message


def test_off_an_alert_topic_a_message_failing_rules_1_to_4_gets_no_receipt(key):
    forged = PlatformKey(serial=key.serial).seal(alert_payload(6))
    for topic, what in [
        (topics.live_topic(COUNTY, "42"), "live"),
        (topics.command_topic(COUNTY, "c1"), "command"),
        (topics.trust_topic(), "trust"),
        (topics.terminal_topic(HOME_TERMINAL), "terminal"),
    ]:
        actions = router.route(state_for(key), topic, forged)
        assert [(type(a), a.what, a.reason) for a in actions] == [(Ignored, what, "bad_signature")]  # type: ignore[union-attr]
    # Garbage on an alert topic: rejected under the topic's EBM id (the payload names none).
    assert router.route(state_for(key), TOPIC, b"{not json") == [Receipt(ebm_id(1), "rejected", "malformed")]


@pytest.mark.parametrize("kind", ["x-weather-map", "firmware", "alarm"])
def test_a_verified_payload_of_a_kind_the_terminal_does_not_know_is_ignored_without_a_receipt(key, kind):
    payload = {**alert_payload(30), "kind": kind}
    signer = PlatformKey(serial="202611270009", usage="firmware") if kind == "firmware" else key
    state = TerminalState(
        terminal_id=HOME_TERMINAL,
        village_code=HOME_VILLAGE,
        trust=TrustState(TrustList([key.trusted(), *([signer.trusted()] if signer is not key else [])])),
    )
    actions = router.route(state, TOPIC, signer.seal(payload))
    assert [(type(a), a.reason) for a in actions] == [(Ignored, "unknown_kind")]  # type: ignore[union-attr]
    assert not state.store.seen(payload["ebm_id"], "Alert")


def test_an_update_that_comes_while_the_old_audio_loads_cancels_it_superseded(key):
    state = state_for(key)
    loading = alert_payload(31)
    deliver(state, key, loading)
    update = alert_payload(32, msg_type="Update", references=[loading["ebm_id"]])
    assert receipts(deliver(state, key, update)) == [(update["ebm_id"], "received", "")]
    assert router.audio_ready(state, loading, None) == [Receipt(loading["ebm_id"], "cancelled", "superseded"), SAVE]
    assert router.audio_failed(state, update) == [Receipt(update["ebm_id"], "failed", "audio_failed")]


def test_a_cancel_stops_the_playing_alert_and_the_receipt_follows_the_stop(key):
    state = state_for(key)
    long = alert_payload(7, seconds=30)
    deliver(state, key, long)
    router.audio_ready(state, long, None)
    router.took(state, long["ebm_id"])
    cancel = alert_payload(8, msg_type="Cancel", references=[long["ebm_id"]], audio=None)
    actions = deliver(state, key, cancel)
    assert actions == [Receipt(cancel["ebm_id"], "received"), Stop(long["ebm_id"], ""), SAVE]
    assert state.store.is_withdrawn(long["ebm_id"]) and state.store.seen(cancel["ebm_id"], "Cancel")
    assert receipts(router.ended(state, long["ebm_id"], "cancelled", "")) == [(long["ebm_id"], "cancelled", "")]


def test_an_update_supersedes_a_playing_alert_and_drops_a_queued_one_then_plays(key):
    state = state_for(key)
    playing, queued = alert_payload(9, seconds=30), alert_payload(10, seconds=30)
    for payload in (playing, queued):
        deliver(state, key, payload)
        router.audio_ready(state, payload, None)
    router.took(state, playing["ebm_id"])
    update = alert_payload(11, msg_type="Update", references=[playing["ebm_id"], queued["ebm_id"]])
    actions = deliver(state, key, update)
    assert actions[:5] == [
        Receipt(update["ebm_id"], "received"),
        Stop(playing["ebm_id"], "superseded"),
        Drop(queued["ebm_id"]),
        Receipt(queued["ebm_id"], "cancelled", "superseded"),
        SAVE,
    ]
    assert isinstance(actions[5], Prepare)  # the update itself goes on like an alert
    assert receipts(router.ended(state, playing["ebm_id"], "cancelled", "superseded")) == [
        (playing["ebm_id"], "cancelled", "superseded")
    ]
    assert play_to_the_end(state, update) == [(update["ebm_id"], "started", ""), (update["ebm_id"], "finished", "")]


def test_an_alert_whose_cancel_came_first_or_that_was_withdrawn_while_its_audio_loaded_never_plays(key):
    state = state_for(key)
    early, loading = alert_payload(12), alert_payload(13)
    cancel = alert_payload(14, msg_type="Cancel", references=[early["ebm_id"], loading["ebm_id"]], audio=None)
    deliver(state, key, loading)  # accepted, its audio on the way
    assert receipts(deliver(state, key, cancel)) == [(cancel["ebm_id"], "received", "")]
    assert receipts(deliver(state, key, early)) == [
        (early["ebm_id"], "received", ""),
        (early["ebm_id"], "cancelled", "already withdrawn"),
    ]
    assert router.audio_ready(state, loading, None) == [Receipt(loading["ebm_id"], "cancelled"), SAVE]


def test_audio_that_cannot_be_had_fails_and_is_tried_again_after_a_restart(key, tmp_path):
    state = state_for(key, store=DedupeStore(tmp_path / "seen.json"))
    alert = alert_payload(15)
    deliver(state, key, alert)
    assert router.audio_failed(state, alert) == [Receipt(alert["ebm_id"], "failed", "audio_failed")]
    state.store.save()
    restarted = state_for(key, store=DedupeStore(tmp_path / "seen.json"))
    assert receipts(deliver(restarted, key, alert)) == [(alert["ebm_id"], "received", "")]


def test_an_alert_that_expires_in_the_queue_fails_expired(key):
    state = state_for(key)
    alert = alert_payload(16)
    deliver(state, key, alert)
    router.audio_ready(state, alert, None)
    assert router.expired(state, alert["ebm_id"]) == [Receipt(alert["ebm_id"], "failed", "expired"), SAVE]


def test_a_drill_is_played_as_a_drill():
    assert router.playback_of(alert_payload(17, status="Exercise"), None).drill
    assert router.playback_of(alert_payload(18, drill=True), None).drill
    plain = router.playback_of(alert_payload(19, repeat=50, seconds=2), None)
    assert not plain.drill and plain.repeat == 10 and plain.remaining == 20


def test_every_rule_reads_the_states_clock(key):
    """One clock for every rule: the hardening work corrects it in one place (issue 12 item 7)."""
    alert = alert_payload(20)
    later = state_for(key, clock=lambda: datetime.now(UTC) + timedelta(hours=2))
    assert deliver(later, key, alert) == [Receipt(alert["ebm_id"], "rejected", "expired")]
    earlier = state_for(key, clock=lambda: datetime.now(UTC) - timedelta(minutes=10))
    assert deliver(earlier, key, alert) == [Receipt(alert["ebm_id"], "rejected", "stale")]


def trust_update(version: int, *keys: Any) -> dict[str, Any]:
    return {"kind": "trust", "version": version, "keys": TrustList(list(keys)).to_list()}


def test_a_newer_trust_list_vouched_for_is_adopted_and_then_its_new_key_signs_alerts(key):
    state = state_for(key)
    new = PlatformKey(serial="202611270002")
    alert = alert_payload(21)
    assert receipts(deliver(state, new, alert)) == [(alert["ebm_id"], "rejected", "unknown_key")]
    actions = deliver(state, key, trust_update(1, key.trusted(), new.trusted()))
    assert actions == [AdoptTrust(state.trust.keys, 1)] and state.trust.keys.get(new.serial) is not None
    assert receipts(deliver(state, new, alert_payload(22))) == [(alert_payload(22)["ebm_id"], "received", "")]
    assert deliver(state, key, trust_update(1, key.trusted()))[0] == Ignored(
        "trust", "not_adopted", "not newer, or its signer is not trusted in it"
    )
    assert deliver(state, new, trust_update(2, key.trusted(revoked=True)))[0].reason == "not_adopted"  # type: ignore[union-attr]
    assert state.trust.version == 1


def test_a_command_is_carried_out_once_acknowledged_and_refused_when_expired(key):
    state = state_for(key)
    now = datetime.now(UTC)

    def command(cid: str, name: str, params: dict[str, Any], **extra: Any) -> dict[str, Any]:
        return {
            "kind": "command", "id": cid, "command": name, "params": params, "sent": now.isoformat(),
            "expires": (now + timedelta(minutes=2)).isoformat(), "areas": [COUNTY], **extra,
        }  # fmt: skip

    assert deliver(state, key, command("c1", "volume", {"volume": 35})) == [Ack("c1", "done"), REPORT_STATUS]
    assert state.volume == 35
    assert deliver(state, key, command("c1", "volume", {"volume": 90}))[0] == Ignored("command", "duplicate", "c1")
    assert state.volume == 35
    expired = command("c2", "power", {"on": False}, expires=(now - timedelta(seconds=1)).isoformat())
    assert deliver(state, key, expired) == [Ack("c2", "rejected", "expired")]
    assert deliver(state, key, command("c3", "reboot", {})) == [Ack("c3", "done"), Run("c3", "reboot", {})]
    [ack] = deliver(state, key, command("c4", "time_sync", {}))
    assert isinstance(ack, Ack) and ack.detail.startswith("offset_ms=")
    elsewhere = command("c5", "volume", {"volume": 1}, areas=["522633000000"])
    assert isinstance(deliver(state, key, elsewhere)[0], Ignored)


def test_a_schedule_document_of_this_village_is_adopted_once_and_an_older_one_ignored(key):
    state = state_for(key)

    def document(version: int, village: str = HOME_VILLAGE) -> dict[str, Any]:
        return {"kind": "schedule", "format": 2, "version": version, "village": village, "entries": []}

    [adopted] = deliver(state, key, document(4))
    assert isinstance(adopted, AdoptSchedule) and state.schedule_version == 4
    assert deliver(state, key, document(3))[0].reason == "duplicate"  # type: ignore[union-attr]
    assert deliver(state, key, document(9, "522632100002"))[0].reason == "not_in_target"  # type: ignore[union-attr]
    assert state.schedule_version == 4


def test_live_voice_is_checked_with_the_terminals_own_memory(key):
    state = state_for(key)
    now_ms = int(datetime.now(UTC).timestamp() * 1000)
    start = {
        "kind": "live",
        "session": "s1",
        "event": "start",
        "seq": 0,
        "captured_ms": now_ms,
        "tier": 3,
        "areas": [COUNTY],
    }
    [accepted] = deliver(state, key, start)
    assert isinstance(accepted, router.Live) and accepted.session.session == "s1"
    assert deliver(state, key, start)[0] == Ignored("live", "duplicate", "live s1 seq 0 after 0")


def test_a_drill_without_its_signed_preamble_is_refused_and_a_real_alert_never_plays_one(key):
    bare = alert_payload(30, status="Exercise", preamble=None)
    assert deliver(state_for(key), key, bare) == [Receipt(bare["ebm_id"], "rejected", "drill_preamble")]
    real = alert_payload(31)
    real["preamble"] = alert_payload(32, drill=True)["preamble"]  # a preamble on a real alert: ignored
    assert router.playback_of(real, None, Path("/x.mp3")).preamble is None
    cancel = alert_payload(33, status="Exercise", msg_type="Cancel", references=[bare["ebm_id"]], preamble=None)
    assert deliver(state_for(key), key, cancel)[0] == Receipt(cancel["ebm_id"], "received")  # a Cancel plays nothing
