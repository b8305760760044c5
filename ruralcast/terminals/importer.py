"""Bulk import and export of the terminal registry (CSV and xlsx), with a row-by-row report.

The file has a header row; columns are named in English or Chinese (see COLUMNS and HEADER_ALIASES),
in any order; unknown columns are ignored. Each row either names an existing terminal by `code`
(its registry fields are updated) or a new one (with `code`, the device's own resource code; or
without, the village's next free serial). Every row is checked (village in the importer's regions,
kind, transport, dates, coordinates, maintainer, languages) before anything is written, and by default
**nothing is written when any row is wrong**; with `valid_only` the good rows are written and the
others reported. New terminals get no broker credentials here: each gets its provisioning file
(and with it its password) from `terminal_credentials_issue`, when it is installed.

An export has the same columns, so export → edit → import round-trips.

`terminals_import` is a service although it writes in bulk: `rows_check` applies the actor's
`terminal.control` to every row's village, and the whole file is written in one transaction with
one audit record (the file's SHA-256, the refused lines, the codes created and updated) instead of
one per row: a county's registry of 3,000 devices is one act of one person.
"""

import csv
import hashlib
import io
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.archives import XLSX_LIMITS, archive_check
from ruralcast.core.errors import ValidationError
from ruralcast.core.exports import csv_bytes, safe_row
from ruralcast.core.languages import language_list_parse
from ruralcast.regions.codes import Level, is_valid_code
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal, TerminalKind, Transport
from ruralcast.terminals.services import (
    TerminalDetails,
    _detail_fields,
    details_problems,
    terminal_code,
    terminal_code_problem,
)
from ruralcast.terminals.status import states_create

MAX_BYTES = 20 * 1024 * 1024
MAX_ROWS = 50_000

COLUMNS = [
    "code",
    "village_code",
    "name",
    "kind",
    "model",
    "firmware",
    "transport",
    "installed_on",
    "latitude",
    "longitude",
    "owner_station",
    "maintainer",
    "languages",
]
HEADER_ALIASES = {
    "资源编码": "code",
    "终端编码": "code",
    "编码": "code",
    "行政村代码": "village_code",
    "村代码": "village_code",
    "行政村": "village_code",
    "名称": "name",
    "终端名称": "name",
    "类型": "kind",
    "终端类型": "kind",
    "型号": "model",
    "固件": "firmware",
    "固件版本": "firmware",
    "传输方式": "transport",
    "安装日期": "installed_on",
    "纬度": "latitude",
    "经度": "longitude",
    "产权单位": "owner_station",
    "所属台站": "owner_station",
    "维护人": "maintainer",
    "维护人员": "maintainer",
    "播放语言顺序": "languages",
    "播放语言": "languages",
    "语言": "languages",
}
REQUIRED = ("village_code",)
# The template's header names both: "行政村代码 (village_code)" reads back as village_code.
_BILINGUAL = re.compile(r"^.*?[(（]\s*([a-z_]+)\s*[)）]$")


def column_of(heading: Any) -> str:
    """The column a header cell names: an English name, a Chinese alias, or both as the template writes them."""
    text = str(heading or "").strip()
    if text in HEADER_ALIASES:
        return HEADER_ALIASES[text]
    both = _BILINGUAL.match(text)
    if both and both.group(1) in COLUMNS:
        return both.group(1)
    return text.lower()


def _choice_lookup(choices: type[TerminalKind] | type[Transport]) -> dict[str, str]:
    """Value, English label or Chinese label (as people type them in spreadsheets) → value."""
    lookup = {_key(value): value for value in choices.values}
    for language in ("en", "zh-hans"):
        with translation.override(language):
            lookup.update({_key(str(label)): value for value, label in choices.choices})
    return lookup


def _key(text: str) -> str:
    return "".join(text.split()).lower()


@dataclass
class RowResult:
    line: int  # 1 = the header
    code: str
    village_code: str
    action: str = ""  # "create" | "update" | "" (refused)
    errors: list[str] = field(default_factory=list)
    details: TerminalDetails | None = field(default=None, repr=False)
    terminal: Terminal | None = field(default=None, repr=False)

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass
class ImportReport:
    rows: list[RowResult]
    written: bool = False
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)

    @property
    def valid(self) -> list[RowResult]:
        return [r for r in self.rows if r.ok]

    @property
    def invalid(self) -> list[RowResult]:
        return [r for r in self.rows if not r.ok]


