"""The daily programme on a terminal: real mosquitto, real signatures, audio over HTTP, a FileSink.

Schedules are built a few seconds ahead so the entries play during the test; the platform side
publishes the signed document retained on the village's region topic as the dispatcher does, and
listens to the playlog uplinks.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import http.server
import json
import threading
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, cast

import pytest
from ruralcast_terminal.agent import Agent, AgentConfig
from ruralcast_terminal.mqtt import Client
from ruralcast_terminal.playout import PLAYLOG_FILE, schedule_check
from ruralcast_terminal.protocol import Rejected, TrustList
from ruralcast_terminal.sinks import FileSink

pytestmark = pytest.mark.anyio

VILLAGE = "522632100001"
NEIGHBOUR = "522632100002"
TERMINAL = f"6{VILLAGE}0314010401"
SCHEDULE_TOPIC = f"rc/v1/down/r/{VILLAGE}/schedule"


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


def publish_audio(root: Path, base: str, content: bytes) -> dict[str, Any]:
    sha256 = hashlib.sha256(content).hexdigest()
    (root / f"{sha256}.mp3").write_bytes(content)
    return {"url": f"{base}/{sha256}.mp3", "sha256": sha256, "bytes": len(content), "seconds": 1, "mime": "audio/mpeg"}


def entry(start: datetime, audio: dict[str, Any], *, slot: int = 1, ms: int = 400, tier: int = 3) -> dict[str, Any]:
    return {
        "start": start.isoformat(timespec="milliseconds"),
        "ms": ms,
        "title": f"slot {slot}",
        "item": slot,
        "audio": audio,
        "volume": 70,
        "tier": tier,
        "region": "522632000000",
        "schedule": 1,
        "slot": slot,
    }


def document(version: int, entries: list[dict[str, Any]], *, village: str = VILLAGE) -> dict[str, Any]:
    return {
        "kind": "schedule",
        "format": 2,
        "version": version,
        "village": village,
        "timezone": "Asia/Shanghai",
        "from": datetime.now(UTC).date().isoformat(),
        "days": 3,
        "entries": entries,
    }


def soon(seconds: float) -> datetime:
    return (datetime.now(UTC) + timedelta(seconds=seconds)).astimezone()


def config_for(broker, tmp_path: Path, trust: TrustList) -> AgentConfig:
    return AgentConfig(
        terminal_id=TERMINAL,
        village_code=VILLAGE,
        trust=trust,
        cache_dir=tmp_path / "cache",
        broker_host=broker.host,
        broker_port=broker.port,
        sink={"type": "file", "realtime": True},
        reconnect_base=0.05,
        reconnect_cap=0.3,
        keepalive=10,
        status_interval=0,
    )


@contextlib.asynccontextmanager
async def running(config: AgentConfig, *, connected: bool = True) -> AsyncIterator[Agent]:
    agent = Agent(config)
    await agent.start()
    if connected:
        await agent.client.wait_connected(5)
    try:
        yield agent
    finally:
        await agent.stop()


class Station:
    """The platform's side: publishes retained documents, collects playlogs."""

    def __init__(self, broker) -> None:
        self.broker = broker
        self.logs: list[dict[str, Any]] = []
        self.messages = 0
        self.publisher = Client("station-pub", broker.host, broker.port)
        self.listener = Client(
            "station-playlogs", broker.host, broker.port, clean_session=False,
            subscriptions=[("rc/v1/up/+/playlog", 1)], on_message=self._playlog,
        )  # fmt: skip

    def _playlog(self, message) -> None:
        self.messages += 1
        body = json.loads(message.payload)
        assert body["terminal"] == message.topic.split("/")[3]
        self.logs.extend(body["logs"])

    async def __aenter__(self) -> Station:
        await self.publisher.connect()
        await self.listener.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        with contextlib.suppress(Exception):
            await self.publisher.disconnect()
        with contextlib.suppress(Exception):
            await self.listener.disconnect()

    async def reconnect(self) -> None:
        await self.publisher.connect()
        await self.listener.connect()

    async def publish(self, sealed: bytes, topic: str = SCHEDULE_TOPIC) -> None:
        await self.publisher.publish(topic, sealed, qos=1, retain=True)


async def wait_for(predicate: Callable[[], bool], timeout: float = 10.0, what: str = "") -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"not met within {timeout} s: {what}")
        await asyncio.sleep(0.02)


def sink_events(agent: Agent) -> list[dict[str, Any]]:
    return cast(FileSink, agent.sink).events


def cached(agent: Agent, audio: dict[str, Any]) -> bool:
    return (agent.config.cache_dir / "programme" / f"{audio['sha256']}.mp3").exists()


# --------------------------------------------------------------------------------------------


