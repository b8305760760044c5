"""The terminal agent against a real mosquitto, real signatures and a FileSink that records what a
loudspeaker would have played. The terminal lives in 大十字社区 (522632100001, 古州镇, 榕江县); the
platform publishes on the county topic unless a test says otherwise."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import functools
import hashlib
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from ruralcast_terminal import protocol
from ruralcast_terminal.agent import Agent, AgentConfig, DedupeStore, alert_accept, region_topics
from ruralcast_terminal.protocol import TrustList
from ruralcast_terminal.sinks import CommandSink, FileSink, Playback, PlaybackError

from conftest import DRILL_PREAMBLE

pytestmark = pytest.mark.anyio

VILLAGE = "522632100001"
TERMINAL = f"6{VILLAGE}0314010401"


def config_for(broker, tmp_path: Path, trust: TrustList, **overrides: Any) -> AgentConfig:
    values: dict[str, Any] = {
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "trust": trust,
        "cache_dir": tmp_path / "cache",
        "broker_host": broker.host,
        "broker_port": broker.port,
        "sink": {"type": "file", "realtime": True},
        "reconnect_base": 0.05,
        "reconnect_cap": 0.3,
        "keepalive": 10,
    }
    values.update(overrides)
    return AgentConfig(**values)


@contextlib.asynccontextmanager
async def running(config: AgentConfig, **kw: Any) -> AsyncIterator[Agent]:
    agent = Agent(config, **kw)
    await agent.start()
    await agent.client.wait_connected(5)
    try:
        yield agent
    finally:
        await agent.stop()


def played(agent: Agent) -> list[tuple[str, str]]:
    """(event, ebm id) the FileSink recorded: start, end, stopped, drill_notice."""
    return [(e["event"], e["ebm_id"]) for e in cast(FileSink, agent.sink).events]


# --------------------------------------------------------------------------------------------
# The happy path and rules 2–6.


async def test_a_signed_alert_is_received_played_and_reported(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    payload = alert_payload(1)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(payload))
        await platform.wait_for(lambda: ("finished", "") in platform.events())
        assert platform.events(payload["ebm_id"]) == [("received", ""), ("started", ""), ("finished", "")]
        receipt = platform.receipts[0]
        assert receipt["terminal"] == TERMINAL
        assert datetime.fromisoformat(receipt["at"]).utcoffset() is not None
        assert played(agent) == [("start", payload["ebm_id"]), ("end", payload["ebm_id"])]
        started = cast(FileSink, agent.sink).events[0]
        # The sink got the audio from the message, checked and cached under its SHA-256.
        assert started["audio"].endswith(f"{payload['audio']['sha256']}.mp3")
        assert hashlib.sha256(Path(started["audio"]).read_bytes()).hexdigest() == payload["audio"]["sha256"]
        assert (started["volume"], started["drill"]) == (80, False)


async def test_the_terminal_subscribes_to_its_village_every_ancestor_and_the_root(mosquitto, tmp_path, platform_key):
    assert region_topics(VILLAGE) == [
        "rc/v1/down/r/000000000000/+",
        "rc/v1/down/r/520000000000/+",
        "rc/v1/down/r/522600000000/+",
        "rc/v1/down/r/522632000000/+",
        "rc/v1/down/r/522632100000/+",
        "rc/v1/down/r/522632100001/+",
    ]
    agent = Agent(config_for(mosquitto, tmp_path, platform_key.trust()))
    assert [t for t, _ in agent.client.subscriptions][-1] == f"rc/v1/down/t/{TERMINAL}"
    assert {q for _, q in agent.client.subscriptions} == {1}


async def test_an_alert_for_the_whole_country_reaches_the_village(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    payload = alert_payload(2, areas=["000000000000"])
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())):
        await platform.publish(platform_key.seal(payload), area="000000000000")
        await platform.wait_for(lambda: ("finished", "") in platform.events())


async def test_a_forged_signature_is_rejected_and_never_played(
    mosquitto, tmp_path, platform_key, alert_payload, Platform, PlatformKey
):
    impostor = PlatformKey(serial=platform_key.serial)  # same serial, another private key
    payload = alert_payload(3)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(impostor.seal(payload))
        await platform.wait_for(lambda: platform.receipts)
        await asyncio.sleep(0.2)
        assert platform.receipts == [
            {**platform.receipts[0], "ebm_id": payload["ebm_id"], "event": "rejected", "reason": "bad_signature"}
        ]
        assert played(agent) == []


async def test_a_tampered_payload_fails_the_signature(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    envelope = json.loads(platform_key.seal(alert_payload(4)))
    signed = json.loads(base64.b64decode(envelope["payload"]))
    signed["areas"] = ["000000000000"]  # widen the target after signing
    envelope["payload"] = base64.b64encode(protocol.canonical_json(signed)).decode()
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(json.dumps(envelope).encode())
        await platform.wait_for(lambda: platform.receipts)
        assert platform.events() == [("rejected", "bad_signature")]
        assert played(agent) == []


@pytest.mark.parametrize(
    ("trusted", "reason"),
    [("other", "unknown_key"), ("revoked", "revoked_key")],
)
async def test_keys_outside_the_trust_list_or_revoked_are_refused(
    mosquitto, tmp_path, platform_key, alert_payload, Platform, PlatformKey, trusted, reason
):
    trust = PlatformKey(serial="202611279999").trust() if trusted == "other" else platform_key.trust(revoked=True)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, trust)) as agent:
        await platform.publish(platform_key.seal(alert_payload(5)))
        await platform.wait_for(lambda: platform.receipts)
        assert platform.events() == [("rejected", reason)]
        assert played(agent) == []


async def test_an_expired_alert_is_rejected_expired(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    sent = datetime.now(UTC) - timedelta(hours=2)
    payload = alert_payload(6, sent=sent, expires=sent + timedelta(hours=1))
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(payload))
        await platform.wait_for(lambda: platform.receipts)
        assert platform.events(payload["ebm_id"]) == [("rejected", "expired")]
        assert played(agent) == []


async def test_an_alert_for_the_neighbouring_township_is_not_in_target(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    # Published on the county topic by mistake, addressed to 忠诚镇: the area check still holds.
    payload = alert_payload(7, areas=["522632101000"])
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(payload))
        await platform.wait_for(lambda: platform.receipts)
        assert platform.events() == [("rejected", "not_in_target")]
        assert played(agent) == []


async def test_garbage_is_rejected_malformed_and_a_cleared_retain_is_ignored(
    mosquitto, tmp_path, platform_key, Platform
):
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())):
        await platform.publisher.publish(f"rc/v1/down/r/522632000000/{'1' * 35}", b"", qos=1)
        await platform.publisher.publish(f"rc/v1/down/r/522632000000/{'2' * 35}", b"{not json", qos=1)
        await platform.wait_for(lambda: platform.receipts)
        await asyncio.sleep(0.2)
        assert [(r["ebm_id"], r["event"], r["reason"]) for r in platform.receipts] == [
            ("2" * 35, "rejected", "malformed")
        ]


# --------------------------------------------------------------------------------------------
# Rule 7: duplicates, also across a restart.


async def test_a_duplicate_delivery_is_ignored_without_a_second_play_or_receipt(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    envelope = platform_key.seal(alert_payload(8))
    config = config_for(mosquitto, tmp_path, platform_key.trust())
    async with Platform(mosquitto) as platform:
        async with running(config) as agent:
            await platform.publish(envelope, retain=True)
            await platform.wait_for(lambda: len(platform.receipts) == 3)
            await platform.publish(envelope, area="522632100000")  # the same alert on the township topic
            await asyncio.sleep(0.3)
            assert len(platform.receipts) == 3
            assert len(played(agent)) == 2
        # A restart gets the retained alert again: the store in the cache dir says it was handled.
        async with running(config) as agent:
            await asyncio.sleep(0.3)
            assert played(agent) == []
        assert len(platform.receipts) == 3


def test_the_dedupe_store_keeps_what_was_dealt_with_across_a_restart_and_forgets_after_expiry(
    tmp_path, platform_key, alert_payload
):
    path = tmp_path / "seen.json"
    trust = platform_key.trust()
    store = DedupeStore(path)
    done, interrupted = (platform_key.seal(alert_payload(n)) for n in (9, 90))
    alert_accept(done, trust=trust, village_code=VILLAGE, store=store)
    alert_accept(interrupted, trust=trust, village_code=VILLAGE, store=store)
    store.complete(alert_payload(9)["ebm_id"], "Alert")
    store.save()
    again = DedupeStore(path)
    with pytest.raises(protocol.Rejected) as duplicate:
        alert_accept(done, trust=trust, village_code=VILLAGE, store=again)
    assert duplicate.value.reason == "duplicate"
    alert_accept(interrupted, trust=trust, village_code=VILLAGE, store=again)  # not finished: again
    again.prune(datetime.now(UTC) + timedelta(days=3))
    assert len(again) == 0


async def test_an_alert_interrupted_by_a_restart_plays_again_from_the_start(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    long = alert_payload(91, seconds=30)
    config = config_for(mosquitto, tmp_path, platform_key.trust())
    async with Platform(mosquitto) as platform:
        await platform.publish(platform_key.seal(long), retain=True)
        async with running(config) as agent:
            await platform.wait_for(lambda: agent.playing == long["ebm_id"])
            await platform.wait_for(lambda: len(platform.events(long["ebm_id"])) >= 2)
        async with running(config) as agent:  # power came back; the retained alert arrives again
            await platform.wait_for(lambda: agent.playing == long["ebm_id"])
            # Receipts leave up to 20 ms after the decision (coalescing): wait for them, not the sink.
            await platform.wait_for(lambda: len(platform.events(long["ebm_id"])) >= 4)
        assert platform.events(long["ebm_id"]) == [("received", ""), ("started", "")] * 2


# --------------------------------------------------------------------------------------------
# Priority, cancel, update, drills.


async def test_a_cancel_stops_the_playing_alert_at_once(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    long = alert_payload(10, seconds=30)
    cancel = alert_payload(11, msg_type="Cancel", references=[long["ebm_id"]])
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(long))
        await platform.wait_for(lambda: agent.playing == long["ebm_id"])
        await platform.publish(platform_key.seal(cancel), topic_id=long["ebm_id"])  # replaces the retained original
        await platform.wait_for(lambda: ("cancelled", "") in platform.events(long["ebm_id"]), timeout=3)
        assert platform.events(long["ebm_id"]) == [("received", ""), ("started", ""), ("cancelled", "")]
        assert platform.events(cancel["ebm_id"]) == [("received", "")]
        assert played(agent) == [("start", long["ebm_id"]), ("stopped", long["ebm_id"])]
        assert agent.playing is None


async def test_a_cancelled_alert_that_arrives_later_is_not_played(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    original = alert_payload(12, seconds=0.1)
    cancel = alert_payload(13, msg_type="Cancel", references=[original["ebm_id"]])
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(cancel), topic_id=original["ebm_id"])
        await platform.publish(platform_key.seal(original), area="522632100000")  # late, via the township
        await platform.wait_for(lambda: len(platform.receipts) == 3)
        assert platform.events(original["ebm_id"]) == [("received", ""), ("cancelled", "already withdrawn")]
        assert played(agent) == []


async def test_a_more_severe_alert_preempts_and_the_other_plays_again_after(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    minor = alert_payload(14, severity=3, seconds=0.6)
    severe = alert_payload(15, severity=1, seconds=0.2)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(minor))
        await platform.wait_for(lambda: agent.playing == minor["ebm_id"])
        await platform.publish(platform_key.seal(severe))
        await platform.wait_for(lambda: ("finished", "") in platform.events(minor["ebm_id"]))
        m, s = minor["ebm_id"], severe["ebm_id"]
        assert played(agent) == [("start", m), ("stopped", m), ("start", s), ("end", s), ("start", m), ("end", m)]
        # One `started` per alert, even for the one that was interrupted and played again.
        assert platform.events(m) == [("received", ""), ("started", ""), ("finished", "")]
        assert platform.events(s) == [("received", ""), ("started", ""), ("finished", "")]


async def test_at_equal_severity_a_provincial_alert_preempts_a_county_one(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    county = alert_payload(18, severity=2, seconds=0.6)
    province = {**alert_payload(19, severity=2, seconds=0.2), "sender": "45200000000000101010101"}
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(county))
        await platform.wait_for(lambda: agent.playing == county["ebm_id"])
        await platform.publish(platform_key.seal(province))
        await platform.wait_for(lambda: ("finished", "") in platform.events(county["ebm_id"]))
        c, p = county["ebm_id"], province["ebm_id"]
        assert played(agent) == [("start", c), ("stopped", c), ("start", p), ("end", p), ("start", c), ("end", c)]


async def test_a_less_severe_alert_waits_for_the_playing_one(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    severe = alert_payload(16, severity=1, seconds=0.4)
    minor = alert_payload(17, severity=4, seconds=0.1)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(severe))
        await platform.wait_for(lambda: agent.playing == severe["ebm_id"])
        await platform.publish(platform_key.seal(minor))
        await platform.wait_for(lambda: ("finished", "") in platform.events(minor["ebm_id"]))
        assert played(agent) == [
            ("start", severe["ebm_id"]),
            ("end", severe["ebm_id"]),
            ("start", minor["ebm_id"]),
            ("end", minor["ebm_id"]),
        ]


async def test_an_update_replaces_the_playing_alert(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    original = alert_payload(18, seconds=30)
    update = alert_payload(19, msg_type="Update", references=[original["ebm_id"]], seconds=0.1)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(original))
        await platform.wait_for(lambda: agent.playing == original["ebm_id"])
        await platform.publish(platform_key.seal(update), topic_id=original["ebm_id"])
        await platform.wait_for(lambda: ("finished", "") in platform.events(update["ebm_id"]), timeout=3)
        assert platform.events(original["ebm_id"]) == [("received", ""), ("started", ""), ("cancelled", "superseded")]
        assert played(agent)[-2:] == [("start", update["ebm_id"]), ("end", update["ebm_id"])]


async def test_a_drill_is_announced_as_a_drill(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    exercise = alert_payload(20, status="Exercise")
    flagged = alert_payload(21, drill=True)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(exercise))
        await platform.publish(platform_key.seal(flagged))
        await platform.wait_for(lambda: platform.events().count(("finished", "")) == 2)
        events = cast(FileSink, agent.sink).events
        assert [e["event"] for e in events] == ["preamble", "start", "end", "drill_notice"] * 2
        assert all(e["drill"] for e in events)
        # The preamble played is the signed one, verified and cached by its SHA-256.
        preamble = Path(events[0]["preamble"])
        assert preamble.read_bytes() == DRILL_PREAMBLE and preamble.stem == exercise["preamble"]["sha256"]
        # The FileSink's file holds the same record, with timestamps.
        lines = [json.loads(x) for x in (tmp_path / "cache" / "played.jsonl").read_text().splitlines()]
        assert [x["event"] for x in lines] == [e["event"] for e in events]
        assert all(datetime.fromisoformat(x["at"]) for x in lines)


# --------------------------------------------------------------------------------------------
# Audio by URL.


class _Files(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def audio_server(tmp_path):
    root = tmp_path / "www"
    root.mkdir()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(_Files, directory=str(root)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


async def test_long_audio_is_fetched_by_url_and_checked_against_its_hash(
    mosquitto, tmp_path, platform_key, alert_payload, Platform, audio_server
):
    root, base = audio_server
    good, bad = b"long programme audio" * 1000, b"original audio"
    (root / "good.mp3").write_bytes(good)
    (root / "bad.mp3").write_bytes(b"replaced on the server")
    fetched = alert_payload(22, audio=good, inline=False, url=f"{base}/good.mp3")
    swapped = alert_payload(23, audio=bad, inline=False, url=f"{base}/bad.mp3")
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(fetched))
        await platform.wait_for(lambda: ("finished", "") in platform.events(fetched["ebm_id"]))
        assert Path(cast(FileSink, agent.sink).events[0]["audio"]).read_bytes() == good
        import ruralcast_terminal.agent as agent_module

        agent_module.AUDIO_RETRY_PAUSES = (0.05, 0.05, None)
        try:
            await platform.publish(platform_key.seal(swapped))
            await platform.wait_for(lambda: ("failed", "audio_failed") in platform.events(swapped["ebm_id"]))
        finally:
            agent_module.AUDIO_RETRY_PAUSES = (1.0, 4.0, None)
        assert platform.events(swapped["ebm_id"]) == [("received", ""), ("failed", "audio_failed")]


async def test_an_old_format_schedule_document_is_ignored_without_a_receipt_and_alerts_still_play(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    schedule = {"kind": "schedule", "version": 7, "terminal": "x", "entries": []}  # format 1 (per terminal)
    alert = alert_payload(26)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())):
        await platform.publish(platform_key.seal(schedule), topic_id="schedule")
        await platform.publish(platform_key.seal(alert))
        await platform.wait_for(lambda: ("finished", "") in platform.events(alert["ebm_id"]))
        assert {r["ebm_id"] for r in platform.receipts} == {alert["ebm_id"]}  # no `rejected` for the document


async def test_attached_audio_plays_and_a_swapped_attachment_fails_at_once(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    audio, other = b"attached spoken alert " * 200, b"another spoken alert " * 200
    good = alert_payload(24, audio=audio, attached=True)
    swapped = alert_payload(25, audio=other, attached=True)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(protocol.message_join(platform_key.seal(good), audio))
        await platform.wait_for(lambda: ("finished", "") in platform.events(good["ebm_id"]))
        assert Path(cast(FileSink, agent.sink).events[0]["audio"]).read_bytes() == audio
        # Same length, one byte changed: outside the signature, caught by the signed SHA-256, and
        # not retried (the message cannot get better), unlike a download. (Audio already in the
        # cache under its hash would be played from there: the attachment is then not needed.)
        await platform.publish(protocol.message_join(platform_key.seal(swapped), b"X" + other[1:]))
        await platform.wait_for(lambda: ("failed", "audio_failed") in platform.events(swapped["ebm_id"]), timeout=3)
        assert platform.events(swapped["ebm_id"]) == [("received", ""), ("failed", "audio_failed")]


# --------------------------------------------------------------------------------------------
# Being offline: retained alerts, broker restarts.


async def test_a_terminal_offline_at_publish_time_gets_the_valid_retained_alert_but_not_the_expired_one(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    valid = alert_payload(24)
    sent = datetime.now(UTC) - timedelta(hours=3)
    stale = alert_payload(25, sent=sent, expires=sent + timedelta(hours=1))
    async with Platform(mosquitto) as platform:
        await platform.publish(platform_key.seal(valid), retain=True)
        await platform.publish(platform_key.seal(stale), area="522632100000", retain=True)
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await platform.wait_for(lambda: ("finished", "") in platform.events(valid["ebm_id"]))
            await platform.wait_for(lambda: platform.events(stale["ebm_id"]))
            assert platform.events(stale["ebm_id"]) == [("rejected", "expired")]
            assert played(agent) == [("start", valid["ebm_id"]), ("end", valid["ebm_id"])]


async def test_the_agent_reconnects_after_the_broker_restarts(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    config = config_for(mosquitto, tmp_path, platform_key.trust())
    async with running(config) as agent:
        mosquitto.stop()
        await asyncio.sleep(0.2)
        assert not agent.client.is_connected
        mosquitto.start()
        await agent.client.wait_connected(10)
        assert agent.client.connects == 2
        async with Platform(mosquitto) as platform:
            payload = alert_payload(26)
            await platform.publish(platform_key.seal(payload))
            await platform.wait_for(lambda: ("finished", "") in platform.events(payload["ebm_id"]))


async def test_receipts_made_while_the_broker_is_down_arrive_after_it_returns(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    long = alert_payload(27, seconds=1.0)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(long))
        await platform.wait_for(lambda: agent.playing == long["ebm_id"])
        mosquitto.stop()
        await asyncio.sleep(1.3)  # playback finishes while the broker is away
        assert ("finished", "") in [(e, r) for (i, e, r) in agent.receipts if i == long["ebm_id"]]
        mosquitto.start()
        # The listener and the agent both reconnect; the agent resends `finished`.
        await platform.listener.connect()
        await platform.wait_for(lambda: ("finished", "") in platform.events(long["ebm_id"]))


# --------------------------------------------------------------------------------------------
# Sinks with a real player, the provisioning file and the command.


def _tone_mp3(path: Path, seconds: float) -> Path:
    subprocess.run(
        [
            "ffmpeg",
            "-nostdin",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"sine=frequency=880:duration={seconds}",
            "-b:a",
            "32k",
            str(path),
        ],
        check=True,
    )
    return path


# ffmpeg as the "player": it decodes into nothing, in real time with -re, like a sound card would.
FFMPEG_DECODE = ["ffmpeg", "-nostdin", "-loglevel", "error", "-i", "{file}", "-f", "null", "-"]
FFMPEG_PLAYER = [*FFMPEG_DECODE[:4], "-re", *FFMPEG_DECODE[4:]]


@pytest.mark.skipif(not (shutil.which("ffmpeg") and shutil.which("espeak-ng")), reason="needs ffmpeg and espeak-ng")
async def test_a_command_sink_plays_real_audio_and_wraps_a_drill_in_a_spoken_notice(tmp_path):
    audio = _tone_mp3(tmp_path / "alert.mp3", 0.3)
    sink = CommandSink(FFMPEG_DECODE, notice_dir=tmp_path / "notices")
    await sink.play(Playback(ebm_id="1" * 35, audio=audio, repeat=2, drill=True))
    for name in ("drill-intro.wav", "drill-outro.wav"):  # spoken by espeak-ng once, then cached
        assert (tmp_path / "notices" / name).stat().st_size > 1000
    with pytest.raises(PlaybackError):
        await sink.play(Playback(ebm_id="3" * 35, audio=tmp_path / "missing.mp3"))
    with pytest.raises(PlaybackError):
        await sink.play(Playback(ebm_id="4" * 35, audio=None))  # no audio and no text player


@pytest.mark.skipif(not shutil.which("ffmpeg"), reason="needs ffmpeg")
async def test_cancelling_a_command_sink_stops_the_player_process_at_once(tmp_path):
    audio = _tone_mp3(tmp_path / "long.mp3", 5)
    sink = CommandSink(FFMPEG_PLAYER)
    playing = asyncio.create_task(sink.play(Playback(ebm_id="2" * 35, audio=audio, repeat=3)))
    await asyncio.sleep(0.5)
    loop = asyncio.get_running_loop()
    started = loop.time()
    playing.cancel()
    with pytest.raises(asyncio.CancelledError):
        await playing
    assert loop.time() - started < 1.0
    assert not subprocess.run(["pgrep", "-f", str(audio)], capture_output=True).stdout  # no player left behind


@pytest.mark.parametrize(("value", "ok"), [(600, True), (604800, True), (599, False), (604801, False), ("1h", False)])
def test_the_freshness_window_is_a_provisioning_setting_within_bounds(tmp_path, platform_key, value, ok):
    data = {"terminal_id": TERMINAL, "village_code": VILLAGE, "cache_dir": "c", "trust": platform_key.trust().to_list()}
    assert AgentConfig.from_dict(data, base=tmp_path).freshness == timedelta(hours=24)  # the default
    if ok:
        assert (
            AgentConfig.from_dict({**data, "freshness_seconds": value}, base=tmp_path).freshness.total_seconds()
            == value
        )
    else:
        with pytest.raises(ValueError, match="freshness_seconds"):
            AgentConfig.from_dict({**data, "freshness_seconds": value}, base=tmp_path)


def test_the_provisioning_file_reads_as_json_or_toml(tmp_path, platform_key):
    (tmp_path / "trust.json").write_bytes(platform_key.trust().to_json())
    (tmp_path / "t.toml").write_text(
        f'terminal_id = "{TERMINAL}"\nvillage_code = "{VILLAGE}"\nbroker = "10.0.0.5:8883"\n'
        'username = "u"\npassword = "p"\ntrust_path = "trust.json"\ncache_dir = "cache"\n'
        'freshness_seconds = 3600\n[sink]\ntype = "command"\ncommand = ["aplay", "{file}"]\n'
    )
    config = AgentConfig.load(tmp_path / "t.toml")
    assert (config.broker_host, config.broker_port, config.username) == ("10.0.0.5", 8883, "u")
    assert config.cache_dir == tmp_path / "cache"
    assert config.freshness == timedelta(hours=1)
    assert config.trust == platform_key.trust()
    assert isinstance(Agent(config).sink, CommandSink)

    (tmp_path / "t.json").write_text(
        json.dumps(
            {
                "terminal_id": TERMINAL,
                "village_code": VILLAGE,
                "trust": platform_key.trust().to_list(),
                "cache_dir": "c",
            }
        )
    )
    assert AgentConfig.load(tmp_path / "t.json").trust == platform_key.trust()
    (tmp_path / "bad.json").write_text(
        json.dumps({"terminal_id": TERMINAL, "village_code": "52", "trust": [], "cache_dir": "c"})
    )
    with pytest.raises(ValueError):
        AgentConfig.load(tmp_path / "bad.json")


async def test_the_agent_command_runs_until_sigterm(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    config = {
        "terminal_id": TERMINAL,
        "village_code": VILLAGE,
        "broker": mosquitto.address,
        "trust": platform_key.trust().to_list(),
        "cache_dir": str(tmp_path / "cache"),
        "sink": {"type": "file", "path": "played.jsonl"},
    }
    (tmp_path / "terminal.json").write_text(json.dumps(config))
    async with Platform(mosquitto) as platform:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "ruralcast_terminal.cli",
            "agent",
            "--config",
            str(tmp_path / "terminal.json"),
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            # Retained, so it does not matter whether the agent has subscribed yet.
            payload = alert_payload(28)
            await platform.publish(platform_key.seal(payload), retain=True)
            await platform.wait_for(lambda: ("finished", "") in platform.events(payload["ebm_id"]), timeout=15)
        finally:
            proc.send_signal(signal.SIGTERM)
            _, err = await asyncio.wait_for(proc.communicate(), 10)
        assert proc.returncode == 0, err.decode()
        assert "played.jsonl" in os.listdir(tmp_path / "cache")


async def test_a_drill_it_cannot_announce_is_refused_whatever_its_audio(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    """Uploaded audio says nothing about a drill: without its signed preamble the terminal refuses
    to play it, and says why (issue 12 item 5)."""
    bare = alert_payload(22, status="Exercise", preamble=None)
    wrong = alert_payload(23, status="Test")
    wrong["preamble"]["inline"] = base64.b64encode(b"ID3 another clip").decode()  # not the signed hash
    real = alert_payload(24)  # Actual: no preamble needed, none played
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        for payload in (bare, wrong, real):
            await platform.publish(platform_key.seal(payload))
        await platform.wait_for(lambda: ("finished", "") in platform.events(real["ebm_id"]))
        await platform.wait_for(lambda: bool(platform.events(wrong["ebm_id"])))
        assert platform.events(bare["ebm_id"]) == [("rejected", "drill_preamble")]
        assert platform.events(wrong["ebm_id"]) == [("rejected", "drill_preamble")]
        assert [(e["event"], e["ebm_id"]) for e in cast(FileSink, agent.sink).events] == [
            ("start", real["ebm_id"]),
            ("end", real["ebm_id"]),
        ]
