"""In Chromium against the demo (`make run`'s set-up): a township slot is checked against the
county's before saving, and a village's day shows who wins. The screenshots feed docs/broadcasting.md."""

import subprocess
import sys
from datetime import date, timedelta

import pytest
from playwright.sync_api import Page, expect

from ruralcast.web.tests.browser import BASE_DIR, SCREENSHOTS, log_in

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


# Yesterday's programme of 大十字社区 as its demo terminal reported it, through the ingest path.
_UPLOAD_LOGS = """
import json
from datetime import timedelta
from django.utils import timezone
from ruralcast.broadcasting.programme import effective_programme, local_today
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
village = Region.objects.get(code="522632100001")
terminal = Terminal.objects.filter(village=village).order_by("code").first()
day = local_today() - timedelta(days=1)
entries = effective_programme(village=village, day=day).entries
plan = [("played", "", 1.0), ("interrupted", "preempted", 0.4), ("missed", "audio_missing", 0.0)]
logs = [
    {"slot": e.slot_id, "schedule": e.schedule_id, "item": e.item_id, "title": e.item_title,
     "start": e.start.isoformat(), "started": e.start.isoformat() if share else None,
     "ms": int(e.seconds * 1000 * share), "outcome": outcome, "reason": reason, "version": 1}
    for e, (outcome, reason, share) in zip(entries, plan)
]
body = json.dumps({"terminal": terminal.code, "logs": logs}).encode()
print(ingest_batch([(f"rc/v1/up/{terminal.code}/playlog", body, timezone.now())]).written, day.isoformat())
"""


def test_operator_reads_playback_logs_and_yesterdays_coverage(page: Page, demo_server: dict) -> None:
    url, credentials, env = demo_server["url"], demo_server["credentials"], demo_server["env"]
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    uploaded = subprocess.run(
        [*manage, "shell", "-v", "0", "-c", _UPLOAD_LOGS], env=env, cwd=BASE_DIR, check=True, capture_output=True,
        text=True,
    )  # fmt: skip
    written, yesterday = uploaded.stdout.split()[-2:]  # the platform's yesterday (Asia/Shanghai)
    assert written == "1"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 1280, "height": 800})
    log_in(page, url, "rongjiang-operator", credentials["rongjiang-operator"])

    page.goto(f"{url}/broadcasting/playlogs/?region=522632100001&day={yesterday}")
    rows = page.locator("[data-playlogs] tbody tr[data-outcome]")
    expect(rows.first).to_be_visible()
    outcomes = sorted(rows.nth(i).get_attribute("data-outcome") or "" for i in range(rows.count()))
    assert outcomes == sorted(["played", "interrupted", "missed"][: rows.count()]) and rows.count() >= 2
    page.screenshot(path=str(SCREENSHOTS / "broadcasting-playlogs.png"), full_page=True)

    page.goto(f"{url}/broadcasting/effective/?village=522632100001&day={yesterday}")
    expect(page.locator("[data-coverage]").first).to_contain_text("100.0")
