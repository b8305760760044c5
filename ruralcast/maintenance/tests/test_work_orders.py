"""Faults open work orders, recovery closes them; assignment, SLA, escalation, notes, figures."""

import datetime
import io
import json
from datetime import timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.alerts.models import Alert, Receipt, State
from ruralcast.alerts.services import AlertFields, alert_create
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.maintenance import figures
from ruralcast.maintenance.models import FaultKind, OrderState, WorkOrder
from ruralcast.maintenance.rules import work_orders_sync
from ruralcast.maintenance.services import work_order_note_add, work_order_resolve, work_order_take
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal, TerminalEvent, TerminalState
from ruralcast.terminals.services import terminal_register

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def report(code: str, **fields: Any) -> tuple[str, bytes, Any]:
    body = {
        "terminal": code,
        "online": True,
        "at": timezone.now().isoformat(),
        "amplifier": "ok",
        "speaker": "ok",
        **fields,
    }
    return uplink_topic(code, "status"), json.dumps(body).encode(), timezone.now()


def will(code: str) -> tuple[str, bytes, Any]:
    return uplink_topic(code, "status"), b'{"online":false}', timezone.now()


def orders(code: str) -> list[tuple[str, str, str]]:
    return list(
        WorkOrder.objects.filter(terminal__code=code).order_by("id").values_list("fault", "state", "resolution")
    )


def test_a_speaker_fault_opens_an_order_for_the_villages_maintainer_and_recovery_closes_it(
    dashizi: Region, county_maintainer: User, make_user: Any, guzhou: Region
) -> None:
    township_maintainer = make_user(role=Role.MAINTAINER, region=guzhou, username="guzhou-maintainer")
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    assert work_orders_sync().opened == 1
    order = WorkOrder.objects.get(terminal__code=code)
    assert (order.fault, order.state, order.auto) == (FaultKind.SPEAKER, OrderState.OPEN, True)
    assert order.assignee == township_maintainer  # the most specific maintainer over the village
    assert order.due_at - order.opened_at == timedelta(hours=48)
    assert work_orders_sync().opened == 0  # one open order per fault
    ingest_batch([report(code)])
    assert work_orders_sync().resolved == 1
    assert orders(code) == [(FaultKind.SPEAKER, OrderState.RESOLVED, "recovered")]


def test_offline_for_longer_than_the_limit_opens_an_order(dashizi: Region, county_maintainer: User) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code), will(code)])
    assert work_orders_sync().opened == 0  # offline just now
    later = timezone.now() + timedelta(minutes=31)
    assert work_orders_sync(now=later).opened == 1
    assert orders(code) == [(FaultKind.OFFLINE, OrderState.OPEN, "")]
    ingest_batch([report(code)])
    work_orders_sync(now=later)
    assert orders(code)[0][1:] == (OrderState.RESOLVED, "recovered")


def test_a_terminal_that_never_reported_opens_nothing(dashizi: Region) -> None:
    terminal_register(actor=None, village=dashizi)
    assert work_orders_sync(now=timezone.now() + timedelta(days=2)).opened == 0


def test_repeated_playback_failures_and_an_amplifier_fault_open_their_own_orders(dashizi: Region) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, amplifier="fault", playback_failures=4)])
    work_orders_sync()
    assert sorted(f for f, _s, _r in orders(code)) == [FaultKind.AMPLIFIER, FaultKind.PLAYBACK]


