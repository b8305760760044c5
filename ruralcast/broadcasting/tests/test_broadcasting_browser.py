"""In Chromium against the demo (`make run`'s set-up): a township slot is checked against the
county's before saving, and a village's day shows who wins. The screenshots feed docs/broadcasting.md."""

from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_operator_sees_conflicts_before_saving_and_what_a_village_hears(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])

    page.goto(f"{url}/broadcasting/")
    expect(page.locator("table")).to_contain_text("榕江县每日新闻")
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-schedules.png"), full_page=True)
    page.get_by_role("link", name="古州镇农技广播").click()
    page.locator("a.button[href$='/slots/new/']").click()
    page.fill("input[name=start_time]", "07:00")
    advice = page.locator("select[name=item] option", has_text="冬季农技小贴士").inner_text()
    page.select_option("select[name=item]", label=advice)
    page.locator("button[data-check]").click()
    expect(page.locator("[data-conflicts] tr[data-relation=above]").first).to_be_visible()
    expect(page.locator("[data-conflicts]")).to_contain_text("榕江县每日新闻")
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-conflicts.png"), full_page=True)
    page.locator("#slot-form button[type=submit]").click()
    expect(page.locator(".msg-success")).to_be_visible()

    monday = date.today() + timedelta(days=7 - date.today().weekday())
    page.goto(f"{url}/broadcasting/effective/?village=522632100001&day={monday.isoformat()}")
    rows = page.locator("[data-effective] > tbody > tr")
    expect(rows).to_have_count(4)  # news, the village notice, the township slot just saved, the evening playlist
    expect(rows.nth(0)).to_contain_text("榕江新闻早班车")
    expect(page.locator("[data-dropped]")).to_contain_text("冬季农技小贴士")
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-effective.png"), full_page=True)
