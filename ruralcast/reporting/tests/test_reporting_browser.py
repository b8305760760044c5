"""In Chromium: the provincial bureau reads the dashboard (ECharts draws every chart), the pivot
table drills down, a county operator enters a village's figures from the keyboard and the bureau
publishes a circular. Runs against the `demo_server` (set up like `make run`); the screenshots
feed docs/reporting.md."""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import SCREENSHOTS, log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_bureau_dashboard_pivot_and_circular(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "gz-bureau", credentials["gz-bureau"])
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto(f"{url}/reporting/dashboard/?region=520000000000&line=3")
    page.wait_for_timeout(1500)
    assert not errors, errors
    for chart in ("trend", "ranking", "distribution", "completeness"):
        expect(page.locator(f"#chart-{chart}[data-ready='1'] canvas")).to_have_count(1)
    page.screenshot(path=str(SCREENSHOTS / "reporting-dashboard.png"), full_page=True)
    page.goto(f"{url}/reporting/pivot/?region=520000000000&item=sales_growth&item=farmer_income&count=6")
    expect(page.locator("#pivot tbody tr")).to_have_count(10)  # 9 cities and the province total
    page.locator("#pivot a", has_text="黔东南苗族侗族自治州").click()
    expect(page.locator("#pivot")).to_contain_text("榕江县")
    page.screenshot(path=str(SCREENSHOTS / "reporting-pivot.png"), full_page=True)
    page.goto(f"{url}/reporting/circulars/")
    page.fill("input[name=region]", "520000000000")
    page.fill("input[name=title]", "贵州省智慧广电专项扶贫工作进展通报")
    page.fill("textarea[name=body]", "请各地按时报送，迟报地区限期整改。")
    page.locator("form.card button[type=submit]").click()
    expect(page.locator("h1")).to_have_text("贵州省智慧广电专项扶贫工作进展通报")
    expect(page.locator(".circular")).to_contain_text("排名")
    page.screenshot(path=str(SCREENSHOTS / "reporting-circular.png"), full_page=True)


def test_county_operator_enters_a_village_from_the_keyboard(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    page.set_viewport_size({"width": 1280, "height": 900})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])
    page.goto(f"{url}/reporting/entry/village-broadcast-monthly/?region=522632100001&period=2024-01")
    expect(page.locator("#v-terminals_planned")).to_be_focused()
    page.keyboard.type("3")
    page.keyboard.press("Tab")
    page.keyboard.type("5")
    page.keyboard.press("Enter")
    expect(page.locator(".field-error .error").first).to_contain_text("规划")  # online above planned
    expect(page.locator("#v-terminals_online")).to_have_value("5")
    page.screenshot(path=str(SCREENSHOTS / "reporting-entry-error.png"), full_page=True)
    page.fill("#v-terminals_online", "2")
    page.keyboard.press("Enter")
    expect(page.locator(".msg-success")).to_be_visible()