def test_a_silent_terminal_during_an_alert_opens_an_order(
    dashizi: Region, liziyuan: Region, county_station_operator: User, guzhou: Region, rongjiang: Region
) -> None:
    silent = terminal_register(actor=None, village=dashizi).terminal.code
    answering = terminal_register(actor=None, village=liziyuan).terminal.code
    imported = terminal_register(actor=None, village=dashizi).terminal.code  # never connected
    ingest_batch([report(silent), report(answering)])
    now = timezone.now()
    Terminal.objects.update(created_at=now - timedelta(hours=1))  # installed before the alert
    alert = alert_create(
        actor=county_station_operator,
        issuer_region=rongjiang,
        fields=AlertFields(
            status="Exercise", event_code="11B03", severity=2, title="演练", text="演练", onset=now,
            expires=now + timedelta(hours=2), targets=[guzhou],
        ),
    )  # fmt: skip
    Alert.objects.filter(pk=alert.pk).update(state=State.DISPATCHED, sent_at=now - timedelta(minutes=15))
    Receipt.objects.create(alert=alert, terminal_code=answering, event="received")
    work_orders_sync()
    assert orders(silent) == [(FaultKind.SILENT, OrderState.OPEN, "")]
    assert WorkOrder.objects.get(terminal__code=silent).detail == alert.ebm_id
    assert orders(answering) == []
    assert orders(imported) == [], "a terminal that never connected is not commissioned: no silence order"
    Receipt.objects.create(alert=alert, terminal_code=silent, event="received")
    work_orders_sync()
    assert orders(silent)[0][1:] == (OrderState.RESOLVED, "recovered")


def test_an_overdue_order_escalates_to_the_maintainer_above(
    dashizi: Region, county_maintainer: User, make_user: Any, guzhou: Region
) -> None:
    township_maintainer = make_user(role=Role.MAINTAINER, region=guzhou, username="guzhou-maintainer")
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    assert order.assignee == township_maintainer
    assert work_orders_sync(now=order.due_at + timedelta(minutes=1)).escalated == 1
    order.refresh_from_db()
    assert (order.escalation_level, order.assignee) == (1, county_maintainer)
    assert work_orders_sync(now=order.due_at + timedelta(minutes=2)).escalated == 0


