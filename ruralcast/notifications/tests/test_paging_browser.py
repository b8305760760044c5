"""In Chromium, on the demo as `make run` sets it up: a newcomer submits a drill and the county's
approver on duty sees the page (the count in the navigation, the inbox), takes it on, and the
bureau sees who is on duty. Screenshots feed the user guide."""

import pytest
from playwright.sync_api import Browser, Page, expect

from ruralcast.alerts.tests.test_alerts_browser import _draft
from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_drill_submitted_in_the_demo_pages_the_approver_on_duty(
    page: Page, browser: Browser, demo_server: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    _draft(page, url, status="Exercise", title="值班呼叫演练")
    page.locator("form[action$='/submit/'] button").click()
    expect(page.locator("[data-awaiting-second-person]")).to_be_visible()

    approver_context = browser.new_context(viewport={"width": 1280, "height": 900})
    approver = approver_context.new_page()
    log_in(approver, url, "rongjiang-approver", credentials["rongjiang-approver"])
    expect(approver.locator("[data-nav-count]")).to_be_visible()
    approver.click("#main-nav a[href='/notifications/']")
    card = approver.locator("[data-notification][data-unread]", has_text="值班呼叫演练").first
    expect(card).to_contain_text("【演练】")
    expect(approver.locator("[data-stand-in=email]")).to_be_visible()
    approver.screenshot(path=str(SCREENSHOTS / "notifications-inbox.png"), full_page=True)
    card.locator("button[value=claim]").click()
    expect(approver.locator(".msg-success")).to_be_visible()
    expect(approver.locator("[data-notification]", has_text="值班呼叫演练").first).to_contain_text("已认领")
    approver_context.close()

    bureau_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    bureau = bureau_context.new_page()
    log_in(bureau, url, "gz-bureau", credentials["gz-bureau"])
    bureau.goto(f"{url}/notifications/duty/?region=522632000000")
    expect(bureau.locator("[data-ladder]")).to_contain_text("榕江县应急广播审核员")
    expect(bureau.locator("[data-slot]")).to_have_count(7)
    bureau.screenshot(path=str(SCREENSHOTS / "notifications-roster.png"), full_page=True)
    bureau_context.close()
