"""The fleet pages in headless Chromium, on the demo as `make run` sets it up (252 terminals in 榕江县)."""

import pytest
from playwright.sync_api import Dialog, Page, expect

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


def test_a_command_to_the_whole_county_asks_first_with_the_count_and_the_names(page: Page, demo_server: dict) -> None:
    url, credentials = demo_server["url"], demo_server["credentials"]
    log_in(page, url, "rongjiang-maintainer", credentials["rongjiang-maintainer"])
    page.goto(f"{url}/terminals/commands/")
    sent_before = page.locator("table tbody tr:has(a)").count()
    page.goto(f"{url}/terminals/commands/new/?region=522632000000")
    kind = page.locator("select[name=kind]")
    kind.select_option("reboot")
    chosen = kind.locator("option:checked").inner_text()
    what = page.locator("[data-confirmation-what]")
    expect(what).to_contain_text("252")
    expect(what).to_contain_text(chosen)  # the command chosen, not "the chosen command"
    expect(page.locator("[data-confirmation-names]")).to_contain_text("242")  # "and 242 more" after ten names
    questions: list[str] = []

    def answer(dialog: Dialog, *, accept: bool) -> None:
        questions.append(dialog.message)
        dialog.accept() if accept else dialog.dismiss()

    page.once("dialog", lambda dialog: answer(dialog, accept=False))
    page.click("[data-command-form] button[type=submit]")
    expect(page).to_have_url(f"{url}/terminals/commands/new/?region=522632000000")
    assert len(questions) == 1 and "252" in questions[0] and chosen in questions[0]
    page.goto(f"{url}/terminals/commands/")
    assert page.locator("table tbody tr:has(a)").count() == sent_before  # cancelled: nothing sent

    page.goto(f"{url}/terminals/commands/new/?region=522632000000")
    page.locator("select[name=kind]").select_option("time_sync")
    page.once("dialog", lambda dialog: answer(dialog, accept=True))
    page.click("[data-command-form] button[type=submit]")
    page.wait_for_url("**/terminals/commands/*/")
    assert len(questions) == 2 and "252" in questions[1]
    page.goto(f"{url}/terminals/commands/")
    assert page.locator("table tbody tr:has(a)").count() == sent_before + 1
