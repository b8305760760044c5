"""Files people open in spreadsheet programs: the one way the platform writes CSV (and safe xlsx cells).

Text in these files comes from people and from terminals (a playback log's title and reason are
whatever a device sent). A cell that begins like a formula (`=`, `+`, `-`, `@`, a tab or a carriage
return) is run by Excel, WPS and LibreOffice when the file is opened: `=HYPERLINK(...)` or a DDE
call in an audit export is an attack on the county officer who opens it (CSV injection, OWASP).
Every such cell gets a leading apostrophe, which spreadsheets show as text and do not display.

Every CSV of the platform goes through `csv_bytes`, `csv_response` or `csv_streaming_response` (a test fails on a
`csv.writer` anywhere else); xlsx writers pass their rows through `safe_row`, because openpyxl
stores a string beginning with `=` as a formula too.
"""

import csv
import io
import re
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

# OWASP's list, plus the full-width forms a Chinese input method types (spreadsheets in CJK
# locales may read them as the ASCII operators).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")
# A plain number written as text ("-5", "+8613800000000", "-26.5") is no formula: kept as it is,
# so coordinates and temperatures still read as numbers.
_PLAIN_NUMBER = re.compile(r"[+-]?\d+(\.\d+)?")
BOM = "\ufeff"  # spreadsheet programs read UTF-8 (and so the Chinese names) only after a BOM
CONTENT_TYPE = "text/csv; charset=utf-8"


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula: prefix an apostrophe.

    Numbers stay numbers; only strings that begin like a formula are changed. Idempotent.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS) and not _PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [spreadsheet_safe(value) for value in values]


def csv_line(values: Iterable[Any]) -> str:
    """One CSV row (CRLF-terminated), every cell neutralised; None becomes an empty cell."""
    buffer = io.StringIO()
    csv.writer(buffer).writerow(["" if value is None else value for value in safe_row(values)])
    return buffer.getvalue()


def csv_lines(*, header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> Iterator[str]:
    """The BOM and header, then one line per row: for streaming long exports."""
    yield BOM + csv_line([str(name) for name in header])
    for row in rows:
        yield csv_line(row)


def csv_bytes(*, header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A whole CSV file, UTF-8 with BOM."""
    return "".join(csv_lines(header=header, rows=rows)).encode("utf-8")


def csv_response(*, filename: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A download of a CSV file."""
    response = HttpResponse(csv_bytes(header=header, rows=rows), content_type=CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


def csv_streaming_response(
    *, filename: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]
) -> StreamingHttpResponse:
    """A CSV download written while the rows are read (exports of many database rows)."""
    response = StreamingHttpResponse(
        (line.encode("utf-8") for line in csv_lines(header=header, rows=rows)), content_type=CONTENT_TYPE
    )
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_bytes(*, sheet: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> bytes:
    """A one-sheet xlsx workbook, every cell neutralised (openpyxl stores `=…` text as a formula)."""
    # openpyxl is imported here, not at module level: this module is imported by every process that
    # sets Django up (terminals' importer, through the command and firmware services), which would
    # pay its import for a spreadsheet it never writes.
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    worksheet = book.create_sheet(sheet)
    worksheet.append([str(name) for name in header])
    for row in rows:
        worksheet.append(["" if value is None else value for value in safe_row(row)])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def xlsx_response(*, filename: str, sheet: str, header: Sequence[Any], rows: Iterable[Iterable[Any]]) -> HttpResponse:
    """A download of an xlsx workbook."""
    response = HttpResponse(xlsx_bytes(sheet=sheet, header=header, rows=rows), content_type=XLSX_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
