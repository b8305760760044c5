"""A free-space floor on the disks the platform writes to, checked before anything is written.

The disk that holds `RUN_DIR` keeps the SQLite database, the signing keys and the broker's state
(docs/architecture.md): if uploads fill it, the platform cannot record the next alert's approval.
So a write of user content asks first: `disk_room_require(writes={folder: bytes, …})` refuses with
507 Insufficient Storage unless every disk concerned keeps `RURALCAST_DISK_FREE_PERCENT` of its
size free *after* the write (several folders on one disk add up). Nothing has been written when it
refuses, so the person can free space or ask an administrator and send the same file again.
"""

import os
import shutil
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ruralcast.core.errors import ApplicationError


class InsufficientStorage(ApplicationError):
    """The server's disk would fall below its free-space floor: 507, an administrator must act."""

    status_code = 507
    code = "insufficient_storage"


@dataclass(frozen=True)
class DiskRoom:
    """One disk as a write sees it: its size, what is free, and the floor kept free."""

    path: Path
    device: int
    total: int
    free: int
    floor: int

    @property
    def usable(self) -> int:
        """What may still be written before the floor is reached."""
        return max(0, self.free - self.floor)


def _existing(path: Path) -> Path:
    """The folder itself, or its nearest existing ancestor (an upload folder made on first use)."""
    path = Path(path).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def floor_percent() -> float:
    return float(getattr(settings, "RURALCAST_DISK_FREE_PERCENT", 10))


def disk_room(path: Path) -> DiskRoom:
    """The disk holding `path` (or the folder it will be made in)."""
    existing = _existing(path)
    usage = shutil.disk_usage(existing)
    floor = int(usage.total * floor_percent() / 100)
    return DiskRoom(path=Path(path), device=os.stat(existing).st_dev, total=usage.total, free=usage.free, floor=floor)


def state_disk() -> DiskRoom:
    """The disk of RUN_DIR: SQLite, keys, broker state."""
    return disk_room(Path(settings.RUN_DIR))


def disk_room_require(*, writes: Mapping[Path, int], field: str = "size") -> None:
    """InsufficientStorage unless every disk keeps its floor after `writes` (folder → bytes)."""
    needed: dict[int, int] = {}
    rooms: dict[int, DiskRoom] = {}
    for folder, size in writes.items():
        room = disk_room(folder)
        rooms.setdefault(room.device, room)
        needed[room.device] = needed.get(room.device, 0) + max(0, size)
    for device, size in needed.items():
        room = rooms[device]
        if size > room.usable:
            raise InsufficientStorage(
                _(
                    "The server's disk is nearly full: %(free)s free, %(floor)s of it kept free for the "
                    "platform's own records, and this needs %(size)s. Nothing was written; ask an "
                    "administrator to free space, then send the file again."
                )
                % {
                    "free": filesizeformat(room.free),
                    "floor": filesizeformat(room.floor),
                    "size": filesizeformat(size),
                },
                fields={field: [_("Not enough disk space.")]},
            )
