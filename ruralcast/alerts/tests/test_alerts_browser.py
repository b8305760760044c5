"""In Chromium: an operator drafts a drill, a second person approves it after seeing what it is.

Runs against the `demo_server` (set up like `make run`) with the demo's county operator and
approver. The screenshots feed the user guide.
"""

from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _draft(page: Page, url: str, *, status: str, title: str) -> str:
    page.goto(f"{url}/alerts/new/")
    page.check(f"input[name=status][value={status}]")
    page.select_option("select[name=event_code]", "11B03")
    page.check("input[name=severity][value='2']")
    page.fill("input[name=targets__q]", "guzhou")
    page.locator(".picker-results button[data-region-code='522632100000']").click()
    expect(page.locator("[data-picker-chips]")).to_contain_text("古州镇")
    page.fill("input[name=title]", title)
    page.fill("textarea[name=text]", "预计今天14时至20时，古州镇将出现50毫米以上强降雨，请沿河群众做好转移准备。")
    page.screenshot(path=str(SCREENSHOTS / f"alert-form-{status.lower()}.png"), full_page=True)
    page.locator("form.alert-form button[type=submit]").click()
    expect(page.locator(".msg-success")).to_be_visible()
    return page.url.rstrip("/").rsplit("/", 1)[-1]


def test_a_drill_is_drafted_by_one_person_and_approved_by_another(
    page: Page, browser: Browser, demo_server: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    ebm_id = _draft(page, url, status="Exercise", title="暴雨橙色预警（演练）")
    assert len(ebm_id) == 35
    expect(page.locator(".banner-drill")).to_be_visible()
    page.locator("form[action$='/submit/'] button").click()
    expect(page.locator("audio")).to_have_count(1)  # the spoken audio exists before approval
    expect(page.locator("[data-awaiting-second-person]")).to_be_visible()
    expect(page.locator("form[action$='/approve/']")).to_have_count(0)

    approver_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    approver = approver_context.new_page()
    log_in(approver, url, "rongjiang-approver", credentials["rongjiang-approver"])
    approver.goto(f"{url}/alerts/{ebm_id}/")
    expect(approver.locator(".banner-drill")).to_be_visible()
    expect(approver.locator("[data-reach-villages]")).not_to_have_text("0")
    approver.screenshot(path=str(SCREENSHOTS / "alert-approval-drill-zh.png"), full_page=True)
    approver.context.add_cookies([{"name": "django_language", "value": "en", "url": url}])
    approver.reload()
    expect(approver.locator("html")).to_have_attribute("lang", "en")
    approver.screenshot(path=str(SCREENSHOTS / "alert-approval-drill-en.png"), full_page=True)
    approver.context.add_cookies([{"name": "django_language", "value": "zh-hans", "url": url}])
    approver.reload()
    approver.select_option("select[name=confirm_status]", "Exercise")
    approver.once("dialog", lambda dialog: dialog.accept())
    approver.locator("form[action$='/approve/'] button").click()
    expect(approver.locator(".msg-success")).to_be_visible()
    expect(approver.locator("[data-alert-state]")).not_to_have_text("等待审核")
    approver_context.close()


def test_a_live_alert_looks_unmistakably_different_and_the_author_cannot_approve_it(
    page: Page, demo_server: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    _draft(page, url, status="Actual", title="暴雨橙色预警")
    expect(page.locator(".banner-live")).to_be_visible()
    expect(page.locator(".banner-drill")).to_have_count(0)
    page.locator("form[action$='/submit/'] button").click()
    expect(page.locator("form[action$='/approve/']")).to_have_count(0)
    page.screenshot(path=str(SCREENSHOTS / "alert-live-submitted-zh.png"), full_page=True)
    # The same page in English (the user guide shows both): the live banner stays unmistakable.
    page.context.add_cookies([{"name": "django_language", "value": "en", "url": url}])
    page.reload()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator(".banner-live")).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "alert-live-submitted-en.png"), full_page=True)


def test_an_approved_alert_the_platform_has_not_sent_yet_is_stopped_from_its_page(
    page: Page, browser: Browser, demo_server: dict
) -> None:
    """No dispatcher runs here (the broker is "down"): the approved drill waits in the outbox, and
    its page offers to stop it; after the confirmation it is withdrawn, nothing was sent."""
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    ebm_id = _draft(page, url, status="Exercise", title="暴雨橙色预警（演练，待撤回）")
    page.locator("form[action$='/submit/'] button").click()
    expect(page.locator("[data-awaiting-second-person]")).to_be_visible()

    approver_context = browser.new_context(viewport={"width": 1280, "height": 1000})
    approver = approver_context.new_page()
    log_in(approver, url, "rongjiang-approver", credentials["rongjiang-approver"])
    approver.goto(f"{url}/alerts/{ebm_id}/")
    approver.select_option("select[name=confirm_status]", "Exercise")
    approver.once("dialog", lambda dialog: dialog.accept())
    approver.locator("form[action$='/approve/'] button").click()
    expect(approver.locator(".msg-success")).to_be_visible()
    approver_context.close()

    page.goto(f"{url}/alerts/{ebm_id}/")
    stop = page.locator(f"form[action='/alerts/{ebm_id}/cancel/'] button")
    expect(stop).to_have_text("停止此预警")
    messages: list[str] = []

    def confirm(dialog: Any) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", confirm)
    stop.click()
    expect(page.locator("[data-withdrawn]")).to_be_visible()
    assert messages and "停止此预警" in messages[0]
    expect(page.locator("[data-alert-state]")).to_have_text("发送前已撤回")
    expect(page.locator(f"form[action='/alerts/{ebm_id}/cancel/']")).to_have_count(0)
