"""In Chromium: an operator uploads a video through the console (chunked), watches the job's progress
bar, and the HLS player (hls.js) plays it: the time advances. The live page shows its status.

Debian's Chromium plays H.264/AAC through MSE (checked with MediaSource.isTypeSupported), so the
test plays the video ladder itself. Runs against the `demo_server` plus a real `db_worker`.
"""

import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import BASE_DIR, SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def worker(demo_server: dict, tmp_path: Path) -> Iterator[None]:
    """The task worker of `make run` (`manage.py db_worker`) on the demo server's database."""
    log = (tmp_path / "worker.log").open("w")
    process = subprocess.Popen(
        [sys.executable, str(BASE_DIR / "manage.py"), "db_worker", "--no-reload", "--interval", "0.2"],
        env=demo_server["env"],
        cwd=BASE_DIR,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    yield
    process.terminate()
    try:
        process.wait(timeout=60)  # it finishes the job in hand first
    except subprocess.TimeoutExpired:
        process.kill()
    log.close()
    print((tmp_path / "worker.log").read_text()[-3000:])


def test_an_uploaded_video_plays_in_the_hls_player(page: Page, demo_server: dict, worker: None, tmp_path: Path) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    clip = tmp_path / "稻田管理.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-nostdin", "-y",
         "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25:duration=8", "-f", "lavfi", "-i", "sine=duration=8",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-c:a", "aac", "-shortest", str(clip)],
        check=True, timeout=60,
    )  # fmt: skip
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/media/upload/")
    page.set_input_files("input[type=file]", str(clip))
    page.fill("input[name=title]", "稻田管理（示范课）")
    page.fill("input[name=tags]", "农技, 水稻")
    page.select_option("select[name=access]", "region")
    page.screenshot(path=str(SCREENSHOTS / "media-upload.png"), full_page=True)
    page.locator("form[data-chunked-upload] button[type=submit]").click()
    page.wait_for_url("**/media/a/*/", timeout=30_000)
    expect(page.locator("[data-job-state=succeeded]")).to_be_visible(timeout=60_000)
    # no reload: the poll that found the job done swapped the player in, and player.js attached it
    expect(page.locator("[data-asset-state=ready]")).to_be_visible()
    video = page.locator("video[data-hls][data-hls-attached]")
    expect(video).to_have_count(1)
    page.evaluate("document.querySelector('video').muted = true; document.querySelector('video').play()")
    # A function, not an expression: Playwright would eval() an expression, which the page's CSP refuses.
    page.wait_for_function("() => document.querySelector('video').currentTime > 1.5", timeout=20_000)
    assert page.evaluate("document.querySelector('video').videoHeight") == 180
    page.screenshot(path=str(SCREENSHOTS / "media-player.png"), full_page=True)
    page.goto(f"{url}/media/?view=tv")
    expect(page.locator("[data-tv-item]").first).to_be_focused()
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.screenshot(path=str(SCREENSHOTS / "media-tv.png"))
    page.keyboard.press("Enter")
    page.wait_for_url("**/media/a/*/")


def test_a_scheduled_live_is_pushed_by_ffmpeg_watched_and_replayed(page: Page, demo_server: dict, worker: None) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/media/live/new/")
    page.fill("input[name=title]", "水稻病虫害防治直播课")
    page.select_option("select[name=access]", "public")
    page.locator("main form button.primary").click()
    expect(page.locator("[data-live-status=waiting]")).to_be_visible()
    command = page.locator("[data-ingest-command]").inner_text()
    ingest = command.rsplit('"', 2)[1]
    assert "/media/ingest/" in ingest
    push = subprocess.Popen(
        ["ffmpeg", "-v", "error", "-nostdin", "-re",
         "-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
         "-t", "14", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25", "-pix_fmt", "yuv420p",
         "-c:a", "aac", "-f", "hls", "-hls_time", "1", "-hls_list_size", "0", "-hls_playlist_type", "event",
         "-method", "PUT", "-http_persistent", "1", ingest],
    )  # fmt: skip
    try:
        expect(page.locator("[data-live-status=live]")).to_be_visible(timeout=15_000)  # htmx polls the status
        page.reload()
        page.evaluate("document.querySelector('video').play()")
        page.wait_for_function("() => document.querySelector('video').currentTime > 1", timeout=15_000)
        expect(page.locator("[data-viewers]")).to_have_text(re.compile(r"[:：]\s*1$"), timeout=10_000)  # this viewer
        page.screenshot(path=str(SCREENSHOTS / "media-live.png"), full_page=True)
        assert push.wait(timeout=40) == 0
    finally:
        if push.poll() is None:
            push.kill()
    # ffmpeg's last playlist (#EXT-X-ENDLIST) ends the live; if the server could not read it before
    # ffmpeg hung up, the live ends after 20 s without a segment (LIVE_IDLE_SECONDS)
    expect(page.locator("[data-live-status=ended]")).to_be_visible(timeout=40_000)
    page.reload()
    expect(page.locator("#live-status a")).to_be_visible(timeout=60_000)
