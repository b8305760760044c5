"""Benchmark of the villagers' portal (issue 17): alert to overlay, the first screen on a weak box,
and the home page's throughput, each against a bare baseline in the same run.

1. Alert to overlay: N simulated paired screens (default 1,000; asyncio clients on raw sockets, each
   with its own device token, over the villages of 榕江县) hold the push connection
   (`/portal/push/events` of the web process `make run` starts: uvicorn, config.asgi). A drill for
   the county is drafted and submitted (its speech and the drill preamble made) before the clock
   starts; t0 is taken just before `alert_approve()`; the real `manage.py dispatcher` signs and
   publishes; the web process's
   hub hears it from mosquitto and each screen's stream carries it. Latency of a screen = the moment
   its stream holds the alert's EBM id − t0: p50/p99/max. Baseline, same run: the same N
   connections to a minimal raw ASGI app under uvicorn (bench/portal_bare.py), one POST pushes the
   same document to all; time until each has it (median of 3 pushes). Goal: p99 <= 2 s and <= 2x bare.
2. First screen: Chromium (Playwright, /usr/bin/chromium) with the CPU throttled 4x and the network
   at 2 Mbit/s / 100 ms (CDP Emulation.setCPUThrottlingRate, Network.emulateNetworkConditions), a
   paired screen opening /portal/ with an empty cache: time until the first tile has focus (a
   focused element matching TILE_SELECTOR; null when the home has no tile yet, with the load time
   instead) and the bytes transferred; median of 5. The home is seeded first as the demo's is
   (`home_seed`: three notices, a programme on the county's loudspeakers today and a public replay,
   through the real services and media pipeline), and measured before the drill of part 1 is
   approved (an alert in force would cover the home with its overlay and hold the focus).
3. Home throughput: C concurrent screens (default 200, keep-alive, raw sockets) GET /portal/ for
   D seconds: requests/s and p99; baseline the bare app's static page of the same size.

Prints one JSON line and appends it to docs/benchmarks.md. Talks to 127.0.0.1 only. `--part overlay`
runs part 1 alone (its line has no `first_screen` nor `home_throughput`).

    .venv/bin/python bench/portal.py --screens 1000 --concurrency 200 --seconds 10
    BENCH_NO_RECORD=1 .venv/bin/python bench/portal.py --screens 1000 --part overlay
"""

import argparse
import asyncio
import os
import secrets
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import (
    bench_django,
    database_name,
    free_port,
    percentile,
    platform_services,
    platform_setup,
    port_open,
    record,
    spawn,
    wait_until,
)

PROVINCE = "520000000000"
COUNTY = "522632000000"  # 榕江县
TILE_SELECTOR = "[data-tile], .tile"
CHROMIUM = "/usr/bin/chromium"
T = TypeVar("T")


