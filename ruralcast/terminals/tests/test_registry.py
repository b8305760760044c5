"""The terminal registry: registering with details, changing them, importing and exporting files."""

import csv
import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.messaging.ingest import ingest_batch
from ruralcast.messaging.topics import uplink_topic
from ruralcast.regions.models import Region
from ruralcast.terminals.importer import COLUMNS, export_csv, export_xlsx, terminals_import
from ruralcast.terminals.models import Terminal, TerminalState, Transport
from ruralcast.terminals.selectors import access_terminal, terminal_list
from ruralcast.terminals.services import (
    TerminalDetails,
    terminal_credentials_issue,
    terminal_register,
    terminal_revoke,
    terminal_update,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]


def _csv(rows: list[dict[str, str]], columns: list[str] = COLUMNS) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns)
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue().encode("utf-8")


def test_a_registered_terminal_keeps_its_details_and_has_an_offline_state_row(
    county_station_operator: User, county_maintainer: User, dashizi: Region
) -> None:
    details = TerminalDetails(
        kind="4g_speaker",
        model="IPS-30W",
        firmware="2.1.0",
        installed_on=date(2025, 5, 1),
        latitude=Decimal("25.93"),
        longitude=Decimal("108.52"),
        owner_station="榕江县融媒体中心",
        maintainer=county_maintainer,
    )
    registration = terminal_register(actor=county_station_operator, village=dashizi, details=details)
    terminal = registration.terminal
    assert terminal.code == f"6{dashizi.code}0314010401"
    assert terminal.transport == Transport.CELLULAR  # the usual transport of a 4G loudspeaker
    assert (terminal.model, terminal.maintainer) == ("IPS-30W", county_maintainer)
    assert terminal.is_provisioned and registration.password
    state = TerminalState.objects.get(terminal=terminal)
    assert (state.online, state.village_code, state.last_seen_at) == (False, dashizi.code, None)
    event = AuditEvent.objects.filter(verb="terminal.register").latest("seq")
    assert event.after is not None and event.after["maintainer"] == county_maintainer.username


def test_registration_refuses_bad_details_naming_each_field(county_station_operator: User, dashizi: Region) -> None:
    details = TerminalDetails(kind="radio", latitude=Decimal("91"), longitude=None, installed_on=date(2999, 1, 1))
    with pytest.raises(ValidationError) as caught:
        terminal_register(actor=county_station_operator, village=dashizi, details=details)
    assert {"kind", "latitude", "installed_on"} <= set(caught.value.fields)
    assert not Terminal.objects.filter(village=dashizi).exists()


def test_a_maintainer_must_maintain_the_village(
    county_station_operator: User, township_viewer: User, dashizi: Region
) -> None:
    with pytest.raises(ValidationError) as caught:
        terminal_register(
            actor=county_station_operator, village=dashizi, details=TerminalDetails(maintainer=township_viewer)
        )
    assert "maintainer" in caught.value.fields


def test_update_records_before_and_after(county_station_operator: User, dashizi: Region) -> None:
    terminal = terminal_register(actor=county_station_operator, village=dashizi).terminal
    details = TerminalDetails.of(terminal)
    details.firmware = "2.2.0"
    terminal_update(actor=county_station_operator, terminal=terminal, details=details)
    terminal.refresh_from_db()
    assert terminal.firmware == "2.2.0"
    event = AuditEvent.objects.filter(verb="terminal.update").latest("seq")
    assert event.before is not None and event.after is not None
    assert (event.before["firmware"], event.after["firmware"]) == ("", "2.2.0")


def test_nobody_registers_outside_their_regions(township_station_operator: User, rongjiang: Region) -> None:
    village = Region.objects.get(code="522632101001")  # in 忠诚镇, not the operator's 古州镇
    with pytest.raises(PermissionDenied):
        terminal_register(actor=township_station_operator, village=village)


def test_credentials_can_be_issued_again_and_the_old_password_stops_matching(
    county_station_operator: User, dashizi: Region
) -> None:
    first = terminal_register(actor=county_station_operator, village=dashizi)
    old_hash = first.terminal.broker_password_hash
    second = terminal_credentials_issue(actor=county_station_operator, terminal=first.terminal)
    assert second.password != first.password
    assert second.terminal.broker_password_hash != old_hash


