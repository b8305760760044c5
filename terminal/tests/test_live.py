"""Live voice on the terminal (live.py) against a real mosquitto and real signatures: chunks of a
session in the target are played (through the jitter buffer into the live sink) and reported,
others are not; forged, replayed and late chunks are dropped; an emergency alert pre-empts live voice
(which is dropped) and a higher tier's live voice pre-empts a lower one's."""

from __future__ import annotations

import asyncio
import hashlib
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from ruralcast_terminal import live, priority, protocol
from ruralcast_terminal.live import LiveState, live_parse
from ruralcast_terminal.protocol import Rejected
from test_agent import config_for, running

pytestmark = pytest.mark.anyio

COUNTY_CODE = "522632000000"
VILLAGE_CODE = "522632100001"  # the agent's village (大十字社区)
NEXT_VILLAGE = "522632100002"


def live_message(
    key: Any,
    session: str,
    event: str,
    seq: int,
    *,
    areas: list[str] | None = None,
    tier: int = 3,
    audio: bytes = b"",
    captured_ms: int | None = None,
) -> bytes:
    payload: dict[str, Any] = {
        "kind": "live",
        "session": session,
        "event": event,
        "seq": seq,
        "captured_ms": int(time.time() * 1000) if captured_ms is None else captured_ms,
        "areas": areas or [COUNTY_CODE],
        "tier": tier,
        "codec": "audio/mpeg",
    }
    if event == "chunk":
        payload["duration_ms"] = 180
        payload["audio"] = {"attached": True, "bytes": len(audio), "sha256": hashlib.sha256(audio).hexdigest()}
        return protocol.message_join(key.seal(payload), audio)
    return key.seal(payload)


async def speak(
    platform: Any, key: Any, session: str, chunks: list[bytes], *, area: str = COUNTY_CODE, **kw: Any
) -> None:
    await platform.publish(
        live_message(key, session, "start", 1, areas=[area], **kw), area=area, topic_id=f"live-{session}"
    )
    for seq, audio in enumerate(chunks, start=2):
        message = live_message(key, session, "chunk", seq, areas=[area], audio=audio, **kw)
        await platform.publish(message, area=area, topic_id=f"live-{session}")


async def end(platform: Any, key: Any, session: str, seq: int, *, area: str = COUNTY_CODE, **kw: Any) -> None:
    await platform.publish(
        live_message(key, session, "end", seq, areas=[area], **kw), area=area, topic_id=f"live-{session}"
    )


def recorded(cache: Path, session: str) -> bytes:
    path = cache / "live" / f"live-{session}.mp3"
    return path.read_bytes() if path.exists() else b""


async def test_a_live_session_in_the_target_is_played_and_reported(mosquitto, tmp_path, platform_key, Platform):
    chunks = [bytes([n]) * 720 for n in range(1, 6)]
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await speak(platform, platform_key, "41", chunks)
        await platform.wait_for(lambda: agent.live.playing == "41")
        await end(platform, platform_key, "41", 7)
        await platform.wait_for(lambda: ("live_stopped", "end") in platform.events("live-41"))
        assert platform.events("live-41") == [("live_started", ""), ("live_stopped", "end")]
        assert recorded(tmp_path / "cache", "41") == b"".join(chunks)  # every chunk, in order
        assert agent.live.playing is None


async def test_a_session_for_the_next_village_is_not_played(mosquitto, tmp_path, platform_key, Platform):
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        # Published on the neighbour's own topic, which this terminal does not even subscribe to,
        # and on the county topic naming only the neighbour: neither plays here.
        await speak(platform, platform_key, "42", [b"a" * 720] * 3, area=NEXT_VILLAGE, tier=5)
        await platform.publish(
            live_message(platform_key, "43", "start", 1, areas=[NEXT_VILLAGE], tier=5), topic_id="live-43"
        )
        await asyncio.sleep(0.5)
        assert agent.live.playing is None
        assert platform.events() == []
        assert agent.live.rejected == ["not_in_target"]


