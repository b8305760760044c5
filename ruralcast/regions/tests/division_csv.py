"""Counting rows of the vendored division CSVs by hand, for tests to compare the database against.

Deliberately independent of `ruralcast.regions.importer`: it reads the raw lines and looks only at
the text before the first comma (the short code) and the quoted name after it, so a bug in the
importer cannot hide in the expected numbers.
"""

import lzma
from functools import cache
from pathlib import Path

from django.conf import settings

# file name → number of digits of its short codes
FILES = {
    "provinces.csv": 2,
    "cities.csv": 4,
    "areas.csv": 6,
    "streets.csv": 9,
    "villages.csv.xz": 12,
}


@cache
def _lines(file_name: str) -> tuple[str, ...]:
    """The data lines of one file (header dropped)."""
    path = Path(settings.REGION_DATA_DIR) / file_name
    opener = lzma.open if file_name.endswith(".xz") else open
    with opener(path, "rt", encoding="utf-8") as handle:  # type: ignore[operator]
        next(handle)
        return tuple(line for line in handle if line.strip())


@cache
def _short_codes(file_name: str) -> tuple[str, ...]:
    return tuple(line.split(",", 1)[0] for line in _lines(file_name))


def rows_by_file(prefix: str) -> dict[str, int]:
    """How many rows of each file have a code starting with `prefix` (a short code, e.g. "522632")."""
    return {name: sum(1 for code in _short_codes(name) if code.startswith(prefix)) for name in FILES}


def rows_under(short_code: str) -> int:
    """Rows for the region with this short code and everything below it (the region itself included)."""
    return sum(
        sum(1 for code in _short_codes(name) if code.startswith(short_code))
        for name, digits in FILES.items()
        if digits >= len(short_code)
    )


def codes_named(name: str, *, prefix: str = "") -> list[str]:
    """Short codes of every row called exactly `name` whose code starts with `prefix`."""
    return [
        fields[0]
        for file_name in FILES
        for line in _lines(file_name)
        if line.startswith(prefix) and name in line
        for fields in [line.rstrip("\n").split(",")]
        if fields[1].strip('"') == name
    ]


def name_of(short_code: str) -> str:
    """The name the CSV gives the region with this short code (quotes removed)."""
    file_name = next(name for name, digits in FILES.items() if digits == len(short_code))
    for line in _lines(file_name):
        code, rest = line.split(",", 1)
        if code == short_code:
            return rest.split(",", 1)[0].strip().strip('"')
    raise LookupError(short_code)