async def test_the_document_is_adopted_its_audio_fetched_ahead_and_the_entry_played_on_time(
    mosquitto, tmp_path, platform_key, audio_server
):
    root, base = audio_server
    audio = publish_audio(root, base, b"news of the county " * 50)
    start = soon(2.0)
    async with Station(mosquitto) as station:
        await station.publish(platform_key.seal(document(5, [entry(start, audio)])))
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await wait_for(lambda: cached(agent, audio), what="audio fetched ahead")
            assert agent.playout.version == 5 and not sink_events(agent)
            await wait_for(lambda: len(station.logs) == 1, what="playlog uploaded")
            first = sink_events(agent)[0]
            assert first["event"] == "start" and first["volume"] == 70
            assert abs((datetime.fromisoformat(first["at"]) - start).total_seconds()) < 0.5
            [line] = station.logs
            assert line["outcome"] == "played" and line["slot"] == 1 and line["version"] == 5
            assert (
                datetime.fromisoformat(line["start"]) == start.replace(microsecond=start.microsecond // 1000 * 1000)
                and 300 <= line["ms"] <= 400
            )
            await wait_for(lambda: not agent.playout.pending_lines(), what="line dropped once acknowledged")


async def test_a_terminal_with_its_link_cut_plays_the_cached_schedule_and_uploads_its_logs_when_back(
    mosquitto_factory, tmp_path, platform_key, audio_server
):
    # A broker that keeps sessions across its restart, so the platform's listener misses nothing.
    store = tmp_path / "persist"
    store.mkdir()
    mosquitto = mosquitto_factory(extra=f"persistence true\npersistence_location {store}/\n")
    mosquitto.start()
    root, base = audio_server
    audio = publish_audio(root, base, b"farming advice " * 40)
    first, second = soon(2.5), soon(3.5)
    sealed = platform_key.seal(document(8, [entry(first, audio, slot=1), entry(second, audio, slot=2)]))
    config = config_for(mosquitto, tmp_path, platform_key.trust())
    async with Station(mosquitto) as station:
        await station.publish(sealed)
        async with running(config) as agent:
            await wait_for(lambda: cached(agent, audio), what="audio fetched ahead")
        mosquitto.stop()  # the link is down from here on
        # A restart with the link down: the kept document and audio are enough.
        async with running(config, connected=False) as agent:
            await wait_for(lambda: len(agent.playout.pending_lines()) == 2, timeout=8, what="both played offline")
            starts = [e["at"] for e in sink_events(agent) if e["event"] == "start"]
            for played_at, due in zip(starts, (first, second), strict=True):
                assert abs((datetime.fromisoformat(played_at) - due).total_seconds()) < 0.5
            assert not agent.client.is_connected and station.logs == []
            mosquitto.start()
            await station.reconnect()
            await wait_for(lambda: len(station.logs) == 2, what="logs uploaded after the link came back")
            await wait_for(lambda: not agent.playout.pending_lines(), what="acknowledged lines dropped")
    assert [(line["slot"], line["outcome"]) for line in station.logs] == [(1, "played"), (2, "played")]
    assert not (config.cache_dir / PLAYLOG_FILE).read_text()


async def test_an_alert_preempts_the_programme_which_resumes_where_it_stopped(
    mosquitto, tmp_path, platform_key, alert_payload, Platform, audio_server
):
    root, base = audio_server
    audio = publish_audio(root, base, b"long programme " * 40)
    start = soon(2.0)
    async with Station(mosquitto) as station, Platform(mosquitto) as platform:
        await station.publish(platform_key.seal(document(3, [entry(start, audio, ms=1500)])))
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await wait_for(lambda: agent.playing is not None, what="programme playing")
            await asyncio.sleep(0.4)
            alert = alert_payload(31, seconds=0.3)
            await platform.publish(platform_key.seal(alert))
            await wait_for(lambda: len(station.logs) == 1, what="programme logged")
    events = [(e["event"], e["ebm_id"].split(":")[0]) for e in sink_events(agent)]
    assert events == [
        ("start", "programme"), ("stopped", "programme"),
        ("start", alert["ebm_id"]), ("end", alert["ebm_id"]),
        ("start", "programme"), ("end", "programme"),
    ]  # fmt: skip
    resumed = sink_events(agent)[4]
    assert 0.3 < resumed["offset"] < 1.0  # continues where it stopped
    [line] = station.logs
    assert line["outcome"] == "played" and line["reason"] == "resumed"
    assert 1300 <= line["ms"] <= 1500


async def test_a_programme_whose_slot_ended_during_the_alert_is_skipped_and_logged_interrupted(
    mosquitto, tmp_path, platform_key, alert_payload, Platform, audio_server
):
    root, base = audio_server
    audio = publish_audio(root, base, b"short programme " * 40)
    start = soon(2.0)
    async with Station(mosquitto) as station, Platform(mosquitto) as platform:
        await station.publish(platform_key.seal(document(3, [entry(start, audio, ms=600)])))
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await wait_for(lambda: agent.playing is not None, what="programme playing")
            await asyncio.sleep(0.2)
            await platform.publish(platform_key.seal(alert_payload(32, seconds=1.0)))
            await wait_for(lambda: len(station.logs) == 1, what="programme logged")
    [line] = station.logs
    assert line["outcome"] == "interrupted" and line["reason"] == "preempted" and line["ms"] < 600
    assert [e["event"] for e in sink_events(agent) if e["ebm_id"].startswith("programme")] == ["start", "stopped"]


async def test_live_voice_preempts_the_programme_which_resumes_after_the_session(
    mosquitto, tmp_path, platform_key, Platform, audio_server
):
    """三级插播: a live session of any tier outranks the scheduled programme; the programme stops,
    waits out the session and resumes where it stopped (its slot has not ended)."""
    from test_live import end, speak

    root, base = audio_server
    audio = publish_audio(root, base, b"long programme " * 40)
    start = soon(2.0)
    async with Station(mosquitto) as station, Platform(mosquitto) as platform:
        await station.publish(platform_key.seal(document(4, [entry(start, audio, ms=5000)])))
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await wait_for(lambda: agent.playing is not None, what="programme playing")
            await asyncio.sleep(0.4)
            await speak(platform, platform_key, "71", [b"v" * 720] * 3, area=VILLAGE, tier=5)
            await wait_for(lambda: agent.live.playing == "71", what="live voice on")

            def programme_events() -> list[str]:
                return [e["event"] for e in sink_events(agent) if e["ebm_id"].startswith("programme")]

            await wait_for(lambda: programme_events() == ["start", "stopped"], what="programme stopped")
            await asyncio.sleep(0.5)  # the programme waits while the session holds the loudspeaker
            during = programme_events()
            await end(platform, platform_key, "71", 5, area=VILLAGE, tier=5)
            await wait_for(lambda: len(station.logs) == 1, what="programme logged")
    assert during == ["start", "stopped"]
    events = [e for e in sink_events(agent) if e["ebm_id"].startswith("programme")]
    assert [e["event"] for e in events] == ["start", "stopped", "start", "end"]
    assert 0.3 < events[2]["offset"] < 1.5  # continues where it stopped
    assert ("live_started", "") in platform.events("live-71")
    [line] = station.logs
    assert line["outcome"] == "played" and line["reason"] == "resumed"


async def test_an_entry_whose_audio_is_missing_at_start_is_logged_missed(
    mosquitto, tmp_path, platform_key, audio_server
):
    root, base = audio_server
    audio = publish_audio(root, base, b"gone")
    (root / f"{audio['sha256']}.mp3").unlink()  # the server lost it: the download keeps failing
    async with Station(mosquitto) as station:
        await station.publish(platform_key.seal(document(4, [entry(soon(1.5), audio)])))
        async with running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
            await wait_for(lambda: len(station.logs) == 1, what="missed entry logged")
    [line] = station.logs
    assert (line["outcome"], line["reason"], line["started"], line["ms"]) == ("missed", "audio_missing", None, 0)
    assert not sink_events(agent)


async def test_an_older_version_another_villages_or_a_forged_document_is_not_adopted(
    mosquitto, tmp_path, platform_key, PlatformKey, audio_server
):
    root, base = audio_server
    audio = publish_audio(root, base, b"x" * 100)
    impostor = PlatformKey(serial=platform_key.serial)  # same serial, another key: a forged signature
    async with Station(mosquitto) as station, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await station.publish(platform_key.seal(document(9, [entry(soon(60), audio)])))
        await wait_for(lambda: agent.playout.version == 9, what="version 9 adopted")
        await station.publish(platform_key.seal(document(7, [])))
        await station.publish(
            platform_key.seal(document(12, [], village=NEIGHBOUR)), topic=f"rc/v1/down/r/{VILLAGE}/schedule"
        )
        await station.publish(impostor.seal(document(13, [])))
        await station.publish(platform_key.seal(document(10, [entry(soon(90), audio, slot=2)])))
        await wait_for(lambda: agent.playout.version == 10, what="version 10 adopted")
        assert [e.slot for e in agent.playout.entries] == [2]
    with pytest.raises(Rejected) as older:
        schedule_check(document(7, []), village_code=VILLAGE, current_version=10)
    assert older.value.reason == "duplicate"
    with pytest.raises(Rejected) as neighbour:
        schedule_check(document(12, [], village=NEIGHBOUR), village_code=VILLAGE, current_version=10)
    assert neighbour.value.reason == "not_in_target"


async def test_audio_no_entry_needs_any_more_is_evicted(mosquitto, tmp_path, platform_key, audio_server):
    root, base = audio_server
    old, new = publish_audio(root, base, b"old item"), publish_audio(root, base, b"new item")
    async with Station(mosquitto) as station, running(config_for(mosquitto, tmp_path, platform_key.trust())) as agent:
        await station.publish(platform_key.seal(document(1, [entry(soon(60), old)])))
        await wait_for(lambda: cached(agent, old), what="old audio fetched")
        await station.publish(platform_key.seal(document(2, [entry(soon(60), new)])))
        await wait_for(lambda: cached(agent, new) and not cached(agent, old), what="old audio evicted")
