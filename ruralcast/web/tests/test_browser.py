"""End to end in headless Chromium: the demo as `make run` sets it up, driven like a person would.

A real server (uvicorn, the ASGI app) runs on its own SQLite file, prepared by the same commands
`make run` uses (`migrate`, `demo_setup`), and the test logs in with the credentials `demo_setup`
printed. It switches the language, picks a region with the picker and grants a role with it.
Screenshots go to .run/screenshots/ (copied into docs/img/ for the user guide).
"""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_printed_demo_credentials_log_in_and_console_switches_language(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 860})

    page.goto(f"{url}/")
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    page.screenshot(path=str(SCREENSHOTS / "login.png"))

    log_in(page, url, "gz-bureau", credentials["gz-bureau"])
    expect(page.locator(".role-bureau_admin")).to_be_visible()
    expect(page.locator(".grants")).to_contain_text("贵州省")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-zh.png"), full_page=True)

    page.click("button[data-lang=en]")
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.locator("h2", has_text="Your roles")).to_be_visible()
    expect(page.locator("#main-nav")).to_contain_text("Audit trail")
    page.screenshot(path=str(SCREENSHOTS / "dashboard-en.png"), full_page=True)


def test_region_picker_finds_a_county_by_pinyin_and_grants_a_role_there(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "gz-bureau", credentials["gz-bureau"])

    page.goto(f"{url}/accounts/users/guzhou-viewer/")
    page.select_option("select[name=role]", "content_editor")
    page.fill("input[name=region__q]", "rongjiang")
    option = page.locator(".picker-results button[data-region-code='522632000000']")
    expect(option).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "region-picker.png"), full_page=True)
    option.click()
    expect(page.locator("input[name=region]")).to_have_value("522632000000")
    expect(page.locator("[data-picker-chosen]")).to_contain_text("榕江县")
    page.click("form:has(input[name=region]) button[type=submit]")

    expect(page.locator(".msg-success")).to_be_visible()
    expect(page.locator("table")).to_contain_text("522632000000")


def test_picking_a_region_outside_ones_scope_is_refused_and_keeps_the_form(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    log_in(page, url, "gz-bureau", credentials["gz-bureau"])
    page.goto(f"{url}/accounts/users/guzhou-viewer/")
    page.select_option("select[name=role]", "viewer")
    page.fill("input[name=region__q]", "zhonghua")  # the national root: above the Guizhou bureau's scope
    page.locator(".picker-results button[data-region-code='000000000000']").click()
    page.click("form:has(input[name=region]) button[type=submit]")

    expect(page.locator(".alert-error")).to_be_visible()
    expect(page.locator("select[name=role]")).to_have_value("viewer")
    expect(page.locator("input[name=region]")).to_have_value("000000000000")


def test_console_tour_regions_designations_audit_and_tokens(page: Page, demo_server: dict) -> None:
    """Each module page opens for a bureau administrator and shows its data (screenshots for the guide)."""
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 860})
    log_in(page, url, "gz-bureau", credentials["gz-bureau"])

    page.goto(f"{url}/regions/522632000000/")
    expect(page.locator("h1")).to_contain_text("榕江县")
    expect(page.locator(".breadcrumbs")).to_contain_text("黔东南苗族侗族自治州")
    page.screenshot(path=str(SCREENSHOTS / "regions.png"))

    page.goto(f"{url}/regions/designations/")
    expect(page.locator("table")).to_contain_text("贵州省最后脱贫的9个贫困县")
    page.locator("table a").first.click()
    expect(page.locator("table")).to_contain_text("榕江县")
    page.screenshot(path=str(SCREENSHOTS / "designation.png"))

    page.goto(f"{url}/audit/?verb=role.grant")
    # The filter takes the recorded verb; the page says it in words (issue 16 item 8), never the raw verb.
    expect(page.locator("table")).to_contain_text("授予了角色")
    expect(page.locator("table")).not_to_contain_text("role.grant")
    page.screenshot(path=str(SCREENSHOTS / "audit.png"))

    page.goto(f"{url}/accounts/tokens/")
    page.fill("input[name=name]", "county report script")
    page.locator("form:has(input[name=name]) button[type=submit]").click()
    expect(page.locator("[data-token]")).to_contain_text("rc_")
    page.screenshot(path=str(SCREENSHOTS / "tokens.png"))


def test_phone_sized_screen_shows_the_menu_behind_a_toggle(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 390, "height": 800})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    nav = page.locator("#main-nav")
    expect(nav).to_be_hidden()
    page.click("[data-nav-toggle]")
    expect(nav).to_be_visible()
    page.screenshot(path=str(SCREENSHOTS / "phone-menu.png"))


def test_api_documentation_page_works_offline(page: Page, demo_server: dict) -> None:
    """The interactive API docs load their assets from our own server (this machine has no internet)."""
    url, credentials = demo_server["url"], demo_server["credentials"]
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/api/v1/docs")
    expect(page.locator(".swagger-ui .title")).to_contain_text("ruralcast API")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
