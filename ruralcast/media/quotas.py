"""Room for media uploads: a size per upload, a quota per person and per county, and the server's
free-space floor (core.disk), checked when an upload starts and again before every chunk.

Settings (`RURALCAST_MEDIA`, environment in brackets; 0 switches a quota off):
- `MAX_UPLOAD_BYTES` (`RURALCAST_MEDIA_MAX_UPLOAD_BYTES`, 4 GiB): one file;
- `USER_QUOTA_BYTES` (`RURALCAST_MEDIA_USER_QUOTA_BYTES`, 50 GiB): what one person has uploaded;
- `REGION_QUOTA_BYTES` (`RURALCAST_MEDIA_REGION_QUOTA_BYTES`, 200 GiB): what a county holds, its
  townships and villages included; a region above county level (a city, a province) has a quota
  of its own for what it owns itself;
- the floor: `RURALCAST_DISK_FREE_PERCENT` (10 %) of each disk the upload writes to (the upload
  folder, then the media storage) stays free, the disk of SQLite, keys and broker state first.

What counts against a quota: every asset's original and its renditions, and the announced size of
every upload still arriving (reserved when it starts, so two uploads at once cannot both take the
last gigabytes). A refusal is 507 Insufficient Storage with a sentence that says which limit, how
much is used and what is left, before a byte of the file is written.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.files.storage import FileSystemStorage, default_storage
from django.db.models import Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

from ruralcast.accounts.models import User
from ruralcast.core.disk import DiskRoom, InsufficientStorage, disk_room, disk_room_require, state_disk
from ruralcast.media.models import Asset, Rendition, Upload, UploadState
from ruralcast.regions.codes import Level, pad, subtree_q
from ruralcast.regions.models import Region

COUNTY_PREFIX = 6


def _setting(name: str) -> int:
    return int(settings.RURALCAST_MEDIA.get(name) or 0)


def quota_region_code(region: Region) -> str:
    """The region whose quota an asset of `region` uses: its county, or itself above county level."""
    return pad(region.code[:COUNTY_PREFIX]) if region.level >= Level.COUNTY else region.code


def _used(assets: Q, uploads: Q) -> int:
    """Bytes held: the originals and renditions of `assets`, and `uploads` still arriving."""
    owned = Asset.objects.filter(assets)
    originals = owned.aggregate(n=Sum("size"))["n"] or 0
    renditions = Rendition.objects.filter(asset__in=owned.values("pk")).aggregate(n=Sum("size"))["n"] or 0
    receiving = Upload.objects.filter(uploads, state=UploadState.RECEIVING).aggregate(n=Sum("size"))["n"] or 0
    return int(originals) + int(renditions) + int(receiving)


@dataclass(frozen=True)
class Quota:
    """One quota as the upload page shows it (limit 0: none)."""

    limit: int
    used: int

    @property
    def left(self) -> int | None:
        return None if not self.limit else max(0, self.limit - self.used)


def user_quota(user: User) -> Quota:
    return Quota(_setting("USER_QUOTA_BYTES"), _used(Q(created_by=user), Q(created_by=user)))


def quota_region(region: Region) -> Region:
    """The region named on the page and in refusals: the county whose quota `region` uses."""
    code = quota_region_code(region)
    return region if code == region.code else Region.objects.filter(code=code).first() or region


def region_quota(region: Region) -> Quota:
    code = quota_region_code(region)
    if region.level >= Level.COUNTY:
        assets = subtree_q(code[:COUNTY_PREFIX], field="owner_region_id")
    else:
        assets = Q(owner_region_id=code)
    return Quota(_setting("REGION_QUOTA_BYTES"), _used(assets, assets))


def upload_disks() -> dict[str, Path]:
    """The folders an upload writes to: the part file, then the stored original."""
    folders = {"uploads": Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"])}
    if isinstance(default_storage, FileSystemStorage):
        folders["storage"] = Path(default_storage.location)
    return folders


def disks_for_page() -> list[DiskRoom]:
    """The state disk and every other disk uploads write to, once each (for the upload page)."""
    rooms = [state_disk()]
    for folder in upload_disks().values():
        room = disk_room(folder)
        if room.device not in {r.device for r in rooms}:
            rooms.append(room)
    return rooms


@dataclass(frozen=True)
class UploadRoom:
    """What the upload page shows before anything is sent."""

    max_upload: int
    user: Quota
    region: Region | None
    region_quota: Quota | None
    disks: list[DiskRoom]


def upload_room(*, user: User, region: Region | None) -> UploadRoom:
    """The limits an upload by `user` into `region` (their home region, on the page) meets."""
    return UploadRoom(
        max_upload=_setting("MAX_UPLOAD_BYTES"),
        user=user_quota(user),
        region=quota_region(region) if region is not None else None,
        region_quota=region_quota(region) if region is not None else None,
        disks=disks_for_page(),
    )


def _refuse(message: str) -> InsufficientStorage:
    return InsufficientStorage(message, fields={"size": [_("Over the quota.")]}, code="quota_exceeded")


def upload_room_require(*, user: User, owner_region: Region, size: int, remaining: int, already: int = 0) -> None:
    """Raise InsufficientStorage (507) unless an upload of `size` bytes fits.

    `already`: bytes of this upload already counted as reserved (0 at the start, `size` for its
    chunks); `remaining`: bytes of it still to be written to the upload folder.
    """
    for label, quota in (
        (_("your upload quota"), user_quota(user)),
        (_("the quota of %(region)s") % {"region": quota_region(owner_region).name}, region_quota(owner_region)),
    ):
        if quota.limit and quota.used - already + size > quota.limit:
            raise _refuse(
                _(
                    "This file (%(size)s) does not fit %(quota)s: %(used)s of %(limit)s are used. "
                    "Delete what is no longer needed or ask an administrator for more room."
                )
                % {
                    "size": filesizeformat(size),
                    "quota": label,
                    "used": filesizeformat(max(0, quota.used - already)),
                    "limit": filesizeformat(quota.limit),
                }
            )
    upload_disks_require(upload_remaining=remaining, size=size)


def upload_disks_require(*, upload_remaining: int, size: int) -> None:
    """The disks keep their floor after the rest of an upload and the copy of its original."""
    folders = upload_disks()
    writes = {folders["uploads"]: upload_remaining}
    if "storage" in folders:
        writes[folders["storage"]] = size  # the original is copied into the storage at the end
    disk_room_require(writes=writes)
