"""Import of the national division tree from the vendored CSV files (data/divisions).

The files come from the National Bureau of Statistics' 2023 statistical division codes (see
data/divisions/README.md). Rows are read level by level so every parent exists before its
children, turned into `Region` rows with their pinyin, and upserted in batches: running the import
twice changes nothing, and a later edition of the data updates names in place.
"""

import csv
import lzma
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TextIO

from ruralcast.regions.codes import NATIONAL_CODE, Level, pad
from ruralcast.regions.pinyin import pinyin_forms

NATIONAL_NAME = "中华人民共和国"


@dataclass(frozen=True)
class RegionRow:
    code: str
    name: str
    level: int
    parent_code: str | None


@dataclass
class ImportCounts:
    by_level: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.by_level.values())


# (file name, level, column holding the parent's short code)
_LEVEL_FILES: list[tuple[str, Level, str]] = [
    ("provinces.csv", Level.PROVINCE, ""),
    ("cities.csv", Level.CITY, "provinceCode"),
    ("areas.csv", Level.COUNTY, "cityCode"),
    ("streets.csv", Level.TOWNSHIP, "areaCode"),
    ("villages.csv.xz", Level.VILLAGE, "streetCode"),
]


def _open_text(path: Path) -> TextIO:
    if path.suffix == ".xz":
        return lzma.open(path, "rt", encoding="utf-8", newline="")
    return path.open(encoding="utf-8", newline="")


def read_division_rows(data_dir: Path, *, province: str | None) -> Iterator[RegionRow]:
    """Yield the national root, then every region of each level (only `province`'s if given).

    A few units appear at two levels under one padded code: prefecture cities without counties
    (东莞 4419 and its county-level row 441900, likewise 中山 and 儋州) and 金门县 (350527, with a
    placeholder township 350527000 and village 350527000000). Such a code is kept once, at its
    highest level; the rows below it then hang directly from it (a township under a city).
    """
    seen: set[str] = {NATIONAL_CODE}
    yield RegionRow(code=NATIONAL_CODE, name=NATIONAL_NAME, level=Level.NATIONAL, parent_code=None)
    for file_name, level, parent_column in _LEVEL_FILES:
        with _open_text(data_dir / file_name) as handle:
            for record in csv.DictReader(handle):
                short_code = record["code"]
                if province and not short_code.startswith(province):
                    continue
                code = pad(short_code)
                if code in seen:
                    continue
                seen.add(code)
                parent = pad(record[parent_column]) if parent_column else NATIONAL_CODE
                yield RegionRow(code=code, name=record["name"].strip(), level=level, parent_code=parent)


def count_division_rows(data_dir: Path, *, province: str | None) -> int:
    """How many rows an import will write (for a progress bar); reads the files once."""
    return sum(1 for _ in read_division_rows(data_dir, province=province))


def known_provinces(data_dir: Path) -> dict[str, str]:
    with _open_text(data_dir / "provinces.csv") as handle:
        return {record["code"]: record["name"] for record in csv.DictReader(handle)}


def rows_with_pinyin(rows: Iterator[RegionRow]) -> Iterator[tuple[RegionRow, str, str]]:
    for row in rows:
        full, initials = pinyin_forms(row.name)
        yield row, full, initials


ProgressCallback = Callable[[int], None]
