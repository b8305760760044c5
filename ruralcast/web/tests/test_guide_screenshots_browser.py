"""The user guide's pictures, taken in Chinese and in English from the demo (docs/user-guide.md).

One walk per language over the pages the guide shows, as the demo users who use them: each page
must open and show what the guide says (a heading, a table, the confirmation sentence). With
`RURALCAST_GUIDE_SCREENSHOTS=docs/img` (scripts/guide_screenshots.sh) the pictures go into the
guide as `<name>-zh.png` and `<name>-en.png`, 1280 pixels wide and re-compressed; otherwise into
the browser tests' screenshot folder, where nobody keeps them.

The pictures of an alert being approved and received come from the alerts browser tests, which
drive that flow (docs/img/alert-*.png).
"""

import os
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

OUT = Path(os.environ.get("RURALCAST_GUIDE_SCREENSHOTS", SCREENSHOTS / "guide"))
COUNTY = "522632000000"  # 榕江县, the demo county


def _shoot(page: Page, name: str, lang: str, *, full_page: bool = True) -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{name}-{lang}.png"
    page.screenshot(path=str(path), full_page=full_page)
    try:  # smaller files for the repository; the picture stays the same
        from PIL import Image

        with Image.open(path) as image:
            image.load()
        image.save(path, optimize=True)
    except ImportError:  # pragma: no cover - Pillow is a dependency
        pass


def _as(page: Page, url: str, lang: str, username: str, password: str) -> None:
    """Log out whoever is in, then log `username` in with the console in `lang`."""
    page.context.clear_cookies()
    page.context.add_cookies([{"name": "django_language", "value": lang, "url": url}])
    log_in(page, url, username, password)


# Run when the pictures are retaken (scripts/guide_screenshots.sh sets RURALCAST_GUIDE_SCREENSHOTS),
# not in every CI run: the accessibility walk (test_accessibility_browser.py) opens every console
# page in every run, and each app's own tests check what these pages say.
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        "RURALCAST_GUIDE_SCREENSHOTS" not in os.environ,
        reason="run by scripts/guide_screenshots.sh to retake the pictures",
    ),
]


@pytest.mark.parametrize(("lang", "short"), [("zh-hans", "zh"), ("en", "en")])
def test_the_user_guide_pages_in_both_languages(page: Page, demo_server: dict, lang: str, short: str) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 860})

    page.context.add_cookies([{"name": "django_language", "value": lang, "url": url}])
    page.goto(f"{url}/accounts/login/")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    _shoot(page, "login", short)

    # A bureau administrator: dashboard, regions, designations, users, audit, tokens, keys, duty.
    _as(page, url, lang, "gz-bureau", credentials["gz-bureau"])
    expect(page.locator(".role-bureau_admin")).to_be_visible()
    _shoot(page, "dashboard", short)
    page.goto(f"{url}/regions/{COUNTY}/")
    expect(page.locator("h1")).to_contain_text("榕江县")  # region names are Chinese in both languages
    _shoot(page, "regions", short, full_page=False)
    page.goto(f"{url}/regions/designations/")
    page.locator("table a").first.click()
    expect(page.locator("table")).to_be_visible()
    _shoot(page, "designation", short, full_page=False)
    page.goto(f"{url}/accounts/users/guzhou-viewer/")
    page.select_option("select[name=role]", "content_editor")
    page.fill("input[name=region__q]", "rongjiang")
    expect(page.locator(f".picker-results button[data-region-code='{COUNTY}']")).to_be_visible()
    _shoot(page, "region-picker", short)
    page.goto(f"{url}/audit/?verb=role.grant")
    expect(page.locator("table")).not_to_contain_text("role.grant")
    _shoot(page, "audit", short, full_page=False)
    page.goto(f"{url}/accounts/tokens/")
    expect(page.locator("input[name=name]")).to_be_visible()
    _shoot(page, "tokens", short)
    page.goto(f"{url}/accounts/keys/")
    expect(page.locator("h1")).to_be_visible()
    _shoot(page, "security-keys", short)
    page.goto(f"{url}/notifications/")
    expect(page.locator("h1")).to_be_visible()
    _shoot(page, "notifications-inbox", short, full_page=False)
    page.goto(f"{url}/notifications/duty/?region={COUNTY}")
    expect(page.locator("h1")).to_contain_text("榕江县")  # region names are Chinese in both languages
    _shoot(page, "notifications-roster", short, full_page=False)

    # A station operator: the alert form, the fleet, a command to the county, a terminal, import, library.
    _as(page, url, lang, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/alerts/new/")
    page.check("input[name=status][value=Exercise]")
    page.select_option("select[name=event_code]", "11B03")
    _shoot(page, "alert-form-exercise", short, full_page=False)
    page.goto(f"{url}/terminals/?region={COUNTY}")
    expect(page.locator("[data-count='never']")).to_be_visible()  # not commissioned, counted apart
    _shoot(page, "fleet-overview", short)
    page.goto(f"{url}/terminals/commands/new/?region={COUNTY}")
    expect(page.locator("[data-confirmation-names]")).to_be_visible()  # the count, then the names
    _shoot(page, "fleet-command", short)
    page.goto(f"{url}/terminals/all/?region={COUNTY}")
    page.locator("table tbody tr td a[href^='/terminals/']").first.click()
    expect(page.locator("[data-terminal-history]")).to_be_visible()
    _shoot(page, "terminal-history", short)
    page.goto(f"{url}/terminals/import/")
    expect(page.locator("[data-import-columns]")).to_contain_text("village_code")
    _shoot(page, "terminal-import", short)
    page.goto(f"{url}/broadcasting/library/")
    expect(page.locator("table")).not_to_contain_text(" s<")
    page.locator("[data-item-edit]").first.click()
    expect(page.locator("[data-item-users]")).to_be_visible()
    _shoot(page, "library-item", short)

    # A maintainer: the work orders with their export.
    _as(page, url, lang, "rongjiang-maintainer", credentials["rongjiang-maintainer"])
    page.goto(f"{url}/maintenance/?state=all")
    expect(page.locator("a[href*='export.xlsx']")).to_be_visible()
    _shoot(page, "fleet-work-orders", short, full_page=False)

    # The menu on a phone.
    page.set_viewport_size({"width": 390, "height": 800})
    page.goto(f"{url}/")
    page.click("[data-nav-toggle]")
    expect(page.locator("#main-nav")).to_be_visible()
    _shoot(page, "phone-menu", short, full_page=False)
