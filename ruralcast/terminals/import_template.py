"""The blank import file a county operator downloads, and the list of columns the import page shows.

Both come from the importer's own `COLUMNS` and `HEADER_ALIASES`, so the page, the template and
what the importer accepts cannot drift apart. The template's header names every column twice,
"行政村代码 (village_code)": a Chinese operator and a script both read it, and the importer reads
it back (`importer.column_of`). The xlsx template has a second sheet that explains each column;
the importer reads the first sheet only.
"""

import io
from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from openpyxl import Workbook

from ruralcast.core.exports import csv_bytes, safe_row
from ruralcast.terminals.importer import COLUMNS, HEADER_ALIASES, REQUIRED
from ruralcast.terminals.models import TerminalKind, Transport

_MEANING: dict[str, Promise] = {
    "code": gettext_lazy("The device's 23-digit resource code; empty: the village's next free serial."),
    "village_code": gettext_lazy("The 12-digit code of the administrative village."),
    "name": gettext_lazy("What people call it (e.g. the place it hangs)."),
    "kind": gettext_lazy("The kind of terminal: its code or its name."),
    "model": gettext_lazy("The device model, as on its plate."),
    "firmware": gettext_lazy("The firmware version it was installed with."),
    "transport": gettext_lazy("How it is reached: its code or its name."),
    "installed_on": gettext_lazy("Date of installation, YYYY-MM-DD."),
    "latitude": gettext_lazy("Decimal degrees, e.g. 26.58."),
    "longitude": gettext_lazy("Decimal degrees, e.g. 108.47."),
    "owner_station": gettext_lazy("The station that owns the device."),
    "maintainer": gettext_lazy("Username of the maintainer responsible for it."),
    "languages": gettext_lazy(
        "Languages it plays, most preferred first: codes such as “iii, zho”; empty: the deployment's default."
    ),
}


@dataclass(frozen=True)
class ColumnHelp:
    name: str  # the English column name the importer uses
    chinese: list[str]  # every Chinese heading accepted for it, the template's first
    required: bool
    meaning: str
    values: str  # the accepted codes for a choice column, else ""

    @property
    def heading(self) -> str:
        """How the template names the column: both languages."""
        return f"{self.chinese[0]} ({self.name})" if self.chinese else self.name


def _values(column: str) -> str:
    choices = {"kind": TerminalKind, "transport": Transport}.get(column)
    if choices is None:
        return ""
    return ", ".join(f"{value} ({label})" for value, label in choices.choices)


def import_columns() -> list[ColumnHelp]:
    """The accepted columns, in the importer's order, with their Chinese headings and meaning."""
    return [
        ColumnHelp(
            name=column,
            chinese=[alias for alias, target in HEADER_ALIASES.items() if target == column],
            required=column in REQUIRED,
            meaning=str(_MEANING.get(column, "")),
            values=_values(column),
        )
        for column in COLUMNS
    ]


def template_csv() -> bytes:
    """A CSV with only the header row (UTF-8 with BOM, so spreadsheets show the Chinese)."""
    return csv_bytes(header=[c.heading for c in import_columns()], rows=[])


def template_xlsx() -> bytes:
    """An xlsx: the header row on the first sheet, what each column means on the second."""
    columns = import_columns()
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "terminals"
    sheet.append([c.heading for c in columns])
    guide = book.create_sheet(_("columns"))
    guide.append([_("Column"), _("Chinese headings"), _("Required"), _("Meaning"), _("Accepted values")])
    for c in columns:
        guide.append(safe_row([c.name, "、".join(c.chinese), _("yes") if c.required else "", c.meaning, c.values]))
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()
