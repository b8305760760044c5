"""In Chromium against the demo: the county's evening playlist is searched, extended, reordered and
restored on its page, and a village's day shows the block with its items. Screenshots feed
docs/broadcasting.md."""

import re
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_operator_builds_the_evening_playlist_and_sees_it_as_one_block(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])

    page.goto(f"{url}/broadcasting/")
    page.locator("nav.toolbar a[href$='/broadcasting/playlists/']").click()
    expect(page.locator("[data-playlists]")).to_contain_text("榕江晚间节目")
    page.get_by_role("link", name="榕江晚间节目").click()
    items = page.locator("[data-playlist-items] tbody tr")
    expect(items).to_have_count(2)
    expect(items.nth(0)).to_contain_text("晚间天气预报")
    total_before = page.locator("[data-total]").inner_text()

    page.fill("#q", "新闻")  # htmx narrows the library as one types
    expect(page.locator("[data-candidates] tbody tr")).to_have_count(1)
    expect(page.locator("[data-candidates]")).to_contain_text("榕江新闻早班车")
    page.locator("[data-candidates] button[data-add]").click()
    expect(page.locator(".msg-success")).to_be_visible()
    expect(items).to_have_count(3)
    expect(items.nth(2)).to_contain_text("榕江新闻早班车")
    expect(page.locator("[data-total]")).not_to_have_text(total_before)

    items.nth(2).locator("button[data-up]").click()
    expect(items.nth(1)).to_contain_text("榕江新闻早班车")
    expect(items.nth(2)).to_contain_text("健康小常识")
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-playlist.png"), full_page=True)

    items.nth(1).locator("button[data-remove]").click()  # back as the demo made it
    expect(items).to_have_count(2)
    expect(items.nth(1)).to_contain_text("健康小常识")
    expect(page.locator("[data-total]")).to_have_text(total_before)
    expect(page.locator("[data-used-by]")).to_contain_text("榕江县晚间节目")

    day = date.today() + timedelta(days=1)
    page.goto(f"{url}/broadcasting/effective/?village=522632100001&day={day.isoformat()}")
    block = page.locator("[data-effective] tr[data-playlist]")
    expect(block).to_contain_text("榕江晚间节目")
    expect(block.locator("[data-pieces] li")).to_have_count(2)
    expect(block.locator("[data-pieces] li").nth(1)).to_contain_text(re.compile(r"19:30:\d\d 健康小常识"))
    block.scroll_into_view_if_needed()
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-playlist-effective.png"), full_page=True)
