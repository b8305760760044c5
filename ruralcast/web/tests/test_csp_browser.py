"""The console's main pages in headless Chromium under the strict Content-Security-Policy.

The browser, not a regular expression, is the judge here: each page loads its scripts, htmx swaps
its partials in, the dashboard's ECharts draw and show a tooltip, the API docs run Swagger UI, and
the test fails on any violation the browser reports (browser.py `csp_watch`, autouse for `page`).
The HLS player (hls.js: a worker and a MediaSource from blob: URLs) is exercised by the media
browser tests and the live-voice AudioWorklet by the live one, under the same watch.
"""

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import log_in

pytestmark = [pytest.mark.browser, pytest.mark.slow]

PAGES = [
    "/",
    "/regions/",
    "/regions/522632000000/",
    "/regions/designations/",
    "/accounts/users/",
    "/accounts/users/rongjiang-operator/",
    "/accounts/tokens/",
    "/audit/",
    "/security/",
    "/alerts/",
    "/alerts/new/",
    "/alerts/import/",
    "/broadcasting/",
    "/broadcasting/library/",
    "/broadcasting/playlists/",
    "/broadcasting/effective/?region=522632100001",
    "/broadcasting/playlogs/",
    "/live/",
    "/media/",
    "/media/upload/",
    "/media/live/",
    "/media/collections/",
    "/terminals/",
    "/terminals/all/",
    "/terminals/commands/",
    "/terminals/commands/new/",
    "/terminals/import/",
    "/maintenance/",
    "/maintenance/statistics/",
    "/reporting/",
    "/reporting/pivot/",
    "/reporting/circulars/",
    "/reporting/posts/",
    "/accounts/password/",
]


def test_the_main_pages_run_under_the_policy_without_a_single_violation(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    log_in(page, url, "admin", credentials["admin"])
    for path in PAGES:
        response = page.goto(url + path)
        assert response is not None and response.status == 200, path
        assert "script-src 'self'" in response.headers["content-security-policy"], path
        page.wait_for_load_state("networkidle")  # htmx partials (fleet rates and map, job bars) swapped in

    # A terminal's page and its printable label (its own stylesheet, the print button by console.js).
    page.goto(url + "/terminals/all/?region=522632000000")
    page.locator("table[data-terminal-list] tbody td:nth-child(2) a").first.click()
    expect(page.locator("h1")).to_be_visible()
    page.goto(page.url + "label/")
    expect(page.locator("[data-asset-label] svg")).to_be_visible()

    # The dashboard: ECharts draws on canvas; its tooltip must not need inline styles either.
    page.goto(url + "/reporting/dashboard/?region=520000000000")
    expect(page.locator("#chart-trend[data-ready='1']")).to_be_visible()
    box = page.locator("#chart-trend").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
    page.wait_for_timeout(500)

    page.goto(url + "/api/v1/docs")
    expect(page.locator(".opblock-summary-path").first).to_be_visible()
    page.locator(".opblock-summary").first.click()
    page.wait_for_timeout(300)
