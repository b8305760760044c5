"""A real ruralcast server for browser tests, prepared by the commands `make run` uses.

`demo_server` runs uvicorn (the ASGI app) on its own SQLite file after `migrate` and `demo_setup`,
and hands the tests the URL and the demo credentials `demo_setup` printed. One per test session
(and xdist worker), shared by every browser test module; registered as a plugin in the root conftest.

Demo users whose roles need a second factor have an authenticator key in the credentials file;
`log_in` answers the code page with the code for it, as a person with the app would.

Every browser test that uses Playwright's `page` (or `context`) also fails on any
Content-Security-Policy violation the browser reports in its pages (`csp_watch`): a style attribute
that slipped into a template, a library that injects a <style>, a worker the policy does not allow.
A test that opens a context of its own calls `csp_watch(context)` and checks the list itself.

Accessibility: `axe_violations(page)` runs axe-core (requirements/js, from npm) over the page as it
is now and answers its serious and critical violations of the WCAG 2 A and AA rules, one readable
line per rule: page URL, rule id, impact, what the rule asks and the offending elements' selectors.
A browser test of any page asserts `axe_violations(page) == []` once the page shows what it shows;
test_accessibility_browser.py walks every console and portal page so (CONTRIBUTING.md, Accessibility).
"""

import functools
import os
import secrets
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, ConsoleMessage, Page

BASE_DIR = Path(__file__).resolve().parents[3]
# username → base32 authenticator key of the demo users that have one (filled by demo_server).
TOTP_SECRETS: dict[str, str] = {}
_last_step: dict[str, int] = {}
_steps_lock = threading.Lock()
SCREENSHOTS = Path(os.environ.get("RURALCAST_SCREENSHOT_DIR", BASE_DIR / ".run" / "screenshots"))


# Reports each violation to the console, where Playwright hears it (Chromium also logs a "Refused
# to …" line for most of them; either is counted).
_CSP_REPORTER = """
document.addEventListener("securitypolicyviolation", function (event) {
  console.error("CSP violation: " + event.violatedDirective + " blocked " + (event.blockedURI || "inline") +
                " at " + event.sourceFile + ":" + event.lineNumber);
}, true);
"""


def csp_watch(context: BrowserContext) -> list[str]:
    """Every Content-Security-Policy violation in the pages of `context`, as it happens."""
    violations: list[str] = []
    context.add_init_script(_CSP_REPORTER)

    def heard(message: ConsoleMessage) -> None:
        if "CSP violation" in message.text or "Content Security Policy" in message.text:
            where = message.page.url if message.page else "?"
            violations.append(f"{where}: {message.text}")

    context.on("console", heard)
    return violations


@pytest.fixture(autouse=True)
def _no_csp_violations(request: pytest.FixtureRequest) -> Iterator[None]:
    if "page" not in request.fixturenames and "context" not in request.fixturenames:
        yield
        return
    violations = csp_watch(request.getfixturevalue("context"))
    yield
    assert violations == [], "Content-Security-Policy violations:\n" + "\n".join(violations)


AXE_JS = BASE_DIR / "requirements" / "js" / "node_modules" / "axe-core" / "axe.min.js"
AXE_TAGS = ("wcag2a", "wcag2aa")  # the WCAG 2.0 level A and AA rules
AXE_IMPACTS = ("serious", "critical")
_AXE_RUN = """async (tags) => {
  const result = await window.axe.run(document, {runOnly: {type: "tag", values: tags}, resultTypes: ["violations"]});
  return result.violations.map((v) => ({id: v.id, impact: v.impact, help: v.help,
                                        targets: v.nodes.map((n) => n.target.join(" "))}));
}"""


@functools.cache
def _axe_source() -> str:
    """axe.min.js, read once per test run (≈ 0.5 MB, evaluated again on every page)."""
    return AXE_JS.read_text(encoding="utf-8")


def axe_violations(page: Page, *, impacts: tuple[str, ...] = AXE_IMPACTS) -> list[str]:
    """The WCAG 2 A/AA violations of `impacts` (serious, critical) axe-core finds in the page now.

    axe-core goes in through Playwright's evaluate (the debugging channel), not a <script> tag: the
    console's strict Content-Security-Policy refuses inline scripts, `page.add_script_tag` included,
    and the pages are checked under the policy users get."""
    if not AXE_JS.exists():
        pytest.fail(f"{AXE_JS} is missing: run scripts/bootstrap.sh test (npm ci in requirements/js)")
    if not page.evaluate("() => typeof window.axe !== 'undefined'"):
        page.evaluate(_axe_source())
    found = page.evaluate(_AXE_RUN, list(AXE_TAGS))
    return [
        f"{page.url}: {v['id']} ({v['impact']}) {v['help']} — {len(v['targets'])} node(s): {', '.join(v['targets'][:8])}"
        for v in found
        if v["impact"] in impacts
    ]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, object]]:
    run_dir = tmp_path_factory.mktemp("run")
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.django.local",
        "RURALCAST_RUN_DIR": str(run_dir),
        "DATABASE_URL": f"sqlite:///{run_dir / 'db.sqlite3'}",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(40),
    }
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--noinput", "-v0"], env=env, check=True, cwd=BASE_DIR)
    setup = subprocess.run([*manage, "demo_setup"], env=env, check=True, cwd=BASE_DIR, capture_output=True, text=True)
    credentials = {}
    for line in (run_dir / "demo-credentials.txt").read_text(encoding="utf-8").splitlines()[1:]:
        username, password, _role, totp_secret, _uri = line.split("\t")
        credentials[username] = password
        if totp_secret:
            TOTP_SECRETS[username] = totp_secret
            assert totp_secret in setup.stdout, "demo_setup must print each authenticator key once"
        assert password in setup.stdout, "demo_setup must print each password once"
    port = _free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            *("-m", "uvicorn", "config.asgi:application", "--host", "127.0.0.1", "--port", str(port)),
            "--no-proxy-headers",
            # The portal's push streams stay open until the browser goes: do not wait for them.
            *("--timeout-graceful-shutdown", "2"),
        ],
        env=env,
        cwd=BASE_DIR,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90  # a first request on a loaded 2-core machine takes seconds
    while True:
        try:
            with urllib.request.urlopen(f"{url}/healthz", timeout=10) as answer:
                if answer.status == 200:
                    break
        except OSError:
            if time.monotonic() > deadline:
                server.kill()
                raise
            time.sleep(0.2)
    yield {"url": url, "credentials": credentials, "env": env}
    server.terminate()
    try:
        server.wait(timeout=10)
    except subprocess.TimeoutExpired:  # a stream that outlived the graceful shutdown
        server.kill()
        server.wait(timeout=10)


def totp_code_for(username: str) -> str:
    """A code for the demo user's authenticator not used yet (each 30-second code works once)."""
    from ruralcast.web.management.commands.demo_totp import demo_totp_code

    with _steps_lock:
        now = int(time.time()) // 30
        step = max(now, _last_step.get(username, -1) + 1)
        if step > now + 1:  # the server accepts one step ahead; wait for the clock to catch up
            time.sleep((step - 1) * 30 - time.time() + 0.5)
            now = int(time.time()) // 30
        _last_step[username] = step
        return demo_totp_code(TOTP_SECRETS[username], step_offset=step - now)


def log_in(page: Page, url: str, username: str, password: str) -> None:
    page.goto(f"{url}/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action$='/login/'] button[type=submit]")
    if username in TOTP_SECRETS:
        page.wait_for_url("**/accounts/second-factor/**")
        page.fill("input[name=token]", totp_code_for(username))
        page.click("form[action$='/second-factor/'] button[type=submit]")
