"""The one CSV helper: formula-like cells neutralised everywhere (CSV injection, audit item 16)."""

import csv
import io
import re
from pathlib import Path

from ruralcast.core.exports import csv_bytes, spreadsheet_safe

SOURCE = Path(__file__).resolve().parents[2]


def test_cells_that_begin_like_a_formula_get_a_leading_apostrophe() -> None:
    for hostile in ["=1+1", "+cmd", "-2+3", "@SUM(A1)", "\t=1", "\r=1", "＝1＋1"]:
        assert spreadsheet_safe(hostile) == "'" + hostile
    for harmless in ["榕江新闻", "a=b", "-5", "+8613800000000", "-26.5", "", 5, -3, None]:
        assert spreadsheet_safe(harmless) == harmless
    assert spreadsheet_safe(spreadsheet_safe("=1")) == "'=1"


def test_csv_bytes_starts_with_a_bom_and_neutralises_every_row_and_the_header() -> None:
    data = csv_bytes(header=["=title", "n"], rows=[["=HYPERLINK(1)", None], ["普通", 3]])
    assert data.startswith("\ufeff".encode())
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["'=title", "n"],
        ["'=HYPERLINK(1)", ""],
        ["普通", "3"],
    ]


def test_no_csv_is_written_outside_the_export_helper() -> None:
    """Every CSV of the platform goes through core.exports, so none can forget the neutralising."""
    offenders = []
    for path in SOURCE.rglob("*.py"):
        if "tests" in path.parts or path.name == "exports.py":
            continue
        if re.search(r"csv\.(writer|DictWriter)\(", path.read_text(encoding="utf-8")):
            offenders.append(str(path.relative_to(SOURCE)))
    assert offenders == []
