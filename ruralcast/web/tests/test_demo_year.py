"""The demo shows a believable year: terminals installed over the past twelve months, so past periods
have installed terminals and the dashboard's headline figures read as numbers, and no report is
dated after today."""

from datetime import date
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.regions.models import Region
from ruralcast.reporting import selectors
from ruralcast.reporting.demo import demo_values_create
from ruralcast.reporting.models import DataSet, PeriodType, ReportReceipt
from ruralcast.reporting.periods import current_period, period_range
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.demo import demo_terminals_register
from ruralcast.terminals.models import Terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_year(settings: Any, tmp_path: Path, guizhou: Region, rongjiang: Region) -> None:
    settings.RUN_DIR = tmp_path
    settings.MEDIA_ROOT = str(tmp_path / "media")
    signing_key_generate(actor=None)
    demo_terminals_register(county=rongjiang)
    call_command("reporting_metadata", verbosity=0)
    demo_values_create(province=guizhou, county=rongjiang, months=12)


def test_demo_terminals_are_installed_over_the_past_year(demo_year: None, rongjiang: Region) -> None:
    terminals = Terminal.objects.filter(village__code__startswith="522632")
    today = timezone.localdate()
    installed = [t.installed_on for t in terminals]
    days = {day for day in installed if day is not None}
    assert days and len(days) <= len(installed) and None not in installed and max(days) < today
    assert min(days) <= date.fromordinal(today.toordinal() - 300)
    assert all(timezone.localdate(t.created_at) == t.installed_on for t in terminals)


def test_the_dashboard_headline_is_not_zero_for_a_past_month(
    demo_year: None, client: Client, platform_admin: User, rongjiang: Region
) -> None:
    last_month = period_range(current_period(PeriodType.MONTHLY), 2)[0]
    client.force_login(platform_admin)
    page = client.get(f"/reporting/dashboard/?region={rongjiang.code}&period={last_month}&line=6")
    latest = {item.code: text for item, text in page.context["latest"]}
    for code in ("terminals_online", "villages_covered", "online_rate", "build_progress"):
        assert latest[code] not in ("", "—", "0", "0.0", "0 %", "0.0 %"), (code, latest[code])
    rate = float(str(latest["online_rate"]).rstrip(" %"))  # online never exceeds installed
    assert 50 <= rate <= 100


def test_no_report_of_the_demo_is_dated_after_now(demo_year: None, guizhou: Region, rongjiang: Region) -> None:
    now = timezone.now()
    assert not ReportReceipt.objects.filter(first_saved_at__gt=now).exists()
    assert not ReportReceipt.objects.filter(last_saved_at__gt=now).exists()
    for data_set in DataSet.objects.filter(period_type=PeriodType.MONTHLY):
        for period in period_range(current_period(PeriodType.MONTHLY), 2):
            for region in (guizhou, rongjiang):
                state = selectors.completeness(data_set=data_set, period=period, region=region)
                assert all(saved <= now for _reporter, saved in state.late)
