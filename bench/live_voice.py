"""Benchmark: mouth-to-terminal delay of live voice to N simulated terminals (default 1,000).

On one machine, with the processes `make run` uses: mosquitto configured by the platform (per-terminal
passwords and ACLs), `manage.py ingest` (the live_started / live_stopped receipts), and
`ruralcast-terminal simulate` with N terminals spread over the villages of Guizhou.

1. platform path: a station operator of the province speaks for `--seconds` (20): a test signal
   decoded by ffmpeg into 160 ms frames of 16 kHz PCM, each stamped with the time it was read (its
   "mouth" time), sent as the browser sends them — `--source websocket` (default): over the
   WebSocket `/ws/live/<id>/` of a running uvicorn (`config.asgi`), logged in with a session
   cookie; `--source line-in`: through `manage.py live_feed` — into the server path: the ffmpeg
   MP3 encoder (32 kbit/s, 180 ms chunks), the
   signature of every chunk with the platform's active key (SM2-SM3 by default), and ONE MQTT
   message per chunk on the province topic (QoS 0). Every simulated terminal verifies each chunk
   (once per distinct message per process: `verify_us` is the cost a real device pays per chunk),
   applies the agent's live checks (target, freshness, sequence, attachment hash) and records
   now − captured_ms for each chunk it would play: p50 / p99 / max over all chunks and terminals.
   A device adds its jitter buffer (200 ms by default) before the loudspeaker. An observer with the
   platform account on the same topic measures the server's share (arrival at the broker's
   subscriber − captured_ms) and the size of each chunk message.
2. baseline, same run: the same N accounts subscribed to the same topic receive a bare stream of
   the same size and rate (QoS 0, a send timestamp inside) published by the platform account:
   publish-to-arrival delay over all chunks and terminals.

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only.

    .venv/bin/python bench/live_voice.py --count 1000 --seconds 20 [--source websocket|line-in]
"""

import argparse
import asyncio
import json
import struct
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from ruralcast_terminal import topics

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    ROOT,
    Bare,
    bare_stop,
    bare_workers,
    bench_django,
    database_name,
    free_port,
    percentile,
    platform_publisher,
    platform_services,
    platform_setup,
    record,
    simulator_command,
    simulator_ready,
    spawn,
    wait_until,
)

PROVINCE = "520000000000"


def bare_stream(
    credentials: list[tuple[str, str, str]], *, port: int, processes: int, size: int, interval: float, chunks: int
) -> list[int]:
    """Delays (ms) of a bare QoS 0 stream of `chunks` messages of `size` bytes every `interval` s."""
    accounts = [(code, password, topics.region_filter(PROVINCE)) for code, password, _village in credentials]
    workers, events, stop = bare_workers(accounts, processes, Bare(port=port, stamped=True))

    async def publish() -> None:
        publisher = await platform_publisher("bench-bare-stream", port=port)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for n in range(chunks):
            await asyncio.sleep(max(0.0, start + n * interval - loop.time()))
            body = struct.pack("<d", time.time() * 1000).ljust(size, b"x")
            publisher.publish_nowait(topics.region_topic(PROVINCE, "bare-stream"), body, qos=0)
        await asyncio.sleep(0.5)
        await publisher.disconnect()

    asyncio.run(publish())
    stop.set()
    delays: list[int] = []
    for _ in workers:
        delays.extend(events.get(timeout=120)[2])
    bare_stop(workers, stop)
    return delays


class Observer:
    """The platform account subscribed to the province topic: size and server delay of each chunk."""

    def __init__(self) -> None:
        from ruralcast.messaging.client import MqttLink

        self.sizes: list[int] = []
        self.server_ms: list[int] = []
        self.link = MqttLink(
            client_id="bench-live-observer",
            subscriptions=[(topics.region_filter(PROVINCE), 0)],
            on_message=self._message,
        )

    def _message(self, message: Any) -> None:
        import base64

        from ruralcast_terminal.protocol import message_split

        now = time.time() * 1000
        try:
            envelope = json.loads(message_split(message.payload)[0])
            payload = json.loads(base64.b64decode(envelope["payload"]))
        except (ValueError, KeyError):
            return
        if payload.get("kind") == "live" and payload.get("event") == "chunk":
            self.sizes.append(len(message.payload))
            self.server_ms.append(int(now - payload["captured_ms"]))