async def test_forged_replayed_and_late_chunks_are_dropped(mosquitto, tmp_path, platform_key, Platform, PlatformKey):
    impostor = PlatformKey(serial=platform_key.serial)
    good = [b"g" * 720, b"h" * 720]
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await speak(platform, platform_key, "44", good)
        await platform.wait_for(lambda: agent.live.playing == "44")
        forged = live_message(impostor, "44", "chunk", 4, audio=b"F" * 720)
        await platform.publish(forged, topic_id="live-44")
        replay = live_message(platform_key, "44", "chunk", 3, audio=good[1])  # seq 3 was played already
        await platform.publish(replay, topic_id="live-44")
        late = live_message(
            platform_key, "44", "chunk", 5, audio=b"L" * 720, captured_ms=int(time.time() * 1000) - 60_000
        )
        await platform.publish(late, topic_id="live-44")
        swapped = bytearray(live_message(platform_key, "44", "chunk", 6, audio=b"s" * 720))
        swapped[-1] ^= 1  # the attachment no longer matches its signed hash
        await platform.publish(bytes(swapped), topic_id="live-44")
        await end(platform, platform_key, "44", 7)
        await platform.wait_for(lambda: ("live_stopped", "end") in platform.events("live-44"))
        assert recorded(tmp_path / "cache", "44") == b"".join(good)
        # The forged one failed the signature before live voice saw it: counted, and no receipt
        # (off an alert topic nothing is answered `rejected`, protocols.md §5).
        assert sorted(agent.live.rejected) == ["audio_failed", "bad_signature", "duplicate", "stale"]
        assert ("rejected", "bad_signature") not in platform.events()


async def test_an_emergency_alert_preempts_live_voice_which_is_dropped(
    mosquitto, tmp_path, platform_key, alert_payload, Platform
):
    alert = alert_payload(61, severity=2, seconds=0.4)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await speak(platform, platform_key, "45", [b"v" * 720] * 2)
        await platform.wait_for(lambda: agent.live.playing == "45")
        await platform.publish(platform_key.seal(alert))
        await platform.wait_for(lambda: ("live_stopped", "preempted") in platform.events("live-45"))
        await platform.wait_for(lambda: agent.playing == alert["ebm_id"])
        # The session goes on at the platform, but this loudspeaker dropped it: later chunks are not played.
        before = recorded(tmp_path / "cache", "45")
        late = live_message(platform_key, "45", "chunk", 4, audio=b"w" * 720)
        await platform.publish(late, topic_id="live-45")
        await platform.wait_for(lambda: ("finished", "") in platform.events(alert["ebm_id"]))
        assert recorded(tmp_path / "cache", "45") == before
        assert agent.live.playing is None
        assert platform.events("live-45") == [("live_started", ""), ("live_stopped", "preempted")]


async def test_live_voice_does_not_interrupt_an_alert(mosquitto, tmp_path, platform_key, alert_payload, Platform):
    alert = alert_payload(62, severity=4, seconds=0.6)
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await platform.publish(platform_key.seal(alert))
        await platform.wait_for(lambda: agent.playing == alert["ebm_id"])
        await speak(platform, platform_key, "46", [b"x" * 720] * 2, tier=0)  # even a national voice
        await platform.wait_for(lambda: ("finished", "") in platform.events(alert["ebm_id"]))
        assert platform.events("live-46") == []
        assert recorded(tmp_path / "cache", "46") == b""


async def test_a_higher_tier_live_voice_preempts_a_lower_one(mosquitto, tmp_path, platform_key, Platform):
    async with Platform(mosquitto) as platform, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await speak(platform, platform_key, "47", [b"t" * 720] * 2, area=VILLAGE_CODE, tier=5)  # the village speaks
        await platform.wait_for(lambda: agent.live.playing == "47")
        await speak(platform, platform_key, "48", [b"c" * 720] * 2, tier=3)  # the county cuts in
        await platform.wait_for(lambda: agent.live.playing == "48")
        await platform.wait_for(lambda: len(platform.events("live-47")) == 2)
        assert platform.events("live-47") == [("live_started", ""), ("live_stopped", "preempted")]
        await speak(platform, platform_key, "49", [b"u" * 720] * 2, area=VILLAGE_CODE, tier=5)  # the village again
        await asyncio.sleep(0.4)
        assert agent.live.playing == "48"  # a lower tier never interrupts a higher one
        assert platform.events("live-49") == []


