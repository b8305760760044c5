"""Retake the user guide's "imported warning" screenshots (docs/img/guide-feed-*.png), zh and en.

Sets up a platform as `make run` does (migrate, demo_setup) in a run directory of its own, starts
the processes the walkthrough needs as the Procfile does (the demo CAP feed stand-in, broker,
dispatcher, ingest, the simulated terminals, web), polls the feed once, and then in headless
Chromium, once per language: the bureau admin looks at the feed, the county operator reviews and
submits a warning the feed drafted, the county approver approves it, and its live page fills with
the loudspeakers' receipts (the proof of broadcast). Chinese walks the rainstorm warning, English
the bilingual lightning warning.

    .venv/bin/python scripts/feed_guide_screenshots.py [--seed RUN_DIR] [--out docs/img]

`--seed`: copy a run directory already set up by `make run`'s migrate + demo_setup (skips the
region import, two minutes). Uses free ports everywhere; leaves nothing running.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(BASE_DIR))

import django  # noqa: E402
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

from ruralcast.core.tests.live_server import free_port, manage, platform_env  # noqa: E402
from ruralcast.web.tests import browser as browser_helpers  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# language → (the feed message walked through, what its title contains)
WALKS = {"zh-hans": ("1.xml", "暴雨蓝色预警"), "en": ("3.xml", "雷电黄色预警")}


def _process(stack: ExitStack, env: dict[str, str], log_dir: Path, name: str, *args: str) -> None:
    log = (log_dir / f"{name}.log").open("wb")
    process = subprocess.Popen(args, env=env, cwd=BASE_DIR, stdout=log, stderr=subprocess.STDOUT)

    def stop() -> None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
        log.close()

    stack.callback(stop)


def _context_page(browser: Browser, url: str, language: str) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    return context.new_page()


def _walk(browser: Browser, url: str, credentials: dict[str, str], language: str, out: Path) -> None:
    suffix = "zh" if language.startswith("zh") else "en"
    entry, title = WALKS[language]

    admin = _context_page(browser, url, language)
    browser_helpers.log_in(admin, url, "gz-bureau", credentials["gz-bureau"])
    admin.goto(f"{url}/alerts/feeds/")
    admin.locator("table a").first.click()
    expect(admin.locator("[data-feed-entries]")).to_contain_text("demo-rjqx-")
    admin.screenshot(path=str(out / f"guide-feed-subscription-{suffix}.png"), full_page=True)
    # The draft the feed made of this message (the entry's row names the message's URL).
    row = admin.locator("[data-feed-entries] tbody tr", has_text=f"/{entry}").first
    ebm_id = (row.locator("a").first.get_attribute("href") or "").rstrip("/").rsplit("/", 1)[-1]
    admin.context.close()

    operator = _context_page(browser, url, language)
    browser_helpers.log_in(operator, url, "rongjiang-operator", credentials["rongjiang-operator"])
    operator.goto(f"{url}/alerts/")
    operator.screenshot(path=str(out / f"guide-feed-drafts-{suffix}.png"), full_page=True)
    operator.goto(f"{url}/alerts/{ebm_id}/")
    expect(operator.locator("[data-import-feed]")).to_be_visible()
    if operator.locator("[data-other-info]").count():  # the bilingual warning's English block
        operator.locator("[data-other-info] summary").first.click()
    operator.screenshot(path=str(out / f"guide-feed-review-{suffix}.png"), full_page=True)
    operator.locator("form[action$='/submit/'] button").click()
    expect(operator.locator("[data-awaiting-second-person]")).to_be_visible(timeout=60_000)
    operator.context.close()

    approver = _context_page(browser, url, language)
    browser_helpers.log_in(approver, url, "rongjiang-approver", credentials["rongjiang-approver"])
    approver.goto(f"{url}/alerts/{ebm_id}/")
    expect(approver.locator("body")).to_contain_text(title)
    approver.screenshot(path=str(out / f"guide-feed-approval-{suffix}.png"), full_page=True)
    approver.select_option("select[name=confirm_status]", "Exercise")
    approver.once("dialog", lambda dialog: dialog.accept())
    approver.locator("form[action$='/approve/'] button").click()
    expect(approver.locator(".msg-success")).to_be_visible()
    # Receipts arrive within seconds; wait until the finished count stops moving.
    approver.goto(f"{url}/alerts/{ebm_id}/")
    time.sleep(30)
    approver.reload()
    expect(approver.locator("#broadcast-status [data-broadcast-totals]")).to_be_visible(timeout=60_000)
    time.sleep(3)  # the live figures refresh every 2 s
    approver.screenshot(path=str(out / f"guide-feed-proof-{suffix}.png"), full_page=True)
    approver.context.close()


def _wait_for(url: str, *, seconds: float = 300) -> None:
    """Until `url` answers 200 (a first start on a loaded two-core machine takes a while)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=10) as answer:  # noqa: S310 — our own local server
                if answer.status == 200:
                    return
        except OSError:
            if time.monotonic() > deadline:
                raise
        time.sleep(1)


