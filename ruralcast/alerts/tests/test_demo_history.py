"""The demo's year of past alerts (issue 16 item 5): drills and real warnings every month, each
approved by a second person, with the terminals it targeted then and their receipts, so alert
coverage and the proofs of broadcast read real figures."""

from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.demo import demo_alert_history_create, demo_terminal_absent
from ruralcast.alerts.figures import alerts_coverage
from ruralcast.alerts.models import Alert, AlertContributor, Receipt, ReceiptEvent, State, Status, TargetedTerminal
from ruralcast.regions.models import Region
from ruralcast.reporting.models import PeriodType
from ruralcast.reporting.periods import current_period, period_range
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.demo import demo_terminals_register
from ruralcast.terminals.models import Terminal

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo_history(
    settings: Any, tmp_path: Path, make_user: Callable[..., User], guizhou: Region, rongjiang: Region
) -> int:
    settings.RUN_DIR = tmp_path
    settings.MEDIA_ROOT = str(tmp_path / "media")
    make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-operator")
    make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="rongjiang-approver")
    signing_key_generate(actor=None)
    demo_terminals_register(county=rongjiang)
    return demo_alert_history_create(county=rongjiang)


def test_every_month_of_the_past_year_has_drills_and_warnings(demo_history: int, rongjiang: Region) -> None:
    alerts = list(Alert.objects.filter(issuer_region=rongjiang))
    assert demo_history == len(alerts) >= 24
    months = {timezone.localtime(a.sent_at).strftime("%Y-%m") for a in alerts if a.sent_at}
    assert len(months) >= 12
    assert {a.status for a in alerts} == {Status.ACTUAL, Status.EXERCISE}
    assert {"11B03", "11A01", "11G00"} <= {a.event_code for a in alerts}
    now = timezone.now()
    for alert in alerts:
        assert alert.state == State.EXPIRED and alert.expires < now and alert.sent_at is not None
        # Two different people: the author drafted and submitted it, another approved it.
        assert alert.approved_by_id is not None and alert.approved_by_id != alert.created_by_id
        people = set(AlertContributor.objects.filter(alert=alert).values_list("user_id", flat=True))
        assert people == {alert.created_by_id} and alert.approved_by_id not in people
        assert alert.submitted_at and alert.approved_at and alert.dispatched_at
        assert alert.created_at < alert.submitted_at <= alert.approved_at == alert.sent_at < alert.dispatched_at


def test_each_alert_targeted_the_terminals_registered_then_and_most_answered(
    demo_history: int, rongjiang: Region
) -> None:
    registered = dict(Terminal.objects.values_list("code", "created_at"))
    absent = {code for code in registered if demo_terminal_absent(code)}
    assert 0 < len(absent) < len(registered) * 0.1
    total = answered = 0
    for alert in Alert.objects.filter(issuer_region=rongjiang):
        targeted = list(TargetedTerminal.objects.filter(alert=alert).values_list("terminal_code", flat=True))
        assert len(targeted) == alert.targeted_terminals > 0 and alert.sent_at is not None
        sent = alert.sent_at
        assert all(registered[code] <= sent for code in targeted)
        received = set(
            Receipt.objects.filter(alert=alert, event=ReceiptEvent.RECEIVED).values_list("terminal_code", flat=True)
        )
        assert received <= set(targeted) and not received & absent
        finished = Receipt.objects.filter(alert=alert, event=ReceiptEvent.FINISHED).count()
        assert finished == len(received)
        total, answered = total + len(targeted), answered + len(received)
    assert 0.9 < answered / total < 0.99


def test_coverage_of_a_past_month_is_a_real_figure(demo_history: int, rongjiang: Region) -> None:
    today = timezone.localdate()
    start = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    coverage = alerts_coverage(region_code=rongjiang.code, start=start, end=today.replace(day=1))
    assert coverage is not None and 90 <= coverage < 100


def test_the_dashboard_and_the_proof_read_the_history(
    demo_history: int, client: Client, platform_admin: User, rongjiang: Region
) -> None:
    call_command("reporting_metadata", verbosity=0)
    last_month = period_range(current_period(PeriodType.MONTHLY), 2)[0]
    client.force_login(platform_admin)
    page = client.get(f"/reporting/dashboard/?region={rongjiang.code}&period={last_month}&line=6")
    assert page.status_code == 200
    latest = {item.code: text for item, text in page.context["latest"]}
    assert latest["alerts_coverage"] not in ("", "—"), latest["alerts_coverage"]  # line 6's headline
    alert = Alert.objects.filter(issuer_region=rongjiang, status=Status.ACTUAL).order_by("sent_at").last()
    assert alert is not None
    for path in ("", "status/", "proof.csv", "proof.pdf"):
        answer = client.get(f"/alerts/{alert.ebm_id}/{path}")
        assert answer.status_code == 200, (path, answer.status_code)
    csv_text = client.get(f"/alerts/{alert.ebm_id}/proof.csv").content.decode()
    assert csv_text.count("\n") > alert.targeted_terminals


def test_it_is_idempotent(demo_history: int, rongjiang: Region) -> None:
    receipts = Receipt.objects.count()
    assert demo_alert_history_create(county=rongjiang) == 0
    assert Receipt.objects.count() == receipts
