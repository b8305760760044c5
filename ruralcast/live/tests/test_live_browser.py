"""In Chromium with its fake microphone (a beeping test tone): the village broadcaster of 大十字社区
starts a live session from the console, the page streams 16 kHz PCM over the WebSocket, the server
encodes, signs and publishes it, and a real terminal agent in that village (provisioned by the demo
set-up, connected to mosquitto with its own account) plays it and reports; stopping the session puts
its recording into the programme library. Screenshots feed docs/live.md."""

import json
import os
import secrets
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Dialog, Playwright, expect

from ruralcast.web.tests.browser import BASE_DIR, SCREENSHOTS, _free_port, csp_watch, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

VILLAGE = "522632100001"
FAKE_MEDIA = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def _wait(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.fixture(scope="module")
def live_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The demo set-up with its broker on a free port, the web server and one village's agent."""
    run_dir = tmp_path_factory.mktemp("live-run")
    mqtt_port, web_port = _free_port(), _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.django.local",
        "RURALCAST_RUN_DIR": str(run_dir),
        "DATABASE_URL": f"sqlite:///{run_dir / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
        "RURALCAST_MQTT_PORT": str(mqtt_port),
        # The terminals' TLS listener on a free port too: the default (18883) is one per machine.
        "RURALCAST_MQTT_TLS_PORT": str(_free_port()),
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=BASE_DIR)
    subprocess.run([*manage, "demo_setup"], env=env, check=True, cwd=BASE_DIR, capture_output=True)
    credentials = dict(
        line.split("\t")[:2] for line in (run_dir / "demo-credentials.txt").read_text("utf-8").splitlines()[1:]
    )
    processes: list[subprocess.Popen[bytes]] = []
    logs = run_dir / "logs"
    logs.mkdir()

    def spawn(name: str, argv: list[str]) -> None:
        with (logs / f"{name}.log").open("wb") as log:
            processes.append(subprocess.Popen(argv, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT))

    spawn("broker", [*manage, "broker_run"])
    spawn("ingest", [*manage, "ingest"])
    spawn("web", [sys.executable, "-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(web_port)])  # fmt: skip
    terminal, password = next(
        line.split(":", 1)
        for line in (run_dir / "sim" / "terminals.passwords").read_text().splitlines()
        if line[1:13] == VILLAGE
    )
    cache = run_dir / "agent"
    config = run_dir / "agent.json"
    config.write_text(
        json.dumps(
            {
                "terminal_id": terminal,
                "village_code": VILLAGE,
                "broker": f"127.0.0.1:{mqtt_port}",
                "username": terminal,
                "password": password,
                "trust_path": str(run_dir / "sim" / "trust.json"),
                "cache_dir": str(cache),
                "sink": {"type": "file", "path": "played.jsonl", "realtime": False},
                "status_interval": 0,
            }
        )
    )
    url = f"http://127.0.0.1:{web_port}"

    def up() -> bool:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=2) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    try:
        _wait(up, 90, "the web server")
        spawn("agent", [str(Path(sys.executable).parent / "ruralcast-terminal"), "agent", "--config", str(config)])
        _wait(lambda: "connected" in (logs / "agent.log").read_text(errors="replace"), 20, "the agent")
        yield {"url": url, "credentials": credentials, "cache": cache, "terminal": terminal, "logs": logs}
    finally:
        for process in reversed(processes):
            process.terminate()
        for process in processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()


def test_a_village_broadcaster_speaks_from_the_browser_and_the_village_loudspeaker_plays_it(
    playwright: Playwright, browser_type_launch_args: dict[str, Any], live_stack: dict[str, Any]
) -> None:
    # The suite's Chromium settings (root conftest.py) plus its fake microphone and consent.
    browser = playwright.chromium.launch(
        **{**browser_type_launch_args, "args": [*browser_type_launch_args.get("args", []), *FAKE_MEDIA]}
    )
    try:
        context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN")
        violations = csp_watch(context)  # the AudioWorklet and the WebSocket under the console's policy
        page = context.new_page()
        url = live_stack["url"]
        log_in(page, url, "dashizi-broadcaster", live_stack["credentials"]["dashizi-broadcaster"])
        page.goto(f"{url}/live/")
        page.locator("[data-region-picker] input[type=search]").fill("大十字")
        page.locator(f"[data-region-code='{VILLAGE}']").first.click()
        questions: list[str] = []

        def answer(dialog: Dialog) -> None:
            questions.append(dialog.message)
            dialog.accept()

        page.once("dialog", answer)
        page.locator("#live-start").click()
        panel = page.locator("#live-panel")
        expect(panel).to_have_attribute("data-state", "on-air", timeout=15000)
        session = panel.get_attribute("data-session")
        assert "大十字" in questions[0] and VILLAGE not in questions[0]  # the region by name, not its code
        played = live_stack["cache"] / "live" / f"live-{session}.mp3"
        _wait(lambda: played.exists() and played.stat().st_size > 4 * 720, 20, "the agent to play the live chunks")
        expect(page.locator("#live-status")).to_contain_text("1", timeout=10000)  # one terminal reported
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / "live-on-air.png"), full_page=True)
        assert int(panel.get_attribute("data-frames-sent") or 0) > 5
        page.locator("#live-stop").click()
        expect(panel).to_have_attribute("data-state", "ended", timeout=10000)
        # The past sessions list shows the session just ended without a reload, with why it ended.
        expect(page.locator(f"#live-sessions a[href='/live/{session}/']")).to_have_count(1, timeout=10000)
        expect(page.locator("#live-sessions")).to_contain_text("由喊话人结束")

        page.goto(f"{url}/live/{session}/")
        for _ in range(20):  # the recording is normalised into the library right after the stop
            if page.locator("dd audio").count():
                break
            time.sleep(0.5)
            page.reload()
        expect(page.locator("dd audio")).to_have_count(1)
        page.goto(f"{url}/live/")
        page.screenshot(path=str(SCREENSHOTS / "live-sessions.png"), full_page=True)
        page.goto(f"{url}/broadcasting/library/")
        expect(page.locator("table")).to_contain_text("实时喊话")
        assert violations == []
    finally:
        browser.close()
    assert len(played.read_bytes()) > 4 * 720
