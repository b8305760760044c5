"""Multilingual alerts on the terminal (issue 15 item 1): payload version 2's `texts`, the
provisioned language preference, and the one rule the agent and the simulator share.

A Yi village's terminal prefers ["iii", "zho"]; the platform's alerts have Mandarin as primary.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from typing import Any, cast

import pytest
from ruralcast_terminal import router, topics
from ruralcast_terminal.config import AgentConfig
from ruralcast_terminal.fleet_plan import TerminalSpec, terminal_id_for
from ruralcast_terminal.languages import language_key, preference_of, texts_choose, texts_of
from ruralcast_terminal.mqtt import Client
from ruralcast_terminal.protocol import Rejected
from ruralcast_terminal.router import Prepare, Receipt, TerminalState, TrustState
from ruralcast_terminal.simulate import Fleet
from ruralcast_terminal.sinks import FileSink
from test_agent import config_for, running

from conftest import COUNTY, HOME_TERMINAL, HOME_VILLAGE, PlatformKey, alert_payload, ebm_id, receipts_of

YI_AUDIO = b"ID3 yi frames " * 10
ENGLISH_AUDIO = b"ID3 english frames " * 10


def _audio(raw: bytes, *, broken: bool = False) -> dict[str, Any]:
    """Inline audio; `broken`: its bytes do not match its SHA-256 (a terminal that takes it fails)."""
    return {
        "url": f"http://127.0.0.1:9/a/{hashlib.sha256(raw).hexdigest()}.mp3",
        "sha256": hashlib.sha256(raw).hexdigest(),
        "bytes": len(raw),
        "seconds": 0.1,
        "mime": "audio/mpeg",
        "inline": base64.b64encode(raw + (b"x" if broken else b"")).decode(),
        "attached": False,
    }


def bilingual(seq: int = 1, *, english_broken: bool = False, **kw: Any) -> dict[str, Any]:
    """Version 2: Mandarin (primary), Yi, English."""
    payload = alert_payload(seq, **kw)
    payload["payload_version"] = 2
    payload["texts"] = [
        {"language": "zho", "title": payload["title"], "text": payload["text"], "audio": payload["audio"]},
        {"language": "iii", "title": "ꀊꇁꂷ", "text": "ꀊꇁꂷꌠꅇꂘ。", "audio": _audio(YI_AUDIO)},
        {"language": "eng", "title": "Rainstorm", "text": "Move to safety.", "audio": _audio(ENGLISH_AUDIO, broken=english_broken)},
    ]  # fmt: skip
    return payload


def languages_of(texts: list[dict[str, Any]]) -> list[str]:
    return [item["language"] for item in texts]


# ---------------------------------------------------------------------------- the rule


@pytest.mark.parametrize(
    ("preference", "played"),
    [
        (("iii", "zho"), ["iii", "zho"]),  # a Yi village: Yi, then Mandarin
        (("zho",), ["zho"]),  # the default: Mandarin only
        (("eng", "iii"), ["eng", "iii"]),  # preference order, not the alert's order
        (("bod",), ["zho"]),  # none of its languages: the primary
        (("ii", "zh-CN"), ["iii", "zho"]),  # ISO 639-1 and region subtags name the same languages
    ],
)
def test_the_terminal_plays_its_preferred_languages_in_order_else_the_primary(preference, played):
    assert languages_of(texts_choose(bilingual(), preference)) == played


def test_a_version_one_alert_has_one_text_its_primary():
    payload = alert_payload(1)
    assert languages_of(texts_of(payload)) == ["zho"]
    assert languages_of(texts_choose(payload, ("iii", "eng"))) == ["zho"]


@pytest.mark.parametrize(
    "spoil",
    [
        lambda p: p.update(texts=[]),
        lambda p: p.update(texts="zho"),
        lambda p: p["texts"].append(dict(p["texts"][1])),  # Yi twice
        lambda p: p["texts"].reverse(),  # the primary is not first
        lambda p: p["texts"][1].pop("title"),
        lambda p: p.update(payload_version="2"),
    ],
)
def test_a_version_two_alert_with_bad_texts_is_malformed(spoil):
    payload = bilingual()
    spoil(payload)
    with pytest.raises(Rejected) as rejected:
        texts_of(payload)
    assert rejected.value.reason == "malformed"


def test_language_codes_compare_by_language_and_the_preference_is_checked():
    assert language_key("zh-CN") == language_key("cmn") == language_key("zho") == "zho"
    assert language_key("ii") == "iii"
    assert preference_of(None) == ("zho",)
    assert preference_of(["iii", "zho"]) == ("iii", "zho")
    with pytest.raises(ValueError):
        preference_of("iii")


def test_the_provisioning_file_carries_the_language_preference(tmp_path):
    key = PlatformKey()
    config = AgentConfig.from_dict(
        {"terminal_id": HOME_TERMINAL, "village_code": HOME_VILLAGE, "cache_dir": "c", "trust": key.trust().to_list(),
         "languages": ["iii", "zho"]},
        base=tmp_path,
    )  # fmt: skip
    assert config.languages == ("iii", "zho")


# ---------------------------------------------------------------------------- the router


def state_for(key: PlatformKey, languages: tuple[str, ...]) -> TerminalState:
    return TerminalState(
        terminal_id=HOME_TERMINAL, village_code=HOME_VILLAGE, trust=TrustState(key.trust()), languages=languages
    )


def test_the_router_prepares_the_preferred_languages_and_the_player_plays_them_in_turn():
    key = PlatformKey()
    state = state_for(key, ("iii", "zho"))
    payload = bilingual()
    actions = router.route(state, topics.region_topic(COUNTY, ebm_id(1)), key.seal(payload))
    assert actions[0] == Receipt(payload["ebm_id"], "received")
    prepare = actions[-1]
    assert isinstance(prepare, Prepare) and languages_of(prepare.texts) == ["iii", "zho"]
    (enqueue,) = router.audio_ready(state, payload, None, texts=prepare.texts, audios=[None, None])
    assert isinstance(enqueue, router.Enqueue)
    playback = router.playback_of(payload, enqueue.audio, None, enqueue.texts, enqueue.audios)
    assert playback.languages == ["iii", "zho"] and playback.title == "ꀊꇁꂷ"
    assert playback.remaining == pytest.approx(0.2)  # both languages, once


def test_an_old_payload_version_still_plays_and_bad_texts_are_rejected_as_malformed():
    key = PlatformKey()
    state = state_for(key, ("iii", "zho"))
    old = alert_payload(1)
    actions = router.route(state, topics.region_topic(COUNTY, old["ebm_id"]), key.seal(old))
    assert isinstance(actions[-1], Prepare) and languages_of(actions[-1].texts) == ["zho"]
    spoiled = bilingual(2)
    spoiled["texts"].reverse()
    actions = router.route(state, topics.region_topic(COUNTY, spoiled["ebm_id"]), key.seal(spoiled))
    assert actions == [Receipt(spoiled["ebm_id"], "rejected", "malformed")]


# ---------------------------------------------------------------------------- the agent, and the simulator alike


@pytest.mark.anyio
async def test_a_yi_village_terminal_plays_yi_then_mandarin_and_never_takes_the_english_audio(
    mosquitto, tmp_path, platform_key, Platform
):
    payload = bilingual(english_broken=True)  # a terminal that took the English audio would fail
    config = config_for(mosquitto, tmp_path, platform_key.trust(), languages=("iii", "zho"))
    async with Platform(mosquitto) as platform, running(config) as agent:
        await platform.publish(platform_key.seal(payload))
        await platform.wait_for(lambda: ("finished", "") in platform.events())
        assert platform.events(payload["ebm_id"]) == [("received", ""), ("started", ""), ("finished", "")]
        start = cast(FileSink, agent.sink).events[0]
        assert start["languages"] == ["iii", "zho"] and start["title"] == "ꀊꇁꂷ"
        assert start["audio"].endswith(f"{hashlib.sha256(YI_AUDIO).hexdigest()}.mp3")


@pytest.mark.anyio
async def test_the_agent_and_a_virtual_terminal_choose_the_same_languages(mosquitto, tmp_path, PlatformKey):
    """Receipts show the choice: the English audio is broken, so a terminal that chose English fails."""
    key = PlatformKey()
    agent_id, virtual_id = terminal_id_for(HOME_VILLAGE, 1), terminal_id_for(HOME_VILLAGE, 2)
    heard: dict[str, list[tuple[str, str, str]]] = {agent_id: [], virtual_id: []}

    def uplink(message: Any) -> None:
        terminal, kind = topics.uplink_parse(message.topic) or ("", "")
        if kind == topics.RECEIPT:
            body = json.loads(message.payload)
            heard[terminal].extend((r["ebm_id"], r["event"], r["reason"]) for r in receipts_of(body))

    listener = Client(
        "platform-uplinks", mosquitto.host, mosquitto.port,
        subscriptions=[(topics.uplink_filter(topics.RECEIPT), 1)], on_message=uplink,
    )  # fmt: skip
    publisher = Client("platform-pub", mosquitto.host, mosquitto.port)
    await listener.connect()
    await publisher.connect()
    fleet = Fleet(
        [TerminalSpec(virtual_id, HOME_VILLAGE, languages=("iii", "zho"))],
        host=mosquitto.host, port=mosquitto.port, trust=key.trust(), real_playback=True,
    )  # fmt: skip
    fleet.start()
    config = config_for(mosquitto, tmp_path, key.trust(), terminal_id=agent_id, languages=("iii", "zho"))
    try:
        async with running(config):
            for _ in range(200):
                if fleet.connected == 1:
                    break
                await asyncio.sleep(0.02)
            plays = bilingual(1, english_broken=True)  # Yi and Mandarin: fine
            fails = bilingual(2)
            fails["texts"][1]["audio"] = _audio(YI_AUDIO + b"2", broken=True)  # the Yi audio both take; not cached
            for payload in (plays, fails):
                await publisher.publish(topics.region_topic(COUNTY, payload["ebm_id"]), key.seal(payload), qos=1)
            for _ in range(500):
                if all(len(r) >= 5 for r in heard.values()):
                    break
                await asyncio.sleep(0.02)
            await asyncio.sleep(0.2)
    finally:
        await fleet.stop()
        await publisher.disconnect()
        await listener.disconnect()

    def per_message(receipts: list[tuple[str, str, str]]) -> dict[str, list[tuple[str, str]]]:
        found: dict[str, list[tuple[str, str]]] = {}
        for ebm, event, reason in receipts:
            found.setdefault(ebm, []).append((event, reason))
        return found

    assert per_message(heard[agent_id]) == per_message(heard[virtual_id])
    assert per_message(heard[agent_id]) == {
        ebm_id(1): [("received", ""), ("started", ""), ("finished", "")],
        ebm_id(2): [("received", ""), ("failed", "audio_failed")],
    }


@pytest.mark.anyio
async def test_the_command_sink_plays_each_chosen_language_in_every_repetition(tmp_path):
    """The player runs once per language per play: Yi, Mandarin, Yi, Mandarin for repeat 2."""
    import sys

    from ruralcast_terminal.sinks import CommandSink, Playback, Spoken

    log = tmp_path / "played.txt"
    script = f"import sys; open({str(log)!r}, 'a').write(sys.argv[1].rsplit('/', 1)[-1] + '\\n')"
    yi, mandarin = tmp_path / "yi.mp3", tmp_path / "zho.mp3"
    sink = CommandSink([sys.executable, "-c", script, "{file}"])
    await sink.play(
        Playback(ebm_id=ebm_id(1), language="iii", audio=yi, repeat=2, more=(Spoken(language="zho", audio=mandarin),))
    )
    assert log.read_text().split() == ["yi.mp3", "zho.mp3", "yi.mp3", "zho.mp3"]
