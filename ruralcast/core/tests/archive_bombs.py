"""Zip bombs for tests, built in memory: small on disk, huge once inflated."""

import functools
import io
import zipfile

from openpyxl import Workbook

MiB = 1024 * 1024
_SST = "http://schemas.openxmlformats.org/officeDocument/2006/relationships/sharedStrings"
_SST_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"


@functools.cache
def xlsx_bomb(*, header: tuple[str, ...], inflated: int = 40 * MiB) -> bytes:
    """A real workbook (openpyxl opens it and reads `header` in row 1) with a shared-strings part of
    one unused string of `inflated` bytes, which openpyxl loads whole: ~40 KiB on disk for 40 MiB."""
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "data"
    sheet.append(list(header))
    plain = io.BytesIO()
    book.save(plain)
    source = zipfile.ZipFile(io.BytesIO(plain.getvalue()))
    parts = {member.filename: source.read(member) for member in source.infolist()}
    parts["[Content_Types].xml"] = parts["[Content_Types].xml"].replace(
        b"</Types>", f'<Override PartName="/xl/sharedStrings.xml" ContentType="{_SST_TYPE}"/></Types>'.encode()
    )
    parts["xl/_rels/workbook.xml.rels"] = parts["xl/_rels/workbook.xml.rels"].replace(
        b"</Relationships>",
        f'<Relationship Type="{_SST}" Target="sharedStrings.xml" Id="rId9"/></Relationships>'.encode(),
    )
    parts["xl/sharedStrings.xml"] = (
        b'<sst xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" count="1" uniqueCount="1">'
        b"<si><t>" + b"A" * inflated + b"</t></si></sst>"
    )
    return zip_of(parts)


def zip_of(members: dict[str, bytes], *, level: int = 6) -> bytes:
    output = io.BytesIO()
    with zipfile.ZipFile(output, "w", zipfile.ZIP_DEFLATED, compresslevel=level) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return output.getvalue()
