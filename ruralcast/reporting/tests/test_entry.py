"""Data entry: validation on save, locking, scope, completeness and timeliness, xlsx bulk entry."""

import datetime
import io

import pytest
from django.utils import timezone
from openpyxl import Workbook, load_workbook

from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.reporting.models import Approval, DataValue, ReportReceipt
from ruralcast.reporting.selectors import completeness
from ruralcast.reporting.services import approval_advance, values_save
from ruralcast.reporting.spreadsheets import entry_import, entry_template

PERIOD = "2026-03"


def test_saved_values_are_stored_with_a_receipt_and_an_audit_event(broadcast_set, county_station_operator, dashizi):  # type: ignore[no-untyped-def]
    result = values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        region=dashizi,
        raw={"terminals_planned": "12", "terminals_online": "9"},
    )
    assert result.saved == 2
    assert DataValue.objects.get(region=dashizi, element__code="terminals_online").value == 9
    assert ReportReceipt.objects.filter(data_set=broadcast_set, period=PERIOD, region=dashizi).exists()
    event = AuditEvent.objects.filter(verb="report.values_save").latest("seq")
    assert event.after == {"terminals_planned": 12, "terminals_online": 9}


def test_online_above_planned_is_refused_and_nothing_is_written(broadcast_set, county_station_operator, dashizi):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=dashizi,
            raw={"terminals_planned": "5", "terminals_online": "9"},
        )
    assert "terminals_online" in caught.value.fields
    assert "规划" in caught.value.fields["terminals_online"][0]
    assert not DataValue.objects.filter(region=dashizi).exists()
    assert not ReportReceipt.objects.exists()


def test_the_rule_uses_the_values_already_stored(broadcast_set, county_station_operator, dashizi):  # type: ignore[no-untyped-def]
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        region=dashizi,
        raw={"terminals_planned": "4"},
    )
    with pytest.raises(ValidationError):
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=dashizi,
            raw={"terminals_online": "5"},
        )


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ({"terminals_online": "abc"}, "terminals_online"),
        ({"terminals_online": "-3"}, "terminals_online"),
        ({"terminals_online": "1e400"}, "terminals_online"),
        ({"terminals_installed": "3"}, "terminals_installed"),  # operational: nobody types it in
    ],
)
def test_bad_values_are_named_by_element(broadcast_set, county_station_operator, dashizi, raw, field):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as caught:
        values_save(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, region=dashizi, raw=raw)
    assert field in caught.value.fields


def test_wrong_period_or_level_is_refused(broadcast_set, county_station_operator, dashizi, guzhou):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        values_save(actor=county_station_operator, data_set=broadcast_set, period="2026Q1", region=dashizi, raw={})
    with pytest.raises(ValidationError):
        values_save(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, region=guzhou, raw={})


def test_county_user_cannot_enter_for_another_county(broadcast_set, county_station_operator, congjiang_village):  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=congjiang_village,
            raw={"terminals_planned": "1"},
        )


def test_a_viewer_cannot_enter(broadcast_set, township_viewer, dashizi):  # type: ignore[no-untyped-def]
    with pytest.raises(PermissionDenied):
        values_save(
            actor=township_viewer, data_set=broadcast_set, period=PERIOD, region=dashizi, raw={"terminals_planned": "1"}
        )


def test_submission_locks_entry_for_the_county(broadcast_set, county_station_operator, dashizi, rongjiang):  # type: ignore[no-untyped-def]
    approval_advance(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, region=rongjiang)
    with pytest.raises(Conflict) as caught:
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=dashizi,
            raw={"terminals_planned": "1"},
        )
    assert caught.value.code == "locked"
    # Another period stays open.
    values_save(
        actor=county_station_operator,
        data_set=broadcast_set,
        period="2026-04",
        region=dashizi,
        raw={"terminals_planned": "1"},
    )


