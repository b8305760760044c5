"""Operational figures: published by the terminal registry and the alerts module, read live by
the aggregation like any other element, never typed in."""

import datetime
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from ruralcast.alerts.models import Status
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.services import AlertFields, ReceiptIn, alert_approve, alert_create, alert_submit, receipts_store
from ruralcast.core.registries.figures import (
    AGGREGATIONS,
    VALUE_TYPES,
    figure_source,
    figure_sources,
    register_figure_source,
    unregister_figure_source,
)
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.reporting.analytics import aggregate
from ruralcast.reporting.models import Aggregation, DataElement, Indicator, ValueType
from ruralcast.reporting.periods import period_of
from ruralcast.reporting.services import values_save
from ruralcast.reporting.sources import figure_value
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.services import terminal_register


def connect(*terminals, at=None):  # type: ignore[no-untyped-def]
    """Each terminal's first status report, through the ingest path: it is commissioned from then on."""
    at = at or timezone.now() - timedelta(minutes=5)
    ingest_batch(
        [
            (
                uplink_topic(t.code, "status"),
                json.dumps({"terminal": t.code, "online": True, "at": at.isoformat()}).encode(),
                at,
            )
            for t in terminals
        ]
    )


@pytest.fixture
def terminals(dashizi, liziyuan):  # type: ignore[no-untyped-def]
    """Three commissioned terminals (they have reported) and, in 大十字, one imported that never connected."""
    installed = [terminal_register(actor=None, village=v).terminal for v in (dashizi, dashizi, liziyuan)]
    connect(*installed)
    terminal_register(actor=None, village=dashizi)  # never connected: not commissioned
    return installed


def _this_month() -> tuple[str, datetime.date, datetime.date]:
    today = timezone.localdate()
    start = today.replace(day=1)
    end = (start + timedelta(days=32)).replace(day=1)
    return period_of(today, "monthly"), start, end


def test_builtin_sources_are_registered():
    assert {"terminals.installed", "alerts.issued", "alerts.received", "alerts.coverage"} <= set(figure_sources())


def test_every_operational_app_publishes_its_figures_through_the_one_registry():
    """Registered by each app's AppConfig from its own figures.py, none by reporting."""
    owners = {code: source.fn.__module__ for code, source in figure_sources().items()}
    assert owners == {
        "terminals.installed": "ruralcast.terminals.figures",
        "terminals.not_commissioned": "ruralcast.terminals.figures",
        "alerts.issued": "ruralcast.alerts.figures",
        "alerts.received": "ruralcast.alerts.figures",
        "alerts.coverage": "ruralcast.alerts.figures",
        "broadcasting.coverage": "ruralcast.broadcasting.figures",
        "broadcasting.plays": "ruralcast.broadcasting.figures",
        **{
            f"fleet.{name}": "ruralcast.maintenance.figures"
            for name in ("terminals", "availability", "orders_opened", "orders_open", "orders_overdue", "mttr_hours")
        },
    }


def test_the_registry_knows_the_value_types_and_aggregations_of_data_elements():
    assert set(VALUE_TYPES) == set(ValueType.values) - {ValueType.TEXT}
    assert set(AGGREGATIONS) == set(Aggregation.values)


def test_terminals_installed_counts_the_subtree_at_the_end_of_the_range(terminals, guzhou, dashizi, congjiang):  # type: ignore[no-untyped-def]
    _period, start, end = _this_month()
    assert figure_value(code="terminals.installed", region_code=guzhou.code, start=start, end=end) == 3
    assert figure_value(code="terminals.installed", region_code=dashizi.code, start=start, end=end) == 2
    assert figure_value(code="terminals.installed", region_code=congjiang.code, start=start, end=end) == 0
    before = start - timedelta(days=31)
    assert figure_value(code="terminals.installed", region_code=guzhou.code, start=before, end=start) == 0