# ---------------------------------------------------------------------------- reading files


def _cell(value: Any) -> Any:
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return value


def rows_read(*, filename: str, data: bytes) -> list[tuple[int, dict[str, Any]]]:
    """(line, {column: value}) per non-empty row of a CSV or xlsx file; ValidationError if unreadable."""
    if len(data) > MAX_BYTES:
        raise ValidationError(_("The file is larger than 20 MB; split it."), fields={"file": [_("Too large.")]})
    name = filename.lower()
    if name.endswith(".xlsx") or data[:4] == b"PK\x03\x04":
        table = _xlsx_rows(data)
    elif name.endswith((".csv", ".txt")) or not name:
        table = _csv_rows(data)
    else:
        raise ValidationError(_("Use a .csv or .xlsx file."), fields={"file": [_("Unknown file type.")]})
    if not table:
        raise ValidationError(_("The file is empty."), fields={"file": [_("No rows.")]})
    header = [column_of(h) for h in table[0]]
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ValidationError(
            _("The header row lacks %(cols)s (columns: %(all)s).")
            % {"cols": ", ".join(missing), "all": ", ".join(COLUMNS)},
            fields={"file": [_("Missing columns.")]},
        )
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if not any(v not in (None, "") for v in values):
            continue
        row = {
            column: _cell(values[i]) if i < len(values) else "" for i, column in enumerate(header) if column in COLUMNS
        }
        rows.append((number, row))
    if len(rows) > MAX_ROWS:
        raise ValidationError(
            _("The file has %(n)d rows; import at most %(max)d at a time.") % {"n": len(rows), "max": MAX_ROWS},
            fields={"file": [_("Too many rows.")]},
        )
    return rows


def _csv_rows(data: bytes) -> list[list[Any]]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ValidationError(_("The file is not UTF-8 or GBK text."), fields={"file": [_("Unknown encoding.")]})
    try:
        return list(csv.reader(io.StringIO(text)))
    except csv.Error as error:
        raise ValidationError(_("Not a CSV file: %(e)s") % {"e": error}, fields={"file": [_("Not CSV.")]}) from None


def _xlsx_rows(data: bytes) -> list[list[Any]]:
    archive_check(data, limits=XLSX_LIMITS)  # before openpyxl inflates anything (a zip bomb is refused)
    # openpyxl is imported where a workbook is read or written, not at module level: firmware and
    # commands import this module, so every process that sets Django up would load it otherwise.
    from openpyxl import load_workbook

    try:
        book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception:  # noqa: BLE001 - openpyxl raises many kinds for a broken file
        raise ValidationError(_("Not an xlsx workbook."), fields={"file": [_("Not xlsx.")]}) from None
    sheet = book.worksheets[0]
    table = [list(row) for row in sheet.iter_rows(values_only=True)]
    book.close()
    while table and not any(v not in (None, "") for v in table[0]):
        table.pop(0)
    return table


# ---------------------------------------------------------------------------- checking rows


def _date(value: Any) -> date | None:
    if value in (None, ""):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip().replace("/", "-").replace(".", "-")
    try:
        return date.fromisoformat("-".join(part.zfill(2) for part in text.split("-")))
    except ValueError:
        raise ValueError(value) from None


