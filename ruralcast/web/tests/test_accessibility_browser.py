"""Every console and portal page against axe-core's WCAG 2 A and AA rules (issue 16, item 21).

One walk in Chromium over the demo server (`demo_server`, plus accessibility_content: the portal's
screen, replay and drill, an alert draft and a work order). The console's pages are every URL
pattern that takes no argument (derived from the URL configuration, so a new page is walked
without being listed here; EXCLUDED names what is not a page) and one instance of each main
detail page (alert, draft form, terminal, work order, media asset, schedule, report entry, region).
The portal's: the TV home, today's programme, the player, an alert, a notice and the pairing
screen at 1280×720, and the villager's phone pages (/portal/me/, signed in by SMS code) at a phone
viewport. Each page is checked in zh-Hans; the login page, the dashboard and the detail pages in
English too (ENGLISH_SAMPLE).

The check (browser.py `axe_violations`) fails on any serious or critical violation, with the page,
rule, impact and elements. Adding a page: a console page without arguments is found by itself; a
detail page goes into accessibility_content's list; a portal page into PORTAL_PAGES.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import NoReverseMatch, reverse
from playwright.sync_api import Browser, BrowserContext, Page

from ruralcast.web.tests.browser import BASE_DIR, axe_violations, csp_watch, log_in
from ruralcast.web.tests.test_csp import console_url_names

pytestmark = [pytest.mark.browser, pytest.mark.slow]

# Named URLs without arguments that are not pages a person reads: files, JSON, partials that htmx
# swaps into a page (checked there), redirects and POST-only actions.
EXCLUDED = {
    "accounts:logout", "set_language", "favicon", "healthz", "prometheus-django-metrics",
    "api:openapi-json", "audit:export", "security:export", "terminals:provision_zip",
    "regions:picker", "terminals:fleet_map", "terminals:fleet_rates", "portal-pair:status", "portal-push:poll",
    "portal-me:export", "portal-me:sign_out", "accounts:recovery_codes_new",
}  # fmt: skip
# The console pages also checked in English: the dashboard and the detail pages of accessibility_content.
ENGLISH_SAMPLE = ["/"]
PHONE = {"width": 390, "height": 844}
TV = {"width": 1280, "height": 720}
PHONE_NUMBER = "10000000017"  # the demo villager (villagers/demo.py)


@pytest.fixture(scope="module")
def content(demo_server: dict) -> dict:
    made = subprocess.run(
        [sys.executable, str(BASE_DIR / "manage.py"), "shell", "-v0", "-c",
         "from ruralcast.web.tests.accessibility_content import accessibility_content_create as c; print(c())"],
        env=demo_server["env"], cwd=BASE_DIR, check=True, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    return json.loads(made.stdout.strip().splitlines()[-1])


def _pages_without_arguments() -> tuple[list[str], list[str]]:
    """(console paths, portal paths) of every named URL that takes no argument, EXCLUDED aside."""
    console: list[str] = []
    portal: list[str] = []
    for name in console_url_names():
        if name in EXCLUDED:
            continue
        try:
            path = reverse(name)
        except NoReverseMatch:
            continue  # takes arguments: the detail pages come from accessibility_content
        is_portal = path.startswith("/portal/") and not path.startswith("/portal/console/")
        (portal if is_portal else console).append(path)
    return console, portal


def _check(page: Page, url: str, found: list[str], *, wait: str | None = None) -> bool:
    """Open `url`; when it answers a page, add axe's serious/critical violations to `found`."""
    # Asked first without the page (same cookies): Chromium turns an empty error answer (a 405 of
    # a POST-only action) into its own error page, which breaks the navigation after it.
    probe = page.request.get(url, max_redirects=0)
    assert probe.status < 500, f"{url}: {probe.status}"
    if probe.status != 200 or not probe.headers.get("content-type", "").startswith("text/html"):
        return False
    answer = page.goto(url)
    assert answer is not None and answer.status == 200, f"{url}: {answer.status if answer else 'no answer'}"
    page.wait_for_load_state("load")
    if wait:
        page.wait_for_selector(wait)
    found.extend(axe_violations(page))
    return True