class Loop:
    """An asyncio loop in a thread of its own: the screens run there, Django stays on this thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        threading.Thread(target=self.loop.run_forever, daemon=True).start()

    def run(self, coro: Awaitable[T], timeout: float = 600) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)  # type: ignore[arg-type]

    def start(self, coro: Awaitable[Any]) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop)  # type: ignore[arg-type]


class StreamClient:
    """One screen holding an event stream; records when its stream first holds a marker."""

    def __init__(self, port: int, path: str, cookie: str) -> None:
        self.port, self.path, self.cookie = port, path, cookie
        self.ready = asyncio.Event()
        self.buffer = b""
        self.seen: dict[bytes, float] = {}
        self.wanted: list[bytes] = []
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, gate: asyncio.Semaphore) -> None:
        async with gate:
            reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
            self.writer.write(
                f"GET {self.path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n"
                f"Cookie: {self.cookie}\r\n\r\n".encode()
            )
            await self.writer.drain()
            while b"data: " not in self.buffer:
                chunk = await reader.read(65536)
                if not chunk:
                    raise ConnectionError(f"stream closed before its first event: {self.buffer[:200]!r}")
                self.buffer += chunk
        self.buffer = b""
        self.ready.set()
        while True:
            chunk = await reader.read(65536)
            if not chunk:
                return
            now = time.perf_counter()
            self.buffer = (self.buffer + chunk)[-200_000:]
            for marker in self.wanted:
                if marker not in self.seen and marker in self.buffer:
                    self.seen[marker] = now

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def streams_open(port: int, path: str, cookies: list[str]) -> tuple[list[StreamClient], list[Any]]:
    gate = asyncio.Semaphore(50)  # a burst of thousands of SYNs overflows the listen backlog
    clients = [StreamClient(port, path, cookie) for cookie in cookies]
    tasks = [asyncio.ensure_future(client.run(gate)) for client in clients]
    waiting = [asyncio.ensure_future(client.ready.wait()) for client in clients]
    done, _ = await asyncio.wait(waiting, timeout=600)
    failed = [task.exception() for task in tasks if task.done() and task.exception()]
    if failed or len(done) < len(clients):
        raise RuntimeError(f"{len(done)}/{len(clients)} streams open; first error: {failed[:1]}")
    return clients, tasks


async def streams_close(clients: list[StreamClient], tasks: list[Any]) -> None:
    for client in clients:
        client.close()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def arrivals(clients: list[StreamClient], marker: bytes, t0: float, timeout: float) -> list[float]:
    wait_until(lambda: all(marker in c.seen for c in clients), timeout, f"every screen has {marker!r}")
    return [c.seen[marker] - t0 for c in clients]


# -------------------------------------------------------------------------------------------- HTTP


async def _response(reader: asyncio.StreamReader) -> int:
    """Read one HTTP/1.1 response (Content-Length or chunked); returns its status."""
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
    if "content-length" in headers:
        await reader.readexactly(int(headers["content-length"]))
    elif headers.get("transfer-encoding") == "chunked":
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip().split(b";")[0], 16)
            await reader.readexactly(size + 2)
            if size == 0:
                break
    return status


async def throughput(port: int, path: str, cookies: list[str], seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    errors = 0
    stop_at = time.perf_counter() + seconds

    async def screen(cookie: str) -> None:
        nonlocal errors
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode()
        try:
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                writer.write(request)
                await writer.drain()
                if await _response(reader) != 200:
                    errors += 1
                latencies.append(time.perf_counter() - started)
        finally:
            writer.close()

    began = time.perf_counter()
    await asyncio.gather(*(screen(cookie) for cookie in cookies))
    wall = time.perf_counter() - began
    return {
        "requests": len(latencies),
        "requests_per_s": round(len(latencies) / wall, 1),
        "p50_s": percentile(latencies, 0.5),
        "p99_s": percentile(latencies, 0.99),
        "errors": errors,
    }


async def _post(port: int, path: str, body: bytes) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n\r\n".encode() + body)
    await writer.drain()
    await _response(reader)
    writer.close()


async def _get_body(port: int, path: str, cookie: str) -> bytes:
    """The body of one GET (HTTP/1.0: no chunking, the server closes)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\nCookie: {cookie}\r\n\r\n".encode())
    await writer.drain()
    data = await reader.read(-1)
    writer.close()
    return data.partition(b"\r\n\r\n")[2]


# -------------------------------------------------------------------------------------------- parts


def screens_make(count: int) -> list[str]:
    """`count` paired screens over the county's villages (rows as pairing leaves them); their cookies."""
    from django.utils import timezone

    from ruralcast.regions.codes import Level
    from ruralcast.regions.models import Region
    from ruralcast.villagers.models import Screen
    from ruralcast.villagers.selectors import SCREEN_COOKIE, token_hash

    villages = list(Region.objects.filter(code__startswith=COUNTY[:6], level=Level.VILLAGE).order_by("code"))
    tokens = [secrets.token_urlsafe(24) for _ in range(count)]
    now = timezone.now()
    Screen.objects.bulk_create(
        [
            Screen(token_hash=token_hash(token), village=villages[n % len(villages)], paired_at=now)
            for n, token in enumerate(tokens)
        ],
        batch_size=500,
    )
    return [f"{SCREEN_COOKIE}={token}" for token in tokens]