def rows_check(*, actor: User | None, rows: list[tuple[int, dict[str, Any]]]) -> ImportReport:
    """Check every row against the registry and the actor's rights; writes nothing."""
    kinds, transports = _choice_lookup(TerminalKind), _choice_lookup(Transport)
    village_codes = {str(r.get("village_code") or "") for _, r in rows}
    villages = Region.objects.in_bulk([c for c in village_codes if is_valid_code(c)])
    codes = [str(r.get("code") or "") for _, r in rows if r.get("code")]
    existing = {t.code: t for t in Terminal.objects.filter(code__in=codes).select_related("village")}
    usernames = {str(r.get("maintainer") or "") for _, r in rows} - {""}
    maintainers = {u.username: u for u in User.objects.filter(username__in=usernames, is_active=True)}
    allowed: dict[str, bool] = {}
    seen: set[str] = set()
    results = []
    for line, row in rows:
        code, village_code = str(row.get("code") or ""), str(row.get("village_code") or "")
        result = RowResult(line=line, code=code, village_code=village_code)
        results.append(result)
        errors = result.errors
        village = villages.get(village_code)
        if not is_valid_code(village_code):
            errors.append(_("village_code: “%(v)s” is not a 12-digit code.") % {"v": village_code})
        elif village is None:
            errors.append(_("village_code: no region has code %(v)s.") % {"v": village_code})
        elif village.level != Level.VILLAGE:
            errors.append(_("village_code: %(name)s is not a village.") % {"name": village.name})
        elif actor is not None:
            if village_code not in allowed:
                allowed[village_code] = access_check(user=actor, action=Action.TERMINAL_CONTROL, region=village)
            if not allowed[village_code]:
                errors.append(_("village_code: %(name)s is outside your regions.") % {"name": village.name})
        if code:
            problem = terminal_code_problem(code=code, village=village if village and not errors else None)
            if problem:
                errors.append(f"code: {problem}")
            elif code in seen:
                errors.append(_("code: %(code)s appears twice in the file.") % {"code": code})
            seen.add(code)
            known = existing.get(code)
            if known is not None and known.revoked_at is not None:
                errors.append(_("code: terminal %(code)s is revoked.") % {"code": code})
            result.terminal = known
        kind_text = str(row.get("kind") or "").strip()
        kind = kinds.get(_key(kind_text), "?" if kind_text else "")
        transport_text = str(row.get("transport") or "").strip()
        transport = transports.get(_key(transport_text), "?" if transport_text else "")
        details = TerminalDetails(
            name=str(row.get("name") or ""),
            kind=kind or (result.terminal.kind if result.terminal else TerminalKind.IP_LOUDSPEAKER),
            model=str(row.get("model") or ""),
            firmware=str(row.get("firmware") or ""),
            transport=transport,
            latitude=row.get("latitude") or None,
            longitude=row.get("longitude") or None,
            owner_station=str(row.get("owner_station") or ""),
            # An optional column: a file without it keeps an existing terminal's preference.
            languages=(
                language_list_parse(str(row.get("languages") or ""))
                if "languages" in row or result.terminal is None
                else list(result.terminal.languages or [])
            ),
        )
        if kind == "?":
            errors.append(_("kind: “%(v)s” is not a terminal kind.") % {"v": kind_text})
            details.kind = TerminalKind.IP_LOUDSPEAKER
        if transport == "?":
            errors.append(_("transport: “%(v)s” is not a transport.") % {"v": transport_text})
            details.transport = ""
        try:
            details.installed_on = _date(row.get("installed_on"))
        except ValueError:
            errors.append(_("installed_on: “%(v)s” is not a date (YYYY-MM-DD).") % {"v": row.get("installed_on")})
        username = str(row.get("maintainer") or "")
        if username:
            details.maintainer = maintainers.get(username)
            if details.maintainer is None:
                errors.append(_("maintainer: no active user %(u)s.") % {"u": username})
        if village is not None and village.level == Level.VILLAGE:
            for name, messages in details_problems(details=details, village=village).items():
                errors.extend(f"{name}: {message}" for message in messages)
        result.details = details
        if not errors:
            result.action = "update" if result.terminal is not None else "create"
    return ImportReport(rows=results)


# ---------------------------------------------------------------------------- writing