def _context(browser: Browser, *, language: str, url: str, **options: object) -> tuple[BrowserContext, list[str]]:
    context = browser.new_context(**options)  # type: ignore[arg-type]
    context.add_cookies([{"name": "django_language", "value": language, "url": url}])
    return context, csp_watch(context)


def _villager_sign_in(page: Page, url: str, run_dir: Path) -> None:
    """The demo villager signs in on the phone with the code the SMS stand-in wrote down."""
    log = run_dir / "sms-stand-in.log"
    before = log.read_text(encoding="utf-8") if log.exists() else ""
    page.goto(f"{url}/portal/me/sign-in/")
    page.fill("input[name=phone]", PHONE_NUMBER)
    page.click("#vg-send-code")
    page.wait_for_url("**/sign-in/code/**")
    sent = log.read_text(encoding="utf-8")[len(before) :]
    code = re.findall(r"\b(\d{6})\b", sent.splitlines()[-1].split("\t", 3)[-1])
    assert code, f"no code in the SMS stand-in's message: {sent!r}"
    page.fill("input[name=code]", code[-1])
    if page.locator("input[name=consent]").count():
        page.check("input[name=consent]")
    if page.locator("input[name=display_name]").count():
        page.fill("input[name=display_name]", "李大姐")
    page.click("#vg-sign-in")
    page.wait_for_url(lambda address: "/sign-in/" not in address)


def test_every_console_and_portal_page_has_no_serious_or_critical_axe_violation(
    browser: Browser, demo_server: dict, content: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    run_dir = Path(demo_server["env"]["RURALCAST_RUN_DIR"])
    console, portal = _pages_without_arguments()
    found: list[str] = []
    csp: list[str] = []
    checked = 0

    # The console, as the platform administrator (login page first, signed out): every page in
    # zh-Hans, a sample in English (the language changes words and their length, not markup).
    for language, paths in (("zh-hans", [*console, *content["pages"]]), ("en", ENGLISH_SAMPLE + content["pages"])):
        context, watch = _context(browser, language=language, url=url)
        page = context.new_page()
        checked += _check(page, f"{url}/accounts/login/", found)
        log_in(page, url, "admin", credentials["admin"])
        for path in paths:
            checked += _check(page, url + path, found)
        context.close()
        csp += watch

    # The TV portal, on the paired screen; the pairing screen on one that is not paired.
    tv_pages = [
        "/portal/",
        "/portal/broadcasting/today/",
        f"/portal/media/replay/{content['replay']}/",
        f"/portal/alerts/{content['drill']}/",
    ]
    context, watch = _context(browser, language="zh-hans", url=url, viewport=TV)
    context.add_cookies([{"name": "rc_screen", "value": content["token"], "url": url}])
    page = context.new_page()
    for path in tv_pages:
        checked += _check(page, url + path, found, wait="html[data-portal-ready]")
    notice = page.goto(url + "/portal/") and page.locator("a[href*='/portal/notices/']").first
    assert notice and notice.count(), "the demo's notice board shows on the home screen"
    checked += _check(page, url + str(notice.get_attribute("href")), found, wait="html[data-portal-ready]")
    context.close()
    csp += watch
    context, watch = _context(browser, language="zh-hans", url=url, viewport=TV)
    page = context.new_page()
    checked += _check(page, f"{url}/portal/pair/", found)
    context.close()
    csp += watch

    # The villager's phone pages: signed out, then signed in.
    context, watch = _context(browser, language="zh-hans", url=url, viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    checked += _check(page, f"{url}/portal/me/sign-in/", found)
    _villager_sign_in(page, url, run_dir)
    for path in [p for p in portal if p.startswith("/portal/me/")]:
        checked += _check(page, url + path, found)
    context.close()
    csp += watch

    assert found == [], "axe-core (WCAG 2 A/AA) serious or critical violations:\n" + "\n".join(found)
    assert csp == [], "Content-Security-Policy violations:\n" + "\n".join(csp)
    assert checked >= len(console), f"only {checked} pages checked: the walk no longer reaches the console"
