"""Benchmark: the media pipeline against bare ffmpeg, the delay of a live, and segment serving.

1. transcode: a generated 60-second 720p clip (testsrc2 + sine) to the full ladder (360p, 540p,
   720p, audio-only, HLS). Baseline, same run: bare ffmpeg with the very same encoding command into
   a temp folder. Pipeline: `asset_create_from_file` (probe, SHA-256, stored original) and the job
   (`pipeline.job_run`: the ladder with progress written to the job row, poster, thumbnails, copy to
   storage, rendition rows, audit). Reports × realtime for both and the ratio (goal ≤ 1.2).
2. live delay: ffmpeg pushes a live (`-re`, 1-second segments, `-method PUT`) to the platform under
   uvicorn; a viewer polls the live playlist every 100 ms. For each segment: the time it becomes
   listed minus the wall-clock moment its first frame was read by ffmpeg ("glass"). Glass-to-glass
   adds the player's hold-back (the player we ship, hls.js with liveSyncDurationCount = 2: two
   target durations behind the live edge). Goal ≤ 8 s.
3. serving: C concurrent keep-alive connections (asyncio, raw HTTP/1.1) fetch the live playlist and
   its segments from the platform (the Django view with its access check, range and cache headers,
   one uvicorn process) for a fixed time; requests/s and p99 latency. Baseline, same run: the same
   load against a bare ASGI app under uvicorn that reads the same files from disk.

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only.

    .venv/bin/python bench/media.py [--seconds 60] [--runs 3] [--live-seconds 12] [--concurrency 50] [--load-seconds 10]
"""

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import textwrap
import time
import urllib.request
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, bench_django, database_name, free_port, percentile, port_open, record, wait_until


def _wait_http(url: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def _transcode(workdir: Path, seconds: int, region: Any, runs: int) -> dict[str, Any]:
    from ruralcast.media import transcode
    from ruralcast.media.models import Job, JobState
    from ruralcast.media.pipeline import job_run
    from ruralcast.media.probe import probe_file
    from ruralcast.media.services import AssetFields, asset_create_from_file

    clip = workdir / "clip720.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", f"testsrc2=size=1280x720:rate=25:duration={seconds}",
         "-f", "lavfi", "-i", f"sine=frequency=440:duration={seconds}",
         "-c:v", "libx264", "-preset", "ultrafast", "-crf", "18", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest",
         str(clip)],
        check=True,
    )  # fmt: skip
    probe = probe_file(clip)
    rungs = transcode.ladder_for(probe.height)
    bare_times, pipeline_times = [], []
    for _ in range(runs):  # alternate, so that the load of others on the machine hits both alike
        bare_out = workdir / "bare"
        shutil.rmtree(bare_out, ignore_errors=True)
        bare_out.mkdir()
        started = time.perf_counter()
        transcode.run(transcode.ladder_command(source=clip, out=bare_out, rungs=rungs, has_audio=True), timeout=3600)
        bare_times.append(time.perf_counter() - started)

        started = time.perf_counter()
        asset = asset_create_from_file(
            actor=None, owner_region=region, path=clip, filename="clip720.mp4", fields=AssetFields(title="bench")
        )
        job = Job.objects.get(asset=asset)
        job_run(job.pk)
        pipeline_times.append(time.perf_counter() - started)
        job.refresh_from_db()
        assert job.state == JobState.SUCCEEDED, job.error
    bare_s, pipeline_s = statistics.median(bare_times), statistics.median(pipeline_times)
    return {
        "clip_s": seconds,
        "ladder": [rung.name for rung in rungs] + ["audio"],
        "bare_ffmpeg_s": round(bare_s, 2),
        "pipeline_s": round(pipeline_s, 2),
        "bare_x_realtime": round(seconds / bare_s, 2),
        "pipeline_x_realtime": round(seconds / pipeline_s, 2),
        "pipeline_vs_bare": round(pipeline_s / bare_s, 3),
        "runs": runs,
        "bare_runs_s": [round(t, 2) for t in bare_times],
        "pipeline_runs_s": [round(t, 2) for t in pipeline_times],
        "goal_pipeline_vs_bare": 1.2,
    }


def _live(base: str, event: Any, seconds: int) -> dict[str, Any]:
    ingest = f"{base}/media/ingest/{event.uid}/{event.ingest_secret}/index.m3u8"
    playlist_url = f"{base}/media/l/{event.uid}/index.m3u8"
    push = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-nostdin", "-re",
         "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", str(seconds), "-c:v", "libx264", "-preset", "veryfast", "-tune", "zerolatency", "-g", "25",
         "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "64k",
         "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "event",
         "-method", "PUT", "-http_persistent", "1", ingest],
    )  # fmt: skip
    glass_zero = time.time() + 0.05  # ffmpeg reads its first frame right after it starts (-re: real time)
    first_seen: dict[str, float] = {}
    starts: dict[str, float] = {}
    target = 1.0
    deadline = time.monotonic() + seconds + 30
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(playlist_url, timeout=5) as answer:
                text = answer.read().decode()
        except OSError:
            text = ""
        now = time.time()
        position = 0.0
        for duration, name in re.findall(r"#EXTINF:([\d.]+),\s*\n(\S+)", text):
            starts.setdefault(name, position)
            first_seen.setdefault(name, now)
            position += float(duration)
        match = re.search(r"#EXT-X-TARGETDURATION:(\d+)", text)
        target = float(match.group(1)) if match else target
        if "#EXT-X-ENDLIST" in text:
            break
        time.sleep(0.1)
    push.wait(timeout=30)
    assert starts, "the live playlist never listed a segment"
    delays = [first_seen[name] - (glass_zero + starts[name]) for name in starts]
    available = sorted(delays)
    hold_back = 2 * target
    return {
        "segments": len(delays),
        "segment_listed_after_capture_p50_s": round(percentile(available, 0.5), 2),
        "segment_listed_after_capture_max_s": round(available[-1], 2),
        "player_hold_back_s": hold_back,
        "glass_to_glass_p50_s": round(percentile(available, 0.5) + hold_back, 2),
        "glass_to_glass_max_s": round(available[-1] + hold_back, 2),
        "goal_glass_to_glass_s": 8,
    }