def terminals_import(
    *,
    actor: User | None,
    filename: str,
    data: bytes,
    valid_only: bool = False,
    dry_run: bool = False,
) -> ImportReport:
    """Check a file and, unless `dry_run`, write it: every row, or with `valid_only` the good ones.

    Without `valid_only`, one wrong row means nothing is written (the report says why). Returns the
    report; `report.written` says whether anything was saved.
    """
    rows = rows_read(filename=filename, data=data)
    report = rows_check(actor=actor, rows=rows)
    if dry_run or (report.invalid and not valid_only) or not report.valid:
        return report

    villages = Region.objects.in_bulk({r.village_code for r in report.valid})
    # Serials in use per village (one query), then handed out in file order.
    used: dict[str, set[int]] = {}
    for code, village_code in Terminal.objects.filter(village_id__in=list(villages)).values_list("code", "village_id"):
        used.setdefault(village_code, set()).add(int(code[-2:]))
    for result in report.valid:
        if result.code:
            used.setdefault(result.village_code, set()).add(int(result.code[-2:]))
    with transaction.atomic():
        new: list[Terminal] = []
        for result in report.valid:
            assert result.details is not None
            village = villages[result.village_code]
            if result.action == "update":
                terminal = result.terminal
                assert terminal is not None
                if not result.details.name:
                    result.details.name = terminal.name
                fields = _detail_fields(result.details, village=village, serial=int(terminal.code[-2:]))
                for name, value in fields.items():
                    setattr(terminal, name, value)
                terminal.updated_at = timezone.now()
                report.updated.append(terminal.code)
                continue
            code = result.code
            if not code:
                taken = used.setdefault(village.code, set())
                serial = next((n for n in range(1, 100) if n not in taken), 0)
                if not serial:
                    result.errors.append(_("village_code: this village already has 99 terminals."))
                    result.action = ""
                    continue
                taken.add(serial)
                code = terminal_code(village=village, serial=serial)
                result.code = code
            new.append(
                Terminal(
                    code=code,
                    village=village,
                    **_detail_fields(result.details, village=village, serial=int(code[-2:])),
                )
            )
        if report.invalid and not valid_only:  # a village ran out of serials
            transaction.set_rollback(True)
            return report
        updates = [r.terminal for r in report.valid if r.action == "update" and r.terminal is not None]
        Terminal.objects.bulk_update(
            updates,
            fields=[*_detail_fields(TerminalDetails(), village=Region(), serial=1), "updated_at"],
            batch_size=1000,
        )
        Terminal.objects.bulk_create(new, batch_size=1000)
        states_create(terminals=new)
        report.created = [t.code for t in new]
        audit_record(
            actor=actor,
            verb="terminal.import",
            object_type="terminals.terminal",
            object_id=hashlib.sha256(data).hexdigest()[:16],
            object_label=filename[:200],
            region_code=_common_region(list(villages)),
            after={
                "file_sha256": hashlib.sha256(data).hexdigest(),
                "rows": len(report.rows),
                "refused_lines": [r.line for r in report.invalid],
                "created": report.created,
                "updated": report.updated,
            },
        )
    report.written = True
    return report


def _common_region(codes: list[str]) -> str:
    """The most specific region code covering every code (for the audit record's region)."""
    if not codes:
        return ""
    first, last = min(codes), max(codes)
    for length in (12, 9, 6, 4, 2):
        if first[:length] == last[:length]:
            return first[:length].ljust(12, "0")
    return "000000000000"


def export_rows(terminals: Any) -> list[list[Any]]:
    """The COLUMNS of each terminal (spreadsheet-safe), in the import format."""
    rows = []
    for t in terminals.select_related("maintainer").iterator(chunk_size=2000):
        rows.append(
            safe_row(
                [
                    t.code,
                    t.village_id,
                    t.name,
                    t.kind,
                    t.model,
                    t.firmware,
                    t.transport,
                    t.installed_on.isoformat() if t.installed_on else "",
                    str(t.latitude) if t.latitude is not None else "",
                    str(t.longitude) if t.longitude is not None else "",
                    t.owner_station,
                    t.maintainer.username if t.maintainer_id else "",
                    ", ".join(t.languages or []),
                ]
            )
        )
    return rows


def export_csv(terminals: Any) -> bytes:
    return csv_bytes(header=COLUMNS, rows=export_rows(terminals))


def export_xlsx(terminals: Any) -> bytes:
    from openpyxl import Workbook  # see _xlsx_rows: loaded only where a workbook is written

    book = Workbook(write_only=True)
    sheet = book.create_sheet("terminals")
    sheet.append(COLUMNS)
    for row in export_rows(terminals):
        sheet.append(row)
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
