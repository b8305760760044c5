"""What a screen is shown of the messages on the region topics: prefix match, one per chain,
Cancel and cleared topics withdraw, expired ones drop out, forged ones change nothing. Messages are
sealed with a real Ed25519 key and opened against a trust list holding it (`hub.envelope_opener`)."""

from datetime import UTC, datetime, timedelta
from typing import Any

from ruralcast_terminal import crypto
from ruralcast_terminal.protocol import TrustedKey, TrustList, seal

from ruralcast.messaging.topics import region_topic, schedule_topic
from ruralcast.push.hub import Hub, envelope_opener
from ruralcast.push.state import PushState

EBM = "1" * 35
VILLAGE, NEIGHBOUR, TOWNSHIP = "522632001001", "522632001002", "522632001000"
SERIAL = "000000000001"
PRIVATE = crypto.generate_private_key("Ed25519")
FORGER = crypto.generate_private_key("Ed25519")
TRUST = TrustList([TrustedKey(SERIAL, "Ed25519", crypto.public_key_of("Ed25519", PRIVATE), usage=("broadcast",))])


def _state() -> PushState:
    return PushState(envelope_opener(lambda: TRUST))


def _alert(*, key: bytes = PRIVATE, **overrides: Any) -> bytes:
    payload = {
        "kind": "alert", "ebm_id": EBM, "status": "Actual", "msg_type": "Alert", "severity": 1, "areas": [TOWNSHIP],
        "title": "山洪", "text": "请转移", "sender_name": "榕江县", "expires": (datetime.now(UTC) + timedelta(hours=1)).isoformat(),
        "audio": {"url": "https://example.org/alerts/audio/ab.mp3"},
    }  # fmt: skip
    payload.update(overrides)
    return seal(payload, alg="Ed25519", serial=SERIAL, private_key=key)


def test_prefix_match_one_per_chain_and_withdrawal() -> None:
    state = _state()
    assert state.apply(region_topic(TOWNSHIP, EBM), _alert())
    assert state.apply(region_topic(VILLAGE, EBM), _alert(areas=[VILLAGE]))
    shown = state.for_region(VILLAGE)
    assert [a.chain for a in shown] == [EBM] and shown[0].audio_path == "/alerts/audio/ab.mp3"
    assert shown[0].drill is False and shown[0].colour == "red"
    assert state.for_region("522633001001") == []  # another county
    assert state.apply(region_topic(TOWNSHIP, EBM), _alert(msg_type="Cancel", ebm_id="2" * 35))
    assert state.apply(region_topic(VILLAGE, EBM), b"")  # the chain's retained topic cleared
    assert state.for_region(VILLAGE) == []


def test_a_neighbouring_villages_alert_is_not_shown() -> None:
    state = _state()
    state.apply(region_topic(NEIGHBOUR, EBM), _alert(areas=[NEIGHBOUR]))
    assert state.for_region(VILLAGE) == [] and len(state.for_region(NEIGHBOUR)) == 1


def test_refused_expired_and_other_topics_change_nothing() -> None:
    state = _state()
    assert not state.apply(region_topic(TOWNSHIP, EBM), _alert(key=FORGER)) and state.refused == 1
    assert not state.apply(region_topic(TOWNSHIP, EBM), b"not an envelope") and state.refused == 2
    assert state.for_region(VILLAGE) == []
    assert not state.apply(schedule_topic(VILLAGE), _alert())
    past = (datetime.now(UTC) - timedelta(seconds=1)).isoformat()
    state.apply(region_topic(TOWNSHIP, EBM), _alert(expires=past))
    assert state.for_region(VILLAGE) == []
    state.apply(region_topic(TOWNSHIP, EBM), _alert(status="Exercise"))
    assert state.for_region(VILLAGE)[0].drill is True


def test_regions_shown_the_same_list_share_one_frame() -> None:
    """`Hub.fan_out` encodes once per distinct list: the villages of one township alert get the
    same bytes object, the other county its own empty list (no broker needed for `_frames`)."""
    the_hub = Hub()
    the_hub.state = _state()
    the_hub.state.apply(region_topic(TOWNSHIP, EBM), _alert())
    frames = the_hub._frames({VILLAGE, NEIGHBOUR, "522633001001"})
    assert frames[VILLAGE] is frames[NEIGHBOUR] and frames[VILLAGE].startswith(b'data: {"alerts":[{')
    assert frames["522633001001"] == b'data: {"alerts":[]}\n\n'
