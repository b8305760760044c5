"""Zip archives are measured before anything inflates them (core.archives)."""

import io
import os
import tracemalloc

import pytest
from openpyxl import Workbook, load_workbook

from ruralcast.core.archives import XLSX_LIMITS, ArchiveLimits, ArchiveRefused, archive_check
from ruralcast.core.tests.archive_bombs import MiB, xlsx_bomb, zip_of

pytestmark = pytest.mark.usefixtures("english")  # the messages matched below are the English ones


def _workbook(rows: int) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["region_code", "region_name", "a", "b"])
    for row in range(rows):
        sheet.append([f"522632{row:06d}", "大十字村", row, row * 2])
    output = io.BytesIO()
    book.save(output)
    return output.getvalue()


def test_a_46_kib_workbook_that_inflates_to_40_mib_is_refused_naming_the_limit() -> None:
    bomb = xlsx_bomb(header=("region_code", "name"))
    assert len(bomb) < 200 * 1024
    with pytest.raises(ArchiveRefused) as caught:
        archive_check(bomb, limits=XLSX_LIMITS)
    assert caught.value.status_code == 413 and caught.value.code == "archive_limits"
    assert "xl/sharedStrings.xml" in caught.value.message and "32" in caught.value.message


def test_the_check_reads_the_directory_only_where_openpyxl_would_hold_the_strings_in_memory() -> None:
    bomb = xlsx_bomb(header=("region_code", "name"))
    tracemalloc.start()
    try:
        with pytest.raises(ArchiveRefused):
            archive_check(bomb, limits=XLSX_LIMITS)
        _, checked_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        book = load_workbook(io.BytesIO(bomb), read_only=True)  # what the readers did before
        _, parsed_peak = tracemalloc.get_traced_memory()
        book.close()
    finally:
        tracemalloc.stop()
    assert checked_peak < 2 * MiB < 40 * MiB < parsed_peak


def test_too_many_members_too_much_in_total_and_a_high_ratio_are_each_refused() -> None:
    limits = ArchiveLimits(members=10, total_bytes=3 * MiB, ratio=50)
    with pytest.raises(ArchiveRefused, match="11"):
        archive_check(zip_of({f"part{n}.xml": b"<x/>" for n in range(11)}), limits=limits)
    noise = {f"noise{n}.bin": os.urandom(MiB) for n in range(4)}  # incompressible: ratio 1, 4 MiB in all
    with pytest.raises(ArchiveRefused, match="unpacks to"):
        archive_check(zip_of(noise), limits=limits)
    with pytest.raises(ArchiveRefused, match="50 times"):
        archive_check(zip_of({"blank.xml": b" " * (2 * MiB)}), limits=limits)


def test_an_ordinary_workbook_passes_and_a_file_that_is_not_a_zip_is_left_to_its_parser() -> None:
    archive_check(_workbook(3000), limits=XLSX_LIMITS)
    archive_check(b"region_code,name\n522632100000,x\n", limits=XLSX_LIMITS)
    handle = io.BytesIO(_workbook(10))
    archive_check(handle, limits=XLSX_LIMITS)
    assert handle.tell() == 0 and load_workbook(handle).active is not None