def speak_websocket(*, session_id: int, user: Any, source: Path, seconds: float, port: int) -> None:
    """Send the source's frames over the live WebSocket exactly as the browser page does."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.utils.module_loading import import_string
    from websockets.sync.client import connect

    from ruralcast.live.feed import source_frames

    store = import_string(settings.SESSION_ENGINE).SessionStore()
    store[SESSION_KEY] = str(user.pk)
    store[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
    store[HASH_SESSION_KEY] = user.get_session_auth_hash()
    store.save()
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={store.session_key}"}
    origin = f"http://127.0.0.1:{port}"
    with connect(f"ws://127.0.0.1:{port}/ws/live/{session_id}/", origin=origin, additional_headers=headers) as ws:  # type: ignore[arg-type]
        for captured, pcm in source_frames(str(source), realtime=True, seconds=seconds):
            ws.send(struct.pack("<d", captured) + pcm)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--processes", type=int, default=2, help="simulator processes")
    parser.add_argument("--source", choices=["websocket", "line-in"], default="websocket")
    args = parser.parse_args()
    mqtt_port = free_port()
    with bench_django("live", mqtt_port=mqtt_port) as workdir:
        figures = _run(args, workdir, mqtt_port)
    record("live_voice", figures)


def _run(args: argparse.Namespace, workdir: Path, mqtt_port: int) -> dict[str, Any]:
    from ruralcast.accounts.roles import Role
    from ruralcast.live.models import LiveReceipt, LiveSession
    from ruralcast.live.stream import CHUNK_MS

    bench = platform_setup(PROVINCE, users={"bench-speaker": Role.STATION_OPERATOR}, terminals=args.count)
    operator, province, credentials = bench.users["bench-speaker"], bench.region, bench.terminals
    assert bench.trust is not None
    source = workdir / "voice.wav"
    subprocess.run(
        ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i",
         f"sine=frequency=440:duration={args.seconds + 1}", "-af", "tremolo=f=3:d=0.6", str(source)],
        check=True,
    )  # fmt: skip
    report = workdir / "simulator.json"
    with platform_services(workdir, mqtt_port, ["ingest"], web=True) as services:
        log_path = workdir / "logs" / "simulator.log"
        simulator = spawn(
            simulator_command(
                credentials, workdir=workdir, name="live", region=PROVINCE, port=mqtt_port,
                processes=args.processes, trust=bench.trust, report=report,
                options=["--duration", str(args.seconds + 15)],
            ),
            log_path,
        )  # fmt: skip
        simulator_ready(log_path)
        observer = Observer()
        observer.link.start(wait=10)
        time.sleep(1)
        if args.source == "line-in":
            feed = subprocess.run(
                [sys.executable, str(ROOT / "manage.py"), "live_feed", "--user", "bench-speaker", "--target",
                 PROVINCE, "--seconds", str(args.seconds), str(source)],
                cwd=ROOT, capture_output=True, text=True, check=True,
            )  # fmt: skip
            session_id = json.loads(feed.stdout.strip().splitlines()[-1])["session"]
        else:
            from ruralcast.live.services import live_session_start

            session_id = live_session_start(actor=operator, target=province).pk
            speak_websocket(
                session_id=session_id, user=operator, source=source, seconds=args.seconds, port=services.web_port
            )
        ended = LiveSession.objects.filter(pk=session_id, recording__isnull=False)
        wait_until(ended.exists, 60, "the session's end and recording")
        simulator.wait(timeout=args.seconds + 120)
        observer.link.stop()
        summary = json.loads(report.read_text())
        session = LiveSession.objects.select_related("recording").get(pk=session_id)
        receipts = LiveReceipt.objects.filter(session=session)
        wait_until(lambda: receipts.count() >= 2 * args.count, 30, "live receipts")
        message_bytes = max(observer.sizes)
        bare = bare_stream(
            credentials, port=mqtt_port, processes=args.processes, size=message_bytes,
            interval=CHUNK_MS / 1000, chunks=int(10 * 1000 / CHUNK_MS),
        )  # fmt: skip
        receipt_counts = {
            "live_started": receipts.filter(event="live_started").count(),
            "live_stopped": receipts.filter(event="live_stopped").count(),
        }

    live = summary.get("live") or {}
    expected = session.chunks * args.count
    bare_p99 = percentile([float(d) for d in bare], 0.99)
    return {
        "terminals": args.count,
        "seconds": args.seconds,
        "alg": bench.key.alg,
        "database": database_name(),
        "source": args.source,
        "chunks_sent": session.chunks,
        "chunk_ms": CHUNK_MS,
        "message_bytes": message_bytes,
        "wire_kbit_s": round(message_bytes * 8 / CHUNK_MS, 1),
        "server_ms_p50": percentile([float(d) for d in observer.server_ms], 0.5),
        "server_ms_max": max(observer.server_ms),
        "chunks_played": live.get("chunks"),
        "chunks_expected": expected,
        "delay_ms_p50": live.get("delay_ms_p50"),
        "delay_ms_p99": live.get("delay_ms_p99"),
        "delay_ms_max": live.get("delay_ms_max"),
        "rejected": live.get("rejected"),
        "verify_us": summary.get("verify_us"),
        "receipts": receipt_counts,
        "recording_s": session.recording.audio_seconds if session.recording else None,
        "bare_delay_ms_p50": percentile([float(d) for d in bare], 0.5),
        "bare_delay_ms_p99": bare_p99,
        "bare_delay_ms_max": max(bare) if bare else None,
        "bare_chunks": len(bare),
        "p99_minus_bare_ms": round(live["delay_ms_p99"] - bare_p99) if live.get("delay_ms_p99") else None,
        "goal": "p99 <= 1500 ms",
    }


if __name__ == "__main__":
    main()