def test_a_maintainer_takes_notes_photos_and_resolves(
    dashizi: Region, county_maintainer: User, township_viewer: User
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    work_order_take(actor=county_maintainer, order=order)
    assert (order.state, order.assignee) == (OrderState.IN_PROGRESS, county_maintainer)
    photo = SimpleUploadedFile("p.jpg", b"\xff\xd8\xff\xe0" + b"0" * 100, content_type="image/jpeg")
    note = work_order_note_add(actor=county_maintainer, order=order, text="喇叭进水，已更换", photo=photo)
    assert note.photo.name.startswith("maintenance/photos/")
    with pytest.raises(ValidationError):
        work_order_note_add(actor=county_maintainer, order=order, photo=SimpleUploadedFile("x.jpg", b"MZ not a photo"))
    with pytest.raises(PermissionDenied):
        work_order_take(actor=township_viewer, order=order)
    work_order_resolve(actor=county_maintainer, order=order, resolution="更换喇叭")
    assert order.resolved_at is not None and order.resolution == "更换喇叭"


def test_figures_for_the_reporting_module(dashizi: Region, liziyuan: Region, rongjiang: Region) -> None:
    assert {code for code, *_ in figures.FIGURES} == {
        "fleet.terminals", "fleet.availability", "fleet.orders_opened", "fleet.orders_open",
        "fleet.orders_overdue", "fleet.mttr_hours",
    }  # fmt: skip
    assert all(
        kind in ("number", "percent") and agg in ("sum", "average", "last") for _c, _l, kind, agg, _f in figures.FIGURES
    )
    up = terminal_register(actor=None, village=dashizi).terminal.code
    down = terminal_register(actor=None, village=liziyuan).terminal.code
    ingest_batch([report(up), report(down, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=down)
    WorkOrder.objects.filter(pk=order.pk).update(
        opened_at=order.opened_at - timedelta(hours=3), resolved_at=order.opened_at, state=OrderState.RESOLVED
    )
    today = timezone.localdate()
    period: dict[str, Any] = {
        "region_code": rongjiang.code,
        "start": today - datetime.timedelta(days=1),
        "end": today + datetime.timedelta(days=1),
    }
    assert figures.terminals(**period) == 2
    assert figures.orders_opened(**period) == 1 and figures.orders_open(**period) == 0
    assert figures.mttr_hours(**period) == 3.0
    availability = figures.availability(**period)
    assert availability is not None and 0 < availability <= 100
    assert figures.terminals(region_code="522633000000", start=period["start"], end=period["end"]) == 0
    assert figures.availability(region_code="522633000000", start=period["start"], end=period["end"]) is None


def test_availability_counts_a_terminal_from_its_first_time_online_and_leaves_out_one_never_connected(
    dashizi: Region, rongjiang: Region
) -> None:
    up = terminal_register(actor=None, village=dashizi).terminal.code
    terminal_register(actor=None, village=dashizi)  # imported, never connected: not commissioned
    ingest_batch([report(up)])
    now = timezone.now()
    Terminal.objects.update(created_at=now - timedelta(hours=3))  # both registered 3 hours ago
    TerminalEvent.objects.filter(terminal_code=up).update(at=now - timedelta(hours=2))  # put up 2 hours ago
    today = timezone.localdate()
    period: dict[str, Any] = {
        "region_code": rongjiang.code,
        "start": today - datetime.timedelta(days=1),
        "end": today + datetime.timedelta(days=1),
    }
    assert figures.availability(**period) == 100.0  # online ever since it was commissioned


def test_the_pages_list_show_and_count(
    en_client: Any, dashizi: Region, county_maintainer: User, county_bureau_admin: User
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    en_client.force_login(county_maintainer)
    assert "Speaker fault" in en_client.get("/maintenance/").content.decode()
    assert en_client.post(f"/maintenance/{order.pk}/", {"action": "take"}).status_code == 302
    response = en_client.post(f"/maintenance/{order.pk}/", {"action": "note", "text": "到场检查"})
    assert response.status_code == 302
    assert "到场检查" in en_client.get(f"/maintenance/{order.pk}/").content.decode()
    photo = SimpleUploadedFile("p.png", b"\x89PNG\r\n\x1a\n" + b"0" * 64, content_type="image/png")
    assert en_client.post(f"/maintenance/{order.pk}/", {"action": "note", "photo": photo}).status_code == 302
    note = order.notes.exclude(photo="").get()
    shown = en_client.get(f"/maintenance/{order.pk}/photos/{note.pk}/")
    assert shown.status_code == 200 and shown.getvalue().startswith(b"\x89PNG")
    assert en_client.post(f"/maintenance/{order.pk}/", {"action": "resolve", "resolution": ""}).status_code == 400
    stats = en_client.get("/maintenance/statistics/").content.decode()
    assert "Terminal availability" in stats and "榕江县" in stats
    en_client.force_login(county_bureau_admin)  # sees, cannot act
    assert en_client.get(f"/maintenance/{order.pk}/").status_code == 200
    assert "Take it" not in en_client.get(f"/maintenance/{order.pk}/").content.decode()
    assert TerminalState.objects.get(terminal_id=code).faults == "speaker"


def test_the_api_lists_orders_and_figures(
    client: Any, dashizi: Region, county_maintainer: User, rongjiang: Region
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    client.force_login(county_maintainer)
    listed = client.get("/api/v1/maintenance/orders").json()["items"]
    assert [(o["terminal"], o["fault"], o["assignee"]) for o in listed] == [
        (code, "speaker", county_maintainer.username)
    ]
    resolved = client.post(
        f"/api/v1/maintenance/orders/{listed[0]['id']}/resolve",
        {"resolution": "换喇叭"},
        content_type="application/json",
    )
    assert resolved.status_code == 200 and resolved.json()["state"] == "resolved"
    today = timezone.localdate()
    values = client.get(
        "/api/v1/maintenance/figures",
        {"region": rongjiang.code, "start": str(today), "end": str(today + timedelta(days=1))},
    ).json()
    assert {v["code"]: v["value"] for v in values}["fleet.orders_opened"] == 1
    bad = client.get("/api/v1/maintenance/figures", {"region": rongjiang.code, "start": str(today), "end": str(today)})
    assert bad.status_code == 400
    # Year 1 cannot be moved into the deployment's time zone: a clear 400, not a 500 (found by the API fuzz).
    ancient = client.get(
        "/api/v1/maintenance/figures", {"region": rongjiang.code, "start": "0001-01-01", "end": "0001-01-02"}
    )
    assert ancient.status_code == 400 and "1970-01-01" in ancient.json()["error"]["message"]


def test_a_work_order_of_another_county_is_not_found_in_the_console_or_the_api(
    en_client: Any, dashizi: Region, county_maintainer: User, neighbour_county_bureau_admin: User
) -> None:
    from ruralcast.core.errors import NotFound
    from ruralcast.maintenance.selectors import access_work_order

    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    assert access_work_order(user=county_maintainer, pk=order.pk) == order
    with pytest.raises(NotFound):
        access_work_order(user=neighbour_county_bureau_admin, pk=order.pk)
    en_client.force_login(neighbour_county_bureau_admin)
    assert en_client.get(f"/maintenance/{order.pk}/").status_code == 404
    assert en_client.post(f"/maintenance/{order.pk}/", {"action": "take"}).status_code == 404
    assert en_client.get(f"/api/v1/maintenance/orders/{order.pk}").status_code == 404
    assert WorkOrder.objects.get(pk=order.pk).assignee == order.assignee


def test_a_hand_resolved_fault_stays_closed_until_the_next_report_shows_it_again(
    dashizi: Region, county_maintainer: User
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code)
    work_order_resolve(actor=county_maintainer, order=order, resolution="更换喇叭")
    # The stored state still says "speaker" (the last report): the next rounds do not reopen it.
    assert TerminalState.objects.get(terminal_id=code).faults == "speaker"
    assert work_orders_sync().opened == 0 and work_orders_sync().opened == 0
    # The terminal reports again and the fault is still there: a new order.
    ingest_batch([report(code, speaker="fault")])
    assert work_orders_sync().opened == 1
    assert orders(code) == [
        (FaultKind.SPEAKER, OrderState.RESOLVED, "更换喇叭"),
        (FaultKind.SPEAKER, OrderState.OPEN, ""),
    ]


def test_a_hand_resolved_offline_order_reopens_only_when_the_terminal_drops_again(
    dashizi: Region, county_maintainer: User
) -> None:
    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code), will(code)])
    work_orders_sync(now=timezone.now() + timedelta(minutes=31))
    order = WorkOrder.objects.get(terminal__code=code, fault=FaultKind.OFFLINE)
    work_order_resolve(actor=county_maintainer, order=order, resolution="已通知村委")
    assert work_orders_sync(now=timezone.now() + timedelta(minutes=32)).opened == 0
    ingest_batch([report(code)])
    ingest_batch([will(code)])
    assert work_orders_sync(now=timezone.now() + timedelta(minutes=31)).opened == 1


def test_the_work_order_list_exports_as_csv_and_xlsx_with_its_filters(
    en_client: Any, dashizi: Region, county_maintainer: User
) -> None:
    from openpyxl import load_workbook

    code = terminal_register(actor=None, village=dashizi).terminal.code
    ingest_batch([report(code, speaker="fault", amplifier="fault")])
    work_orders_sync()
    order = WorkOrder.objects.get(terminal__code=code, fault=FaultKind.AMPLIFIER)
    work_order_resolve(actor=county_maintainer, order=order, resolution='=HYPERLINK("http://x")')
    en_client.force_login(county_maintainer)
    assert "/maintenance/export.xlsx?" in en_client.get("/maintenance/").content.decode()
    text = en_client.get("/maintenance/export.csv", {"state": "all"}).content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("Number,Fault,Detail,Resource code")
    assert "Speaker fault" in text and "'=HYPERLINK" in text  # neutralised, never a formula
    only_open = en_client.get("/maintenance/export.csv").content.decode("utf-8-sig")
    assert "Speaker fault" in only_open and "Amplifier fault" not in only_open
    book = load_workbook(io.BytesIO(en_client.get("/maintenance/export.xlsx", {"state": "all"}).content))
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert len(rows) == 3 and rows[1][3] == code
    assert en_client.get("/maintenance/export.pdf").status_code == 404
