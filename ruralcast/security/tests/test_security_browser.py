"""In Chromium: a refused login shows on the security panel, which works from the keyboard alone."""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_refused_login_appears_on_the_panel_and_the_export_is_reached_by_keyboard(
    page: Page, demo_server: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.goto(f"{url}/")
    page.fill("input[name=username]", "admin")
    page.fill("input[name=password]", "not-the-password")
    page.click("form[action$='/login/'] button[type=submit]")
    log_in(page, url, "admin", credentials["admin"])
    page.goto(f"{url}/security/")
    expect(page.locator("h1")).to_have_text("安全态势")
    expect(page.locator("tbody tr", has_text="被拒绝的登录").locator("td").first).not_to_have_text("0")
    expect(page.locator("tbody", has_text="not-the-password")).to_have_count(0)  # never the password
    export = page.locator("a[href$='/security/events.csv']")
    for _ in range(80):  # Tab through the page until the export link has the focus
        page.keyboard.press("Tab")
        if export.evaluate("link => link === document.activeElement"):
            break
    expect(export).to_be_focused()
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename.startswith("security-")
