"""Zip archives from outside (xlsx workbooks, any zip an upload carries) are measured before they
are read, so a small file cannot unpack into gigabytes inside the server.

An xlsx is a zip of XML parts; openpyxl loads some of them whole (the shared strings: a 66 KiB
workbook whose strings unpack to 41 MiB grows the process by as much). `archive_check` reads only
the central directory (the list of members with their sizes, a few bytes each) and refuses, before
any parser sees the file:
- more members than `members`;
- more uncompressed bytes in total than `total_bytes`, or in one named member than its cap;
- a compression ratio above `ratio`, per member of at least `RATIO_FLOOR_BYTES` (a tiny member may
  compress a thousandfold harmlessly) and over the whole archive.

The declared sizes are enough: Python's zipfile (which openpyxl uses) never inflates a member past
its declared size; a member that claims less than it holds fails its CRC check instead of growing.
A file that is not a zip at all passes untouched, so the caller's parser refuses it in its own
words ("this is not an xlsx file").
"""

import io
import zipfile
from dataclasses import dataclass, field
from typing import IO

from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ruralcast.core.errors import ApplicationError

MiB = 1024 * 1024
# Below this uncompressed size a member's ratio is not judged (a 200 KB run of blanks is harmless).
RATIO_FLOOR_BYTES = 1 * MiB


class ArchiveRefused(ApplicationError):
    """An archive out of the bounds the platform reads (413: the content, unpacked, is too large)."""

    status_code = 413
    code = "archive_limits"


@dataclass(frozen=True)
class ArchiveLimits:
    """What one kind of archive may hold. `member_bytes` caps named members (e.g. shared strings)."""

    members: int
    total_bytes: int
    ratio: int
    member_bytes: dict[str, int] = field(default_factory=dict)


# An xlsx of 30,000 rows × 22 columns unpacks to ~25 MB at a ratio of ~8; the caps leave room for
# ten times that and stop what no spreadsheet needs. openpyxl holds the shared strings in memory.
XLSX_LIMITS = ArchiveLimits(
    members=500, total_bytes=256 * MiB, ratio=100, member_bytes={"xl/sharedStrings.xml": 32 * MiB}
)


def _size(n: int) -> str:
    return str(filesizeformat(n))


def archive_check(content: bytes | IO[bytes], *, limits: ArchiveLimits, field: str = "file") -> None:
    """Raise ArchiveRefused (naming the limit) if the zip in `content` is out of `limits`.

    Reads the central directory only; never inflates a member. Not a zip: returns (the caller's
    parser refuses it). A file object is left at its start.
    """
    handle: IO[bytes] = io.BytesIO(content) if isinstance(content, bytes | bytearray) else content
    start = handle.tell()
    handle.seek(0, io.SEEK_END)
    packed = handle.tell() - start
    handle.seek(start)
    try:
        with zipfile.ZipFile(handle) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError):
        return
    finally:
        handle.seek(start)

    def refuse(message: str) -> ArchiveRefused:
        return ArchiveRefused(message, fields={field: [_("Archive out of bounds.")]})

    if len(members) > limits.members:
        raise refuse(
            _("The file holds %(count)s parts; at most %(limit)s are read. Split it into smaller files.")
            % {"count": f"{len(members):,}", "limit": f"{limits.members:,}"}
        )
    total = 0
    for member in members:
        total += member.file_size
        cap = limits.member_bytes.get(member.filename)
        if cap is not None and member.file_size > cap:
            raise refuse(
                _(
                    "Its part “%(name)s” unpacks to %(size)s; at most %(limit)s is read. Split the data into smaller files."
                )
                % {"name": member.filename[:80], "size": _size(member.file_size), "limit": _size(cap)}
            )
        if member.file_size >= RATIO_FLOOR_BYTES and member.file_size > limits.ratio * max(member.compress_size, 1):
            raise refuse(
                _(
                    "Its part “%(name)s” packs %(size)s into %(packed)s, more than %(ratio)s times: "
                    "such a file is refused unread (a “zip bomb”)."
                )
                % {
                    "name": member.filename[:80],
                    "size": _size(member.file_size),
                    "packed": _size(member.compress_size),
                    "ratio": limits.ratio,
                }
            )
    if total > limits.total_bytes:
        raise refuse(
            _("The file unpacks to %(size)s; at most %(limit)s is read. Split the data into smaller files.")
            % {"size": _size(total), "limit": _size(limits.total_bytes)}
        )
    if total >= RATIO_FLOOR_BYTES and total > limits.ratio * max(packed, 1):
        raise refuse(
            _("The file packs %(size)s into %(packed)s, more than %(ratio)s times: such a file is refused unread.")
            % {"size": _size(total), "packed": _size(packed), "ratio": limits.ratio}
        )
