"""Spreadsheets in and out: the bulk entry template, its import with a per-cell error report, and
the export of any table to xlsx or CSV (formula-injection safe, see core.exports).

Template layout (sheet "data"): row 1 holds the column keys (region_code, region_name, then element
codes), row 2 the element names for people, data from row 3. One sheet is one data set and period.
"""

import io
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _
from openpyxl import Workbook, load_workbook
from openpyxl.utils import get_column_letter

from ruralcast.accounts.models import User
from ruralcast.core.archives import XLSX_LIMITS, archive_check
from ruralcast.core.errors import ApplicationError, ValidationError
from ruralcast.core.exports import csv_bytes, safe_row
from ruralcast.regions.models import Region
from ruralcast.reporting import services
from ruralcast.reporting.models import DataSet, DataValue
from ruralcast.reporting.periods import period_check

MAX_UPLOAD_BYTES = 10 * 1024 * 1024
MAX_ROWS = 30000
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def entry_template(*, data_set: DataSet, period: str, regions: Sequence[Region]) -> bytes:
    """An xlsx to fill in offline for these regions, with the values already entered."""
    elements = services.entry_elements(data_set=data_set)
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "data"
    sheet.append(["region_code", "region_name", *[e.code for e in elements]])
    sheet.append([_("Code"), _("Region"), *[f"{e.label} ({e.unit_label})" if e.unit else e.label for e in elements]])
    entered: dict[tuple[str, int], Any] = {}
    codes = [region.code for region in regions]
    for start in range(0, len(codes), 500):  # one query per 500 regions, not one per region
        for region_id, element_id, value, text in DataValue.objects.filter(
            element__in=elements, period=period, region_id__in=codes[start : start + 500]
        ).values_list("region_id", "element_id", "value", "text"):
            entered[(region_id, element_id)] = text or value
    for region in regions:
        row: list[Any] = [region.code, region.name, *[entered.get((region.code, e.pk)) for e in elements]]
        sheet.append(safe_row(row))
    info = book.create_sheet("about")
    info.append(["data_set", data_set.code])
    info.append(["period", period])
    sheet.freeze_panes = "C3"
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


@dataclass
class ImportReport:
    rows: int = 0
    saved: int = 0
    cleared: int = 0
    errors: list[tuple[str, str]] = field(default_factory=list)  # (cell like "D7", message)

    @property
    def ok(self) -> bool:
        return not self.errors


def entry_import(*, actor: User, data_set: DataSet, period: str, content: bytes) -> ImportReport:
    """Import a filled-in template. Every broken cell is reported with its address; when there is
    any error nothing at all is written."""
    period_check(period, data_set.period_type)
    if len(content) > MAX_UPLOAD_BYTES:
        raise ValidationError(_("The file is larger than 10 MB."), fields={"file": [_("Too large.")]})
    archive_check(content, limits=XLSX_LIMITS)  # before openpyxl inflates anything (a zip bomb is refused)
    try:
        book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a file that is not xlsx
        raise ValidationError(
            _("This is not an xlsx file; download the template and fill it in."), fields={"file": [_("Not xlsx.")]}
        ) from None
    sheet = book["data"] if "data" in book.sheetnames else book.worksheets[0]
    rows = sheet.iter_rows(values_only=True)
    header = [str(c).strip() if c is not None else "" for c in next(rows, ())]
    elements = services.entry_elements(data_set=data_set)
    by_code = {e.code: e for e in elements}
    report = ImportReport()
    if not header or header[0] != "region_code":
        report.errors.append(("A1", _("The first column must be region_code (use the template).")))
        return report
    columns: list[tuple[int, str]] = []
    for index, key in enumerate(header[1:], start=1):
        if key in ("", "region_name"):
            continue
        if key not in by_code:
            report.errors.append((f"{get_column_letter(index + 1)}1", _("Unknown element “%(code)s”.") % {"code": key}))
        else:
            columns.append((index, key))
    pending: list[tuple[Region, dict[str, tuple[float | None, str]]]] = []
    regions = {r.code: r for r in Region.objects.filter(level=data_set.entry_level).only("code", "name", "level")}
    seen: set[str] = set()
    for row_number, row in enumerate(rows, start=2):
        if row_number == 2 and (row[0] is None or not str(row[0]).strip().isdigit()):
            continue  # the names row of the template
        if all(cell is None or str(cell).strip() == "" for cell in row):
            continue
        report.rows += 1
        if report.rows > MAX_ROWS:
            report.errors.append((f"A{row_number}", _("At most 30,000 rows per file.")))
            break
        code = str(row[0]).strip() if row[0] is not None else ""
        region = regions.get(code)
        cell = f"A{row_number}"
        if region is None:
            report.errors.append(
                (cell, _("“%(code)s” is not a region that enters this data set.") % {"code": code[:20]})
            )
            continue
        if code in seen:
            report.errors.append((cell, _("%(code)s appears twice.") % {"code": code}))
            continue
        seen.add(code)
        try:
            services.entry_check(actor=actor, data_set=data_set, period=period, region=region)
        except ApplicationError as error:
            report.errors.append((cell, error.message))
            continue
        raw = {key: row[index] if index < len(row) else None for index, key in columns}
        parsed, errors = services.values_prepare(
            data_set=data_set, period=period, region=region, raw=raw, elements=elements
        )
        column_of = {key: index for index, key in columns}
        for key, messages in errors.items():
            letter = get_column_letter(column_of[key] + 1) if key in column_of else "A"
            for message in messages:
                report.errors.append((f"{letter}{row_number}", message))
        if not errors:
            pending.append((region, parsed))
    if report.errors:
        return report
    with transaction.atomic():
        for region, parsed in pending:
            result = services._values_write(actor=actor, data_set=data_set, period=period, region=region, parsed=parsed)
            report.saved += result.saved
            report.cleared += result.cleared
    return report


def table_rows(header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> list[list[Any]]:
    return [safe_row(list(header)), *[safe_row(list(row)) for row in rows]]


def export_xlsx(*, header: Sequence[Any], rows: Sequence[Sequence[Any]], title: str = "table") -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = title[:31] or "table"
    for row in table_rows(header, rows):
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def export_csv(*, header: Sequence[Any], rows: Sequence[Sequence[Any]]) -> bytes:
    return csv_bytes(header=list(header), rows=rows)