def test_completeness_names_missing_and_late_reporters(
    broadcast_set, county_station_operator, dashizi, liziyuan, guzhou
):  # type: ignore[no-untyped-def]
    for village in (dashizi, liziyuan):
        values_save(
            actor=county_station_operator,
            data_set=broadcast_set,
            period=PERIOD,
            region=village,
            raw={"terminals_planned": "3"},
        )
    on_time = timezone.make_aware(datetime.datetime(2026, 4, 2, 9))
    late = timezone.make_aware(datetime.datetime(2026, 4, 20, 9))  # due 7 days after the month: 7 April
    ReportReceipt.objects.filter(region=dashizi).update(first_saved_at=on_time)
    ReportReceipt.objects.filter(region=liziyuan).update(first_saved_at=late)
    state = completeness(data_set=broadcast_set, period=PERIOD, region=guzhou)
    villages = state.total.expected
    assert villages > 2
    assert state.deadline == datetime.date(2026, 4, 7)
    assert (state.total.reported, state.total.on_time) == (2, 1)
    assert [r.code for r, _at in state.late] == [liziyuan.code]
    assert dashizi not in state.missing and liziyuan not in state.missing
    assert len(state.missing) == villages - 2
    assert state.total.rate == pytest.approx(round(200 / villages, 1))


# ---------------------------------------------------------------------------- xlsx


def _workbook(rows: list[list[object]]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "data"
    sheet.append(["region_code", "region_name", "terminals_planned", "terminals_online"])
    sheet.append(["代码", "地区", "规划", "在线"])
    for row in rows:
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def test_xlsx_with_broken_cells_reports_each_cell_and_writes_nothing(
    broadcast_set, county_station_operator, dashizi, liziyuan, congjiang_village
):  # type: ignore[no-untyped-def]
    content = _workbook(
        [
            [dashizi.code, "大十字", 10, 8],  # fine
            [liziyuan.code, "梨子园", "十二", 3],  # C4: not a number
            ["522632999999", "?", 1, 1],  # A5: no such village
            [congjiang_village.code, "从江", 1, 1],  # A6: another county
            [dashizi.code, "again", 1, 1],  # A7: twice
        ]
    )
    report = entry_import(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, content=content)
    cells = [cell for cell, _message in report.errors]
    assert cells == ["C4", "A5", "A6", "A7"]
    assert not DataValue.objects.exists()


def test_xlsx_rule_violation_points_at_both_cells(broadcast_set, county_station_operator, dashizi):  # type: ignore[no-untyped-def]
    report = entry_import(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        content=_workbook([[dashizi.code, "", 2, 5]]),
    )
    assert sorted(cell for cell, _m in report.errors) == ["C3", "D3"]


def test_xlsx_template_round_trip_saves_every_row(broadcast_set, county_station_operator, dashizi, liziyuan):  # type: ignore[no-untyped-def]
    template = entry_template(data_set=broadcast_set, period=PERIOD, regions=[dashizi, liziyuan])
    book = load_workbook(io.BytesIO(template))
    sheet = book["data"]
    assert [c.value for c in sheet[1]] == ["region_code", "region_name", "terminals_planned", "terminals_online"]
    sheet["C3"], sheet["D3"], sheet["C4"] = 10, 7, 4
    output = io.BytesIO()
    book.save(output)
    report = entry_import(
        actor=county_station_operator, data_set=broadcast_set, period=PERIOD, content=output.getvalue()
    )
    assert report.ok, report.errors
    assert (report.rows, report.saved) == (2, 3)
    assert DataValue.objects.get(region=liziyuan, element__code="terminals_planned").value == 4


def test_a_file_that_is_not_xlsx_is_refused(broadcast_set, county_station_operator):  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError):
        entry_import(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, content=b"name,value\n")


def test_an_xlsx_bomb_is_refused_before_openpyxl_reads_it(broadcast_set, county_station_operator):  # type: ignore[no-untyped-def]
    from ruralcast.core.archives import ArchiveRefused
    from ruralcast.core.tests.archive_bombs import xlsx_bomb

    bomb = xlsx_bomb(header=("region_code", "region_name", "terminals_planned", "terminals_online"))
    with pytest.raises(ArchiveRefused):
        entry_import(actor=county_station_operator, data_set=broadcast_set, period=PERIOD, content=bomb)


def test_xlsx_import_stops_at_a_locked_county(broadcast_set, county_station_operator, dashizi, rongjiang):  # type: ignore[no-untyped-def]
    Approval.objects.create(
        data_set=broadcast_set,
        period=PERIOD,
        region=rongjiang,
        state="submitted",
        by=county_station_operator,
        at=timezone.now(),
    )
    report = entry_import(
        actor=county_station_operator,
        data_set=broadcast_set,
        period=PERIOD,
        content=_workbook([[dashizi.code, "", 2, 1]]),
    )
    assert [cell for cell, _m in report.errors] == ["A3"]
    assert not DataValue.objects.exists()