def main() -> None:
    parser = argparse.ArgumentParser(description="Retake docs/img/guide-feed-*.png")
    parser.add_argument("--seed", type=Path, help="a run directory set up by migrate + demo_setup to start from")
    parser.add_argument("--out", type=Path, default=BASE_DIR / "docs" / "img")
    args = parser.parse_args()
    run_dir = Path(tempfile.mkdtemp(prefix="feed-guide-"))
    if args.seed:
        shutil.copytree(args.seed, run_dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns("broker", "*.log"))
    feed_port = free_port()
    env = platform_env(
        run_dir,
        RURALCAST_MQTT_PORT=str(free_port()),
        RURALCAST_CAP_FEED_HOSTS="127.0.0.1",
        RURALCAST_DEMO_FEED_PORT=str(feed_port),
    )
    # The second-factor codes come from the demo's own helper, which reads Django's settings.
    for name in ("DJANGO_SETTINGS_MODULE", "RURALCAST_RUN_DIR", "DATABASE_URL", "DJANGO_SECRET_KEY"):
        os.environ[name] = env[name]
    django.setup()
    manage(env, "migrate", "--noinput", "-v0")
    print(manage(env, "demo_setup"))
    credentials = {}
    for line in (run_dir / "demo-credentials.txt").read_text(encoding="utf-8").splitlines()[1:]:
        username, password, _role, totp_secret, _uri = line.split("\t")
        credentials[username] = password
        if totp_secret:
            browser_helpers.TOTP_SECRETS[username] = totp_secret
    python = sys.executable
    with ExitStack() as stack:
        _process(stack, env, run_dir, "demofeed", python, "-m", "ruralcast.alerts.demo_feed", "--port", str(feed_port))
        _process(stack, env, run_dir, "broker", python, "manage.py", "broker_run")
        _process(stack, env, run_dir, "dispatcher", python, "manage.py", "dispatcher")
        _process(stack, env, run_dir, "ingest", python, "manage.py", "ingest")
        _process(stack, env, run_dir, "terminals", python, "manage.py", "demo_simulator")
        web_port = free_port()
        _process(
            stack, env, run_dir, "web", python, "-m", "uvicorn", "config.asgi:application",
            "--host", "127.0.0.1", "--port", str(web_port), "--no-proxy-headers", "--no-access-log",
        )  # fmt: skip
        url = f"http://127.0.0.1:{web_port}"
        _wait_for(f"{url}/healthz")
        time.sleep(3)
        print(manage(env, "feeds_poll"))
        time.sleep(30)  # the simulated terminals connect
        args.out.mkdir(parents=True, exist_ok=True)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM)
            for language in WALKS:
                _walk(browser, url, credentials, language, args.out)
            browser.close()
    print(f"screenshots in {args.out}; run directory {run_dir}")


if __name__ == "__main__":
    main()
