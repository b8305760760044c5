"""The fleet pages in headless Chromium, on the demo as `make run` sets it up (252 terminals in 榕江县)."""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_maintainer_sees_the_demo_countys_fleet_drills_down_and_opens_the_map(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-maintainer", credentials["rongjiang-maintainer"])
    page.click("#main-nav a[href='/terminals/']")
    expect(page.locator("h1")).to_contain_text("榕江县")
    expect(page.locator("[data-fleet-totals] [data-count=total]")).to_have_text("252")
    expect(page.locator("[data-fleet-map] circle")).to_have_count(252)  # every demo terminal has a position
    page.click("[data-fleet-children] a:has-text('古州镇')")
    expect(page.locator("h1")).to_contain_text("古州镇")
    expect(page.locator("[data-fleet-map]")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "fleet-township.png"), full_page=True)
    page.goto(f"{url}/terminals/all/?region=522632100000")
    expect(page.locator("[data-terminal-list] tbody tr").first).to_contain_text("6522632100")

    # The command form shows only the chosen command's fields; chosen by keyboard.
    page.goto(f"{url}/terminals/commands/new/?region=522632000000")
    kind = page.locator("select[name=kind]")
    kind.focus()
    kind.select_option("volume")
    expect(page.locator("input[name=volume]")).to_be_visible()
    expect(page.locator("select[name=power_on]")).to_be_hidden()
    expect(page.locator("input[name=status_interval]")).to_be_hidden()
    kind.select_option("reboot")
    expect(page.locator("input[name=volume]")).to_be_hidden()
    expect(page.locator("input[name=timeout_s]")).to_be_visible()  # every command has an answer time
    kind.select_option("config")
    expect(page.locator("input[name=volume]")).to_be_visible()
    expect(page.locator("input[name=status_interval]")).to_be_visible()