def test_live_voice_outranks_the_programme_and_yields_to_alerts() -> None:
    village_live = priority.Claim(kind=priority.Kind.LIVE, tier=5)
    county_programme = priority.Claim(kind=priority.Kind.PROGRAMME, tier=3)
    drill = priority.alert_claim(severity=4, sender="45226320000000101010101", drill=True, seq=0)
    assert village_live.preempts(county_programme)
    assert drill.preempts(village_live)
    assert priority.after_preemption(village_live) is priority.AfterPreemption.DROP


def test_live_state_rules_without_a_broker() -> None:
    state = LiveState(village_code=VILLAGE_CODE, freshness_seconds=10)
    now = int(time.time() * 1000)
    base = {"kind": "live", "session": "7", "event": "chunk", "seq": 2, "captured_ms": now, "areas": [COUNTY_CODE],
            "tier": 3, "codec": "audio/mpeg", "audio": {"attached": True, "bytes": 3, "sha256": hashlib.sha256(b"abc").hexdigest()}}  # fmt: skip
    live_parse(base, b"abc")
    state.check(base, now_ms=now)
    with pytest.raises(Rejected) as again:
        state.check(base, now_ms=now)
    assert again.value.reason == "duplicate"
    with pytest.raises(Rejected) as late:
        state.check({**base, "seq": 3, "captured_ms": now - 11_000}, now_ms=now)
    assert late.value.reason == "stale"
    with pytest.raises(Rejected) as elsewhere:
        state.check({**base, "seq": 4, "areas": [NEXT_VILLAGE]}, now_ms=now)
    assert elsewhere.value.reason == "not_in_target"
    with pytest.raises(Rejected) as bad:
        live_parse({**base, "tier": 9}, b"abc")
    assert bad.value.reason == "malformed"
    with pytest.raises(Rejected) as swapped:
        live_parse(base, b"abd")
    assert swapped.value.reason == "audio_failed"
    assert live.receipt_id("7") == "live-7"


def _mp3(seconds: float) -> bytes:
    """A real MP3 stream as the platform sends it: 16 kHz mono, 32 kbit/s, no ID3 or Xing header."""
    return subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-ar", "16000", "-ac", "1", "-c:a", "libmp3lame", "-b:a", "32k", "-write_xing", "0", "-id3v2_version", "0",
         "-f", "mp3", "pipe:1"],
        capture_output=True, check=True,
    ).stdout  # fmt: skip


async def test_a_player_on_standard_input_plays_an_ended_session_to_its_end(tmp_path: Path) -> None:
    out = tmp_path / "heard.wav"
    # ffmpeg stands in for the loudspeaker's player: it decodes the stream into a WAV file.
    sink = live.CommandLiveSink(["ffmpeg", "-v", "error", "-f", "mp3", "-i", "pipe:0", "-y", str(out)])
    stream = _mp3(2.0)
    await sink.open("50")
    for start in range(0, len(stream), 720):
        await sink.write("50", stream[start : start + 720])
    await sink.close("50", drain=True)  # returns at once; the player finishes in the background
    await asyncio.wait_for(asyncio.gather(*sink.draining), 10)
    seconds = (out.stat().st_size - 44) / 2 / 16000
    assert 1.9 < seconds < 2.2  # everything it was given was played, nothing cut off


async def test_a_preempted_session_stops_the_player_at_once(tmp_path: Path) -> None:
    sink = live.CommandLiveSink(["ffmpeg", "-v", "error", "-re", "-f", "mp3", "-i", "pipe:0", "-f", "null", "-"])
    await sink.open("51")
    proc = sink._procs["51"]
    await sink.write("51", _mp3(5.0))
    started = time.monotonic()
    await sink.close("51", drain=False)
    assert proc.returncode is not None
    assert time.monotonic() - started < 2.5