def test_revoking_removes_the_state_row(county_station_operator: User, dashizi: Region) -> None:
    terminal = terminal_register(actor=county_station_operator, village=dashizi).terminal
    terminal_revoke(actor=county_station_operator, terminal=terminal)
    assert not TerminalState.objects.filter(terminal_id=terminal.code).exists()


# ---------------------------------------------------------------------------- listing


def test_the_list_is_scoped_searchable_and_filterable(
    township_viewer: User, county_station_operator: User, dashizi: Region
) -> None:
    here = terminal_register(
        actor=county_station_operator, village=dashizi, details=TerminalDetails(model="IPS-30W")
    ).terminal
    elsewhere = terminal_register(actor=None, village=Region.objects.get(code="522632101001")).terminal
    listed = list(terminal_list(user=township_viewer))
    assert here in listed and elsewhere not in listed
    assert list(terminal_list(user=township_viewer, query="IPS")) == [here]
    assert list(terminal_list(user=township_viewer, query=here.code[:14])) == [here]
    assert list(terminal_list(user=township_viewer, status="online")) == []
    # Registered and never connected: not commissioned, listed apart from the offline ones (issue 16, item 3).
    assert here in terminal_list(user=township_viewer, status="uncommissioned")
    assert here not in terminal_list(user=township_viewer, status="offline")
    _connected_then_dropped(here.code)
    assert here in terminal_list(user=township_viewer, status="offline")
    assert here not in terminal_list(user=township_viewer, status="uncommissioned")
    assert access_terminal(user=township_viewer, code=here.code) == here


def _connected_then_dropped(code: str) -> None:
    """The terminal came online once (it is commissioned) and its connection then dropped: offline."""
    now = timezone.now()
    ingest_batch(
        [
            (uplink_topic(code, "status"), json.dumps({"terminal": code, "online": True}).encode(), now),
            (uplink_topic(code, "status"), b'{"online":false}', now),
        ]
    )


# ---------------------------------------------------------------------------- import


def test_a_good_csv_file_creates_and_updates_terminals(
    county_station_operator: User, county_maintainer: User, dashizi: Region, liziyuan: Region
) -> None:
    existing = terminal_register(actor=county_station_operator, village=dashizi).terminal
    data = _csv(
        [
            {"code": existing.code, "village_code": dashizi.code, "kind": "ip_speaker", "model": "NEW-MODEL"},
            {
                "village_code": liziyuan.code,
                "kind": "4G大喇叭",
                "installed_on": "2025/6/1",
                "latitude": "25.9",
                "longitude": "108.5",
                "maintainer": county_maintainer.username,
            },
            {"village_code": liziyuan.code, "kind": "FM-RDS receiver adapter", "transport": "fm"},
        ]
    )
    report = terminals_import(actor=county_station_operator, filename="fleet.csv", data=data)
    assert report.written and not report.invalid
    assert report.updated == [existing.code]
    assert report.created == [f"6{liziyuan.code}0314010401", f"6{liziyuan.code}0314010402"]
    existing.refresh_from_db()
    assert existing.model == "NEW-MODEL"
    first = Terminal.objects.get(code=report.created[0])
    assert (first.kind, first.installed_on, first.maintainer) == ("4g_speaker", date(2025, 6, 1), county_maintainer)
    assert not first.is_provisioned  # credentials come with the provisioning file
    assert TerminalState.objects.filter(terminal_id__in=report.created).count() == 2
    imported = AuditEvent.objects.filter(verb="terminal.import").latest("seq").after
    assert imported is not None and imported["created"] == report.created


