"""The same notification service carries reporting's send-backs and work-order assignments, and the
demo county's roster pages its approver when a newcomer submits a drill (audit item 26)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Status
from ruralcast.maintenance.rules import work_orders_sync
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.notifications.models import Channel, Notification
from ruralcast.regions.models import Region
from ruralcast.reporting.services import approval_advance, approval_revoke
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


@pytest.fixture
def metadata(db: None) -> None:
    """The starter reporting metadata (data sets of the county reports)."""
    import json
    from pathlib import Path

    from django.conf import settings

    from ruralcast.reporting.services import metadata_load

    path = Path(settings.BASE_DIR) / "data" / "reporting" / "metadata.json"
    metadata_load(data=json.loads(path.read_text(encoding="utf-8")))


def test_a_report_sent_back_tells_the_county_who_sent_it_back_when_and_why(  # type: ignore[no-untyped-def]
    metadata, county_station_operator, make_user: Callable[..., User], rongjiang: Region, qiandongnan: Region
) -> None:
    from ruralcast.reporting.models import DataSet

    data_set = DataSet.objects.get(code="consumption-monthly")
    colleague = make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-colleague")
    city_admin = make_user(role=Role.BUREAU_ADMIN, region=qiandongnan, username="qdn-bureau")
    approval_advance(actor=county_station_operator, data_set=data_set, period="2026-03", region=rongjiang)
    approval_revoke(actor=city_admin, data_set=data_set, period="2026-03", region=rongjiang, reason="交易额与台账不符")
    for person in (county_station_operator, colleague):
        [told] = Notification.objects.filter(recipient=person)
        assert told.kind == "report.sent_back"
        assert str(city_admin) in told.body and "交易额与台账不符" in told.body and "2026-03" in told.title
        assert told.region_code == rongjiang.code and "region=522632000000" in told.url
    assert not Notification.objects.filter(recipient=city_admin).exists()


def _status(code: str, **fields: Any) -> tuple[str, bytes, Any]:
    import json

    body = {
        "terminal": code,
        "online": True,
        "at": timezone.now().isoformat(),
        "amplifier": "ok",
        "speaker": "ok",
        **fields,
    }
    return uplink_topic(code, "status"), json.dumps(body).encode(), timezone.now()


def test_a_work_order_tells_its_assignee_and_the_next_one_when_it_escalates(  # type: ignore[no-untyped-def]
    dashizi: Region, county_maintainer: User, make_user: Callable[..., User], guzhou: Region
) -> None:
    township_maintainer = make_user(role=Role.MAINTAINER, region=guzhou, username="guzhou-maintainer")
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([_status(code, speaker="fault")])
    work_orders_sync()
    [told] = Notification.objects.filter(recipient=township_maintainer)
    # Written in the assignee's language (Chinese unless they chose another), whatever the console shows.
    assert told.kind == "work_order.assigned" and "喇叭故障" in told.title and told.params["fault_code"] == "speaker"
    work_orders_sync(now=timezone.now() + timedelta(hours=49))  # the 48-hour SLA missed
    [escalated] = Notification.objects.filter(recipient=county_maintainer)
    assert "升级" in escalated.body


def test_the_demo_county_pages_its_approver_when_a_newcomer_submits_a_drill(rongjiang: Region) -> None:
    from ruralcast.accounts.demo import demo_users_create
    from ruralcast.alerts.services import AlertFields, alert_create, alert_submit
    from ruralcast.notifications.demo import demo_roster_create

    demo_users_create()
    assert demo_roster_create(county=rongjiang) == 7
    assert demo_roster_create(county=rongjiang) == 0  # idempotent
    operator = User.objects.get(username="rongjiang-operator")
    now = timezone.now()
    fields = AlertFields(
        status=Status.EXERCISE, event_code="11B03", severity=3, title="演练", text="这是一次演练。",
        onset=now, expires=now + timedelta(hours=1), targets=[rongjiang],
    )  # fmt: skip
    alert_submit(actor=operator, alert=alert_create(actor=operator, issuer_region=rongjiang, fields=fields))
    [page] = Notification.objects.filter(recipient__username="rongjiang-approver")
    assert set(page.deliveries.values_list("channel", flat=True)) == {Channel.CONSOLE, Channel.EMAIL}