def test_a_terminal_that_never_connected_is_counted_apart_as_not_commissioned(terminals, guzhou, dashizi):  # type: ignore[no-untyped-def]
    _period, start, end = _this_month()
    assert figure_value(code="terminals.not_commissioned", region_code=guzhou.code, start=start, end=end) == 1
    assert figure_value(code="terminals.not_commissioned", region_code=dashizi.code, start=start, end=end) == 1
    later = timezone.now() - timedelta(minutes=1)
    connect(*Terminal.objects.filter(state__last_seen_at__isnull=True), at=later)  # put up at last
    assert figure_value(code="terminals.not_commissioned", region_code=guzhou.code, start=start, end=end) == 0
    assert figure_value(code="terminals.installed", region_code=guzhou.code, start=start, end=end) == 4


def test_alerts_issued_received_and_coverage(
    terminals, county_station_operator, county_alert_approver, rongjiang, guzhou, congjiang
):  # type: ignore[no-untyped-def]
    now = timezone.now()
    alert = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=AlertFields(
            status=Status.EXERCISE,
            event_code="11B03",
            severity=2,
            title="暴雨演练",
            text="演练。",
            onset=now,
            expires=now + timedelta(hours=2),
            targets=[rongjiang],
        ),
    )
    alert.audio_sha256, alert.audio_name = "0" * 64, "alerts/audio/none.mp3"  # no speech synthesis here
    alert.save()
    alert_submit(actor=county_station_operator, alert=alert)
    alert_approve(
        approver=county_alert_approver, alert=alert, confirm_status=alert.status, version=content_version(alert)
    )
    receipts_store([ReceiptIn(terminal_code=t.code, ebm_id=alert.ebm_id, event="received") for t in terminals[:2]])
    _period, start, end = _this_month()
    assert figure_value(code="alerts.issued", region_code=guzhou.code, start=start, end=end) == 1
    assert figure_value(code="alerts.issued", region_code=congjiang.code, start=start, end=end) == 0
    assert figure_value(code="alerts.received", region_code=guzhou.code, start=start, end=end) == 2
    assert figure_value(code="alerts.coverage", region_code=rongjiang.code, start=start, end=end) == pytest.approx(
        66.67
    )
    assert figure_value(code="alerts.coverage", region_code=congjiang.code, start=start, end=end) is None


def test_operational_elements_join_the_aggregation_and_indicators(
    metadata, terminals, broadcast_set, county_station_operator, dashizi, liziyuan, guzhou
):  # type: ignore[no-untyped-def]
    period, _start, _end = _this_month()
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=period,
        region=dashizi,
        raw={"terminals_planned": "4", "terminals_online": "2"},
    )
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=period,
        region=liziyuan,
        raw={"terminals_planned": "4", "terminals_online": "1"},
    )
    items: list[DataElement | Indicator] = [
        DataElement.objects.get(code="terminals_installed"),
        Indicator.objects.get(code="online_rate"),
        Indicator.objects.get(code="build_progress"),
    ]
    table = aggregate(items=items, periods=[period], region=guzhou)
    assert table.value(guzhou.code, "terminals_installed") == 3
    assert table.value(guzhou.code, "online_rate") == pytest.approx(100.0)  # 3 online of 3 installed
    assert table.value(guzhou.code, "build_progress") == pytest.approx(37.5)  # 3 installed of 8 planned
    assert table.value(dashizi.code, "terminals_installed") == 2


def test_another_module_can_publish_a_figure(metadata, guzhou):  # type: ignore[no-untyped-def]
    calls = []

    def work_orders(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
        calls.append((region_code, start, end))
        return 5

    published = figure_source("fleet.orders_opened")  # maintenance's own, put back afterwards
    register_figure_source("fleet.orders_opened", "工单", "number", "sum", work_orders)
    element = DataElement.objects.get(code="fleet_orders_opened")
    try:
        table = aggregate(items=[element], periods=["2026-01", "2026-02"], region=guzhou, level=guzhou.level)
    finally:
        unregister_figure_source("fleet.orders_opened")
        if published is not None:
            register_figure_source(*published)
    assert table.value(guzhou.code, "fleet_orders_opened") == 10
    assert (guzhou.code, datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)) in calls
    with pytest.raises(ValueError):
        register_figure_source("x", "x", "text", "sum", work_orders)
