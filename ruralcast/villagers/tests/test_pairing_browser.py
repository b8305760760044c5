"""In Chromium, on the demo as `make run` sets it up, by keyboard: a TV opens the pairing screen and
shows its code, the county's operator confirms it in the console, and the TV moves on to /portal/
by itself. Screenshots feed docs/portal.md."""

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, csp_watch, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_a_tv_shows_its_code_the_operator_confirms_it_and_the_tv_moves_on(
    page: Page, browser: Browser, demo_server: dict
) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tv_context = browser.new_context(viewport={"width": 1280, "height": 720}, locale="zh-CN")
    violations = csp_watch(tv_context)
    tv = tv_context.new_page()
    tv.goto(f"{url}/portal/pair/")
    code_box = tv.locator("[data-pairing-code]")
    expect(code_box).to_be_visible()
    code = code_box.get_attribute("data-pairing-code") or ""
    assert re.fullmatch(r"\d{6}", code)
    expect(tv.locator(".vg-code")).to_have_text(f"{code[:3]} {code[3:]}")
    expect(tv.locator(".vg-qr svg")).to_be_visible()
    # Five keys: focus starts on the one tile, and OK would leave without pairing.
    expect(tv.locator("a.vg-tile")).to_be_focused()
    tv.screenshot(path=str(SCREENSHOTS / "portal-pair-720p.png"))

    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/villagers/screens/")
    page.locator("#id_code").focus()
    page.keyboard.type(code)
    page.keyboard.press("Tab")
    expect(page.locator("#id_village_search")).to_be_focused()
    page.keyboard.type("大十字")
    choice = page.locator(".picker-results [data-region-code='522632100001']")
    expect(choice).to_be_visible()
    choice.focus()
    page.keyboard.press("Enter")
    expect(page.locator("[data-picker-chosen]")).to_contain_text("大十字")
    page.locator("#id_label").focus()
    page.keyboard.type("键盘测试户")
    page.keyboard.press("Enter")
    expect(page.locator("[data-screen-list]")).to_contain_text("键盘测试户")
    page.screenshot(path=str(SCREENSHOTS / "villagers-screens.png"), full_page=True)

    # The TV polls every 3 s and goes on to the portal's home by itself.
    tv.wait_for_url(f"{url}/portal/", timeout=15_000)
    tv.goto(f"{url}/portal/pair/")
    assert tv.url == f"{url}/portal/", "a paired TV is not asked to pair again"
    tv_context.close()
    assert violations == [], violations
