"""In Chromium: a screen watching a video is interrupted by a dispatched drill within 2 s, in the
level's colour, marked as a drill, focus held on the OK tile; the Cancel takes the overlay away and
the video plays on, focus back where it was. Real uvicorn (config.asgi, in this process so it
shares the test database), real mosquitto, the real dispatcher; the clip is made by ffmpeg."""

import os
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from playwright.sync_api import Page

from ruralcast.alerts.models import Status
from ruralcast.messaging.tests.conftest import Broker, free_port
from ruralcast.push.tests import urls as test_urls
from ruralcast.push.tests.conftest import Dispatch, screen_make
from ruralcast.regions.models import Region

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.browser, pytest.mark.slow]


@pytest.fixture
def server(broker: Broker, settings: Any, tmp_path: Path) -> Iterator[str]:
    clip = tmp_path / "clip.webm"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc=duration=20:size=320x180:rate=10",
         "-c:v", "libvpx", "-b:v", "200k", str(clip)],
        check=True,
    )  # fmt: skip
    test_urls.CLIP["path"] = clip
    settings.ROOT_URLCONF = "ruralcast.push.tests.urls"
    from config.asgi import application

    port = free_port()
    web = uvicorn.Server(uvicorn.Config(application, host="127.0.0.1", port=port, lifespan="off", log_level="warning"))
    thread = threading.Thread(target=web.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not web.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    web.should_exit = True
    thread.join(10)


def _playing(page: Page) -> bool:
    return bool(
        page.evaluate("() => { const v = document.getElementById('video'); return !v.paused && v.currentTime > 0; }")
    )


def test_a_drill_interrupts_the_video_and_the_cancel_gives_it_back(
    server: str, page: Page, dispatch: Dispatch, rongjiang: Region, dashizi: Region
) -> None:
    page.context.add_cookies([{"name": "rc_screen", "value": screen_make(village=dashizi), "url": server}])
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}/test-push/video/")
    page.focus("#tile")
    page.wait_for_function(
        "() => { const v = document.getElementById('video'); return !v.paused && v.currentTime > 0.3; }"
    )
    time.sleep(0.5)  # the event stream is open (its first document arrived)

    alert = dispatch.drill(issuer=rongjiang, target=dashizi, severity=1)
    published = time.monotonic()
    page.wait_for_selector("#portal-overlay:not([hidden])", timeout=2000)
    shown_after = time.monotonic() - published
    assert shown_after <= 2.0
    overlay = page.locator("#portal-overlay")
    assert overlay.get_attribute("data-ebm-id") == alert.ebm_id
    assert "sev-1" in (overlay.get_attribute("class") or "") and "drill" in (overlay.get_attribute("class") or "")
    assert page.locator("[data-overlay-drill]").is_visible()
    assert page.locator("[data-overlay-title]").inner_text() == alert.title
    assert page.evaluate("() => document.getElementById('video').paused")
    assert page.evaluate("() => document.activeElement.matches('[data-overlay-ok]')")
    for key in ("ArrowUp", "ArrowLeft", "ArrowDown", "Tab"):
        page.keyboard.press(key)
        assert page.evaluate("() => document.activeElement.matches('[data-overlay-ok]')"), key
    page.screenshot(path=str(Path(test_urls.CLIP["path"]).parent / "overlay.png"))

    dispatch.cancel(alert)
    page.wait_for_selector("#portal-overlay", state="hidden", timeout=5000)
    page.wait_for_function("() => { const v = document.getElementById('video'); return !v.paused; }", timeout=5000)
    before = page.evaluate("() => document.getElementById('video').currentTime")
    page.wait_for_timeout(500)
    assert page.evaluate("() => document.getElementById('video').currentTime") > before  # it plays on
    assert page.evaluate("() => document.activeElement.id") == "tile"  # focus back where it was


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_the_overlay_of_a_drill_and_of_an_actual_alert_at_720p(
    server: str, page: Page, dispatch: Dispatch, rongjiang: Region, dashizi: Region, language: str, tmp_path: Path
) -> None:
    """The pictures of docs/portal.md's overlay (portal-overlay-<drill|actual>-720p-<zh|en>.png, into
    RURALCAST_PORTAL_SCREENSHOTS when set, scripts/portal_screenshots.sh): over the home screen, a
    drill (orange, the drill banner and dashed frame) and an actual alert (red, no banner)."""
    shots = Path(os.environ.get("RURALCAST_PORTAL_SCREENSHOTS", tmp_path))
    shots.mkdir(parents=True, exist_ok=True)
    page.context.add_cookies(
        [
            {"name": "rc_screen", "value": screen_make(village=dashizi), "url": server},
            {"name": "django_language", "value": language, "url": server},
        ]
    )
    page.set_viewport_size({"width": 1280, "height": 720})
    page.goto(f"{server}/portal/")
    page.wait_for_selector("html[data-portal-ready]")
    time.sleep(0.5)  # the event stream is open (its first document arrived)
    short = language[:2]
    for name, overrides in (
        ("drill", {"severity": 2}),
        ("actual", {"status": Status.ACTUAL, "severity": 1, "title": "暴雨红色预警",
                    "text": "榕江县今天14时至20时将有大暴雨，请沿河群众立即转移到安全地带。"}),
    ):  # fmt: skip
        alert = dispatch.drill(issuer=rongjiang, target=dashizi, **overrides)
        page.wait_for_selector(f"#portal-overlay[data-ebm-id='{alert.ebm_id}']:not([hidden])", timeout=5000)
        assert page.locator("[data-overlay-drill]").is_visible() == (name == "drill")
        page.wait_for_timeout(300)  # the colour's transition done
        page.screenshot(path=str(shots / f"portal-overlay-{name}-720p-{short}.png"))
        dispatch.cancel(alert)
        page.wait_for_selector("#portal-overlay", state="hidden", timeout=5000)