def home_seed(*, operator: Any, editor: Any) -> dict[str, int]:
    """The home's rails as the demo has them, for the county's screens: notices (公告栏), a
    programme today (今天的大喇叭) and a public replay (回看), made through the services. Returns
    how many of each."""
    import tempfile
    from datetime import time as clock

    from django.utils import timezone

    from ruralcast.broadcasting.services import (
        SlotFields,
        programme_item_create_from_text,
        schedule_create,
        slot_create,
    )
    from ruralcast.media import pipeline
    from ruralcast.media.models import Access
    from ruralcast.media.services import AssetFields, asset_create_from_file
    from ruralcast.portal.services import notice_post
    from ruralcast.regions.models import Region

    county = Region.objects.get(code=COUNTY)
    titles = ["本周六社区义诊", "春耕备耕技术培训", "停水通知"]
    for title in titles:
        notice_post(actor=editor, region=county, title=title, body="请各位村民相互转告。",
                    expires_at=timezone.now() + timedelta(days=7))  # fmt: skip
    item = programme_item_create_from_text(
        actor=operator, owner_region=county, title="晚间新闻", text="各位乡亲晚上好，现在播报今天的新闻。"
    )
    schedule = schedule_create(actor=operator, owner_region=county, target_region=county, name="晚间")
    slot_create(actor=operator, schedule=schedule, fields=SlotFields(start_time=clock(23, 59), item=item))
    with tempfile.TemporaryDirectory() as folder:
        clip = Path(folder) / "replay.mp4"
        subprocess.run(
            ["ffmpeg", "-v", "error", "-nostdin", "-y",
             "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=10", "-f", "lavfi", "-i", "sine=duration=10",
             "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)],
            check=True, timeout=120,
        )  # fmt: skip
        asset = asset_create_from_file(
            actor=operator, owner_region=county, path=clip, filename="replay.mp4",
            fields=AssetFields(title="稻田冬季管理", access=Access.PUBLIC, tags=["农技"]),
        )  # fmt: skip
    for job in asset.jobs.all():
        pipeline.job_run(job.pk)  # what the task worker does, here and now
    return {"notices": len(titles), "programme_slots": 1, "replays": 1}


def first_screen(url: str, cookie: str, runs: int) -> dict[str, Any]:
    from playwright.sync_api import sync_playwright

    name, _, value = cookie.partition("=")
    focus_s: list[float] = []
    load_s: list[float] = []
    transferred: list[int] = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        for _ in range(runs):
            context = browser.new_context(viewport={"width": 1280, "height": 720})
            context.add_cookies([{"name": name, "value": value, "url": url}])
            page = context.new_page()
            cdp = context.new_cdp_session(page)
            cdp.send("Network.enable")
            cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
            cdp.send("Emulation.setCPUThrottlingRate", {"rate": 4})
            cdp.send(
                "Network.emulateNetworkConditions",
                {
                    "offline": False,
                    "latency": 100,
                    "downloadThroughput": 2_000_000 / 8,
                    "uploadThroughput": 2_000_000 / 8,
                },
            )
            received = [0]
            cdp.on(
                "Network.loadingFinished",
                lambda event, received=received: received.__setitem__(
                    0, received[0] + int(event.get("encodedDataLength", 0))
                ),
            )
            started = time.perf_counter()
            page.goto(f"{url}/portal/", wait_until="load")
            load_s.append(time.perf_counter() - started)
            try:
                page.wait_for_function(
                    f"() => document.activeElement && document.activeElement.matches({TILE_SELECTOR!r})", timeout=10_000
                )
                focus_s.append(time.perf_counter() - started)
            except Exception:  # noqa: BLE001 — no tile on this home (yet): reported as null
                pass
            page.wait_for_timeout(300)  # the event stream's first bytes counted too
            transferred.append(received[0])
            context.close()
        browser.close()
    return {
        "runs": runs,
        "first_tile_focus_median_s": round(statistics.median(focus_s), 3) if len(focus_s) == runs else None,
        "load_median_s": round(statistics.median(load_s), 3),
        "bytes_median": int(statistics.median(transferred)),
        "goal": "first tile focused <= 1.5 s",
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--screens", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--first-screen-runs", type=int, default=5)
    parser.add_argument(
        "--part",
        choices=["all", "overlay"],
        default="all",
        help="overlay: part 1 only (alert to overlay and its bare push), without the first screen and the home",
    )
    args = parser.parse_args()
    mqtt_port = free_port()
    with bench_django("portal", mqtt_port=mqtt_port) as workdir:
        figures = run(args, workdir, mqtt_port)
    record("portal", figures)


def run(args: Any, workdir: Path, mqtt_port: int) -> dict[str, Any]:
    from django.utils import timezone
    from ruralcast_terminal.simulate import raise_fd_limit

    from ruralcast.alerts.payload import content_version
    from ruralcast.alerts.services import AlertFields, alert_approve, alert_create, alert_submit
    from ruralcast.messaging.models import OutboxMessage
    from ruralcast.regions.models import Region

    raise_fd_limit()
    bench = platform_setup(
        PROVINCE, users={"operator": "station_operator", "approver": "alert_approver", "editor": "content_editor"}
    )
    cookies = screens_make(max(args.screens, args.concurrency))
    seeded = home_seed(operator=bench.users["operator"], editor=bench.users["editor"])
    loop = Loop()
    figures: dict[str, Any] = {"database": database_name(), "screens": args.screens, "part": args.part}
    with platform_services(workdir, mqtt_port, ["dispatcher"], web=True) as services:
        port = services.web_port
        # 2. the first screen under throttling, before any alert is in force (its overlay would
        # cover the home and hold the focus).
        if args.part == "all":
            first = first_screen(f"http://127.0.0.1:{port}", cookies[0], args.first_screen_runs)
            first["home_seeded"] = seeded
            print(f"first screen: {first}", file=sys.stderr)
        county = Region.objects.get(code=COUNTY)
        operator, approver = bench.users["operator"], bench.users["approver"]
        now = timezone.now()
        fields = AlertFields(
            status="Exercise", event_code="11B03", severity=2, title="暴雨橙色预警演练",
            text="这是一次演练。请沿河群众做好转移准备。", onset=now, expires=now + timedelta(hours=1), targets=[county],
        )  # fmt: skip
        alert = alert_submit(actor=operator, alert=alert_create(actor=operator, issuer_region=county, fields=fields))
        version = content_version(alert)

        opened = time.perf_counter()
        clients, tasks = loop.run(streams_open(port, "/portal/push/events", cookies[: args.screens]))
        connect_s = time.perf_counter() - opened
        marker = alert.ebm_id.encode()
        for client in clients:
            client.wanted.append(marker)
        t0, t0_wall = time.perf_counter(), timezone.now()
        alert_approve(approver=approver, alert=alert, confirm_status="Exercise", version=version)
        approved_s = time.perf_counter() - t0
        latencies = arrivals(clients, marker, t0, 120)
        # Where the time goes: the approval's commit, the dispatcher's pick-up and signing, the
        # broker's PUBACK, then the broker → hub → every stream fan-out (first to last arrival).
        outbox = OutboxMessage.objects.get(key=alert.ebm_id)
        steps = {
            "approved": round(approved_s, 4),
            **{
                step: round((moment - t0_wall).total_seconds(), 4) if moment is not None else None
                for step, moment in (("prepared", outbox.prepared_at), ("published", outbox.published_at))
            },
            "first_arrival": round(min(latencies), 4),
            "fanout_spread": round(max(latencies) - min(latencies), 4),
        }
        print(
            f"alert to overlay: p50 {percentile(latencies, 0.5)} s, p99 {percentile(latencies, 0.99)} s",
            file=sys.stderr,
        )
        document = loop.run(_get_body(port, "/portal/push/poll", cookies[0]))  # what each screen was sent
        loop.run(streams_close(clients, tasks))

        home_bytes = len(loop.run(_get_body(port, "/portal/", cookies[0])))
        if args.part == "all":
            # 3. home throughput while the platform is up (no overlay streams held meanwhile).
            home = loop.run(throughput(port, "/portal/", cookies[: args.concurrency], args.seconds))
            print(f"home: {home}", file=sys.stderr)

    bare_port = free_port()
    os.environ["BARE_PAGE_BYTES"] = str(home_bytes)
    bare = spawn(
        [sys.executable, "-m", "uvicorn", "bench.portal_bare:app", "--host", "127.0.0.1", "--port", str(bare_port),
         "--no-access-log"],
        workdir / "logs" / "bare.log",
    )  # fmt: skip
    try:
        wait_until(lambda: port_open(bare_port), 60, "bare ASGI app")
        clients, tasks = loop.run(streams_open(bare_port, "/events", ["x=1"] * args.screens))
        bare_runs = []
        for attempt in range(3):
            mark = f"BARE{attempt:03d}".encode()
            for client in clients:
                client.wanted.append(mark)
            b0 = time.perf_counter()
            loop.run(_post(bare_port, "/push", mark + document))
            bare_runs.append(arrivals(clients, mark, b0, 60))
        loop.run(streams_close(clients, tasks))
        if args.part == "all":
            bare_home = loop.run(throughput(bare_port, "/", ["x=1"] * args.concurrency, args.seconds))
    finally:
        bare.terminate()
        try:
            bare.wait(15)
        except subprocess.TimeoutExpired:
            bare.kill()
            bare.wait(5)

    bare_p99s = sorted(percentile(run, 0.99) for run in bare_runs)
    bare_p99 = bare_p99s[1]
    p99 = percentile(latencies, 0.99)
    figures.update(
        {
            "alert_to_overlay": {
                "connect_all_s": round(connect_s, 2),
                "p50_s": percentile(latencies, 0.5),
                "p99_s": p99,
                "max_s": round(max(latencies), 4),
                "bare_push_p99_s": bare_p99,
                "bare_push_p99_runs_s": bare_p99s,
                "p99_vs_bare": round(p99 / bare_p99, 2) if bare_p99 else None,
                "steps_s": steps,
                "goal": "p99 <= 2 s and <= 2x bare push",
            },
        }
    )
    if args.part == "all":
        figures["first_screen"] = first
        figures["home_throughput"] = {
            "concurrency": args.concurrency,
            "seconds": args.seconds,
            "page_bytes": home_bytes,
            "portal": home,
            "bare": bare_home,
        }
    return figures


if __name__ == "__main__":
    main()