async def _load(port: int, paths: list[str], concurrency: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.monotonic() + seconds

    async def one(index: int) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        turn = index
        while time.monotonic() < stop_at:
            path = paths[turn % len(paths)]
            turn += 1
            started = time.perf_counter()
            writer.write(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: bench-{index}\r\n\r\n".encode())
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status = int(head.split(b" ", 2)[1])
            length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))  # type: ignore[union-attr]
            await reader.readexactly(length)
            latencies.append(time.perf_counter() - started)
            if status != 200:
                errors += 1
        writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": round(percentile(latencies, 0.5) * 1000, 1),
        "p99_ms": round(percentile(latencies, 0.99) * 1000, 1),
        "errors": errors,
    }


BARE_APP = textwrap.dedent(
    """
    import os
    ROOT = os.environ["BENCH_FILES"]

    async def app(scope, receive, send):
        path = os.path.join(ROOT, os.path.basename(scope["path"]))
        with open(path, "rb") as handle:
            body = handle.read()
        kind = b"application/vnd.apple.mpegurl" if path.endswith(".m3u8") else b"video/mp2t"
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", kind), (b"content-length", str(len(body)).encode())]})
        await send({"type": "http.response.body", "body": body})
    """
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=60, help="length of the 720p clip")
    parser.add_argument("--runs", type=int, default=3, help="bare/pipeline pairs (medians are reported)")
    parser.add_argument("--live-seconds", type=int, default=12)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--load-seconds", type=float, default=10)
    args = parser.parse_args()

    with bench_django("media") as workdir:
        run(args, workdir)


def run(args: argparse.Namespace, workdir: Path) -> None:
    env = os.environ.copy()
    from django.utils import timezone

    from ruralcast.accounts.models import RoleGrant, User
    from ruralcast.accounts.roles import Role
    from ruralcast.media.models import Access
    from ruralcast.media.services import LiveFields, live_create
    from ruralcast.regions.selectors import region_get
    from ruralcast.regions.services import regions_import

    regions_import(province="52")
    region = region_get(code="522632000000")
    actor = User.objects.create(username="bench-operator")  # a throwaway database: set up directly
    RoleGrant.objects.create(user=actor, role=Role.STATION_OPERATOR, region=region)

    figures: dict[str, Any] = {"transcode": _transcode(workdir, args.seconds, region, args.runs)}

    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "config.asgi:application", "--port", str(port), "--no-access-log",
         "--log-level", "warning"],
        env=env, cwd=ROOT,
    )  # fmt: skip
    bare_port = free_port()
    try:
        base = f"http://127.0.0.1:{port}"
        _wait_http(f"{base}/healthz")
        now = timezone.now()
        event = live_create(
            actor=actor,
            owner_region=region,
            fields=LiveFields(title="bench", starts_at=now, ends_at=now + timedelta(hours=1), access=Access.PUBLIC),
        )
        figures["live"] = _live(base, event, args.live_seconds)
        folder = workdir / "media" / "live" / event.uid
        segments = sorted(p.name for p in folder.glob("*.ts"))
        assert segments, f"the live left no segments in {folder}: {figures['live']}"
        paths = [f"/media/l/{event.uid}/index.m3u8", *(f"/media/l/{event.uid}/{name}" for name in segments)]
        platform = asyncio.run(_load(port, paths, args.concurrency, args.load_seconds))
        (workdir / "bare_app.py").write_text(BARE_APP)
        bare = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port), "--no-access-log",
             "--log-level", "warning", "--app-dir", str(workdir)],
            env={**env, "BENCH_FILES": str(folder)},
        )  # fmt: skip
        try:
            wait_until(lambda: port_open(bare_port), 60, "bare uvicorn")  # not a fixed 1.5 s: a loaded machine
            bare_paths = ["/index.m3u8", *(f"/{name}" for name in segments)]
            baseline = asyncio.run(_load(bare_port, bare_paths, args.concurrency, args.load_seconds))
        finally:
            bare.terminate()
            bare.wait(timeout=10)
        segment_kib = round(sum((folder / n).stat().st_size for n in segments) / len(segments) / 1024, 1)
        figures["serving"] = {
            "concurrency": args.concurrency,
            "mean_segment_kib": segment_kib,
            "platform": platform,
            "bare_uvicorn": baseline,
            "platform_vs_bare_rps": round(platform["requests_per_s"] / baseline["requests_per_s"], 3),
        }
    finally:
        server.terminate()
        server.wait(timeout=10)
    figures["database"] = database_name()
    record("media", figures)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