def test_a_broken_file_imports_nothing_and_reports_every_bad_row(
    county_station_operator: User, dashizi: Region, congjiang: Region
) -> None:
    neighbour_village = Region.objects.filter(code__startswith="522633", level=5).first()
    assert neighbour_village is not None
    data = _csv(
        [
            {"village_code": dashizi.code, "kind": "ip_speaker"},  # fine
            {"village_code": "52263210000", "kind": "ip_speaker"},  # 11 digits
            {"village_code": neighbour_village.code},  # outside the operator's county
            {"village_code": dashizi.code, "kind": "radio", "latitude": "200", "longitude": "108"},
            {"village_code": dashizi.code, "installed_on": "yesterday", "maintainer": "nobody"},
            {"code": "123", "village_code": dashizi.code},
        ]
    )
    report = terminals_import(actor=county_station_operator, filename="broken.csv", data=data)
    assert not report.written
    assert [r.line for r in report.invalid] == [3, 4, 5, 6, 7]
    messages = {r.line: " ".join(r.errors) for r in report.invalid}
    assert "12-digit" in messages[3] and "outside your regions" in messages[4]
    assert "kind" in messages[5] and "latitude" in messages[5]
    assert "installed_on" in messages[6] and "maintainer" in messages[6]
    assert "23 digits" in messages[7]
    assert not Terminal.objects.filter(village=dashizi).exists()


def test_the_valid_rows_of_a_broken_file_can_be_imported_on_request(
    county_station_operator: User, dashizi: Region
) -> None:
    data = _csv([{"village_code": dashizi.code}, {"village_code": "999999999999"}])
    report = terminals_import(actor=county_station_operator, filename="x.csv", data=data, valid_only=True)
    assert report.written and len(report.created) == 1 and [r.line for r in report.invalid] == [3]


def test_a_dry_run_writes_nothing(county_station_operator: User, dashizi: Region) -> None:
    report = terminals_import(
        actor=county_station_operator, filename="x.csv", data=_csv([{"village_code": dashizi.code}]), dry_run=True
    )
    assert not report.written and len(report.valid) == 1
    assert not Terminal.objects.filter(village=dashizi).exists()


def test_a_code_twice_in_one_file_is_refused(county_station_operator: User, dashizi: Region) -> None:
    code = f"6{dashizi.code}0314010407"
    data = _csv([{"code": code, "village_code": dashizi.code}, {"code": code, "village_code": dashizi.code}])
    report = terminals_import(actor=county_station_operator, filename="x.csv", data=data)
    assert [r.line for r in report.invalid] == [3] and not report.written


def test_xlsx_with_chinese_headers_imports(county_station_operator: User, dashizi: Region) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["行政村代码", "终端类型", "型号", "安装日期", "纬度", "经度"])
    sheet.append([dashizi.code, "智能音箱", "XM-1", date(2024, 3, 2), 25.91, 108.51])
    output = io.BytesIO()
    book.save(output)
    report = terminals_import(actor=county_station_operator, filename="终端.xlsx", data=output.getvalue())
    assert report.written, report.invalid
    terminal = Terminal.objects.get(code=report.created[0])
    assert (terminal.kind, terminal.transport, terminal.installed_on) == ("smart_speaker", "wifi", date(2024, 3, 2))
    assert terminal.latitude == Decimal("25.910000")


@pytest.mark.parametrize(
    ("filename", "data", "problem"),
    [
        ("x.csv", b"", "empty"),
        ("x.csv", b"code,name\n1,2\n", "village_code"),
        ("x.pdf", b"%PDF", ".csv or .xlsx"),
        ("x.xlsx", b"PK\x03\x04garbage", "xlsx"),
    ],
)
def test_unreadable_files_are_refused_with_a_reason(
    county_station_operator: User, filename: str, data: bytes, problem: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        terminals_import(actor=county_station_operator, filename=filename, data=data)
    assert problem in caught.value.message


def test_export_round_trips_through_import(county_station_operator: User, dashizi: Region) -> None:
    terminal_register(
        actor=county_station_operator,
        village=dashizi,
        details=TerminalDetails(model="=cmd|' /C calc'!A0", latitude=Decimal("25.9"), longitude=Decimal("108.5")),
    )
    listing = terminal_list(user=county_station_operator)
    exported = export_csv(listing)
    assert exported.startswith("\ufeff".encode())
    assert "'=cmd" in exported.decode("utf-8-sig")  # a formula is neutralised
    report = terminals_import(actor=county_station_operator, filename="again.csv", data=exported, dry_run=True)
    assert [r.action for r in report.rows] == ["update"], report.invalid
    book = load_workbook(io.BytesIO(export_xlsx(listing)), read_only=True)
    rows = list(book.worksheets[0].iter_rows(values_only=True))
    assert list(rows[0]) == COLUMNS and len(rows) == 2
