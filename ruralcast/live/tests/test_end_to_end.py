"""Live voice with real parts: a line-in file through ffmpeg, the platform's encoder and signatures,
mosquitto with per-device credentials and ACLs, real terminal agents (one in the target, one in the
next county), receipts through the ingest worker, and the recording in the programme library."""

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from ruralcast.accounts.models import User
from ruralcast.broadcasting.models import Source
from ruralcast.live import runtime
from ruralcast.live.feed import source_frames
from ruralcast.live.models import LiveReceipt, LiveSession
from ruralcast.live.services import live_session_start, live_session_stop
from ruralcast.live.stream import CHUNK_FRAMES, MP3_FRAME_BYTES
from ruralcast.messaging.broker import broker_files_write
from ruralcast.messaging.ingest import IngestWorker
from ruralcast.messaging.tests.conftest import Broker
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.services import Registration, terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.slow]


def agent_start(
    registration: Registration, *, port: int, trust: Path, folder: Path
) -> tuple[subprocess.Popen[bytes], Path]:
    """A real `ruralcast-terminal agent` with a file sink: live audio lands in cache/live/live-<id>.mp3."""
    cache = folder / registration.terminal.code
    config = folder / f"{registration.terminal.code}.json"
    config.write_text(
        json.dumps(
            {
                "terminal_id": registration.terminal.code,
                "village_code": registration.terminal.village_id,
                "broker": f"127.0.0.1:{port}",
                "username": registration.terminal.code,
                "password": registration.password,
                "trust_path": str(trust),
                "cache_dir": str(cache),
                "sink": {"type": "file", "path": "played.jsonl", "realtime": False},
            }
        )
    )
    program = Path(sys.executable).parent / "ruralcast-terminal"
    process = subprocess.Popen(
        [str(program), "agent", "--config", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    return process, cache / "live"


def tone(path: Path, seconds: float) -> Path:
    """A spoken-level test signal (440 Hz sine with a 3 Hz tremolo) as a WAV file."""
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-af", "tremolo=f=3:d=0.6", "-ar", "44100", str(path)],
        check=True,
    )  # fmt: skip
    return path


def test_a_line_in_reaches_the_target_terminal_only_and_its_recording_lands_in_the_library(
    broker: Broker,
    tmp_path: Path,
    county_station_operator: User,
    guzhou: Region,
    dashizi: Region,
    congjiang: Region,
) -> None:
    signing_key_generate(actor=None)
    inside = terminal_register(actor=None, village=dashizi)
    outside = terminal_register(actor=None, village=Region.objects.filter(parent__parent=congjiang).order_by("code")[0])
    broker_files_write()
    broker.start()
    trust = tmp_path / "trust.json"
    trust.write_bytes(trust_list_build().to_json())
    ingest = IngestWorker()
    ingest.run(deadline=time.monotonic() + 0.5)
    agents = [agent_start(r, port=broker.port, trust=trust, folder=tmp_path) for r in (inside, outside)]
    source = tone(tmp_path / "line-in.wav", 3.0)
    try:
        time.sleep(1.5)  # the agents connect and subscribe
        session = live_session_start(actor=county_station_operator, target=guzhou, source="line_in")
        broadcast = runtime.broadcast_begin(session)
        for captured, pcm in source_frames(str(source), realtime=True):
            broadcast.feed(pcm, captured)
        live_session_stop(actor=county_station_operator, session=session)
        ended = runtime.broadcast_finish(session.pk)
        ingest.run(
            until=lambda: LiveReceipt.objects.filter(session=session).count() >= 2, deadline=time.monotonic() + 15
        )
    finally:
        for process, _folder in agents:
            process.terminate()
            process.wait(10)

    # ~3 s of MP3 at 32 kbit/s in 180 ms chunks, each signed and published once on the township topic.
    assert broadcast.chunks >= 15
    assert max(broadcast.encode_ms) < 1000  # capture → signed chunk out, ffmpeg included
    played = agents[0][1] / f"live-{session.pk}.mp3"
    assert played.exists()
    assert len(played.read_bytes()) >= 0.9 * broadcast.chunks * CHUNK_FRAMES * MP3_FRAME_BYTES
    assert not (agents[1][1] / f"live-{session.pk}.mp3").exists()  # the next county heard nothing

    receipts = set(LiveReceipt.objects.filter(session=session).values_list("terminal_code", "event", "reason"))
    assert receipts == {
        (inside.terminal.code, "live_started", ""),
        (inside.terminal.code, "live_stopped", "end"),
    }

    assert ended is not None
    session = LiveSession.objects.select_related("recording").get(pk=session.pk)
    item = session.recording
    assert item is not None
    assert (item.source, item.owner_region_id) == (Source.LIVE, guzhou.code)
    assert 2.5 < item.audio_seconds < 3.6
    assert 2.5 < session.audio_seconds < 3.6
    assert session.chunks == broadcast.chunks
