"""Writes to media: uploads (chunked, resumable), assets, jobs and their retry, live events and
their ingest, collections.

Every service that a person calls checks `content.edit` over the region it touches and writes its
audit record in the same transaction. Background work is enqueued only after the transaction
commits (`transaction.on_commit`), so a worker never picks up a job whose rows it cannot see yet.
"""

import hashlib
import os
import re
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.core.files import File
from django.core.files.storage import FileSystemStorage, default_storage
from django.db import transaction
from django.template.defaultfilters import filesizeformat
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, access_require_all
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from ruralcast.media import quotas
from ruralcast.media.models import (
    Access,
    Asset,
    Collection,
    CollectionItem,
    CollectionKind,
    Job,
    JobKind,
    JobState,
    LiveEvent,
    LiveStatus,
    LiveViewer,
    Origin,
    Upload,
    UploadState,
)
from ruralcast.media.probe import probe_file
from ruralcast.regions.models import Region

LANGUAGES = frozenset({"zh", "en", "bo", "ug", "mn", "ii", "za", "other"})
_INGEST_NAME = re.compile(r"^[A-Za-z0-9_-]{1,64}\.(m3u8|ts)$")


# ---------------------------------------------------------------------------- storage helpers


def storage_put(*, name: str, content: IO[bytes]) -> str:
    """Write `content` at exactly `name`, replacing what was there (atomically on local disk)."""
    if isinstance(default_storage, FileSystemStorage):
        target = Path(default_storage.path(name))
        target.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=target.parent, delete=False, prefix=".part-") as handle:
            shutil.copyfileobj(content, handle, 1024 * 1024)
        os.chmod(handle.name, 0o644)
        os.replace(handle.name, target)
        return name
    if default_storage.exists(name):
        default_storage.delete(name)
    return default_storage.save(name, File(content))


def storage_put_tree(*, folder: Path, prefix: str) -> list[str]:
    """Move every file under `folder` to storage under `prefix` (a rename on the same local disk,
    a copy otherwise); returns the relative paths."""
    written = []
    local = isinstance(default_storage, FileSystemStorage)
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            relative = path.relative_to(folder).as_posix()
            written.append(relative)
            if local:
                target = Path(default_storage.path(f"{prefix}/{relative}"))
                target.parent.mkdir(parents=True, exist_ok=True)
                try:
                    os.replace(path, target)
                    continue
                except OSError:  # another file system: copy below
                    pass
            with path.open("rb") as handle:
                storage_put(name=f"{prefix}/{relative}", content=handle)
    return written


def storage_delete_tree(*, prefix: str) -> None:
    try:
        folders, files = default_storage.listdir(prefix)
    except (FileNotFoundError, NotADirectoryError):
        return
    for name in files:
        default_storage.delete(f"{prefix}/{name}")
    for folder in folders:
        storage_delete_tree(prefix=f"{prefix}/{folder}")


# ---------------------------------------------------------------------------- metadata


@dataclass
class AssetFields:
    title: str
    description: str = ""
    tags: list[str] | None = None
    language: str = "zh"
    licence: str = ""
    access: str = Access.LOGGED_IN


def _tags_text(tags: list[str] | None) -> str:
    cleaned = []
    for tag in tags or []:
        tag = tag.replace(",", " ").strip()[:40]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    return "," + ",".join(cleaned[:20]) + "," if cleaned else ""


def _validate_fields(fields: AssetFields) -> None:
    problems: dict[str, list[str]] = {}
    if not fields.title.strip() or len(fields.title) > 200:
        problems["title"] = [_("Give a title of at most 200 characters.")]
    if len(fields.description) > 5000:
        problems["description"] = [_("At most 5,000 characters.")]
    if fields.language not in LANGUAGES:
        problems["language"] = [_("Unknown language.")]
    if fields.access not in Access.values:
        problems["access"] = [_("Choose public, logged-in users or the owner region.")]
    if len(fields.licence) > 200:
        problems["licence"] = [_("At most 200 characters.")]
    if problems:
        raise ValidationError(_("Some fields need attention."), fields=problems)


def fields_from_metadata(*, metadata: dict[str, Any]) -> AssetFields:
    tags = metadata.get("tags") or []
    if isinstance(tags, str):
        tags = tags.split(",")
    return AssetFields(
        title=str(metadata.get("title", "")),
        description=str(metadata.get("description", "")),
        tags=[str(tag) for tag in tags],
        language=str(metadata.get("language", "zh")),
        licence=str(metadata.get("licence", "")),
        access=str(metadata.get("access", Access.LOGGED_IN)),
    )


# ---------------------------------------------------------------------------- uploads


def _upload_path(upload: Upload) -> Path:
    folder = Path(settings.RURALCAST_MEDIA["UPLOAD_DIR"])
    folder.mkdir(parents=True, exist_ok=True)
    return folder / f"{upload.uid}.part"


UPLOAD_KEEP = timedelta(hours=48)


def uploads_expire(*, now: datetime | None = None) -> int:
    """Forget uploads left unfinished for UPLOAD_KEEP (48 h) and delete their partial files; called
    whenever an upload starts, so a deployment needs no extra process. Returns how many."""
    cutoff = (now or timezone.now()) - UPLOAD_KEEP
    stale = list(Upload.objects.filter(state=UploadState.RECEIVING, created_at__lt=cutoff)[:100])
    for upload in stale:
        _upload_path(upload).unlink(missing_ok=True)
    Upload.objects.filter(pk__in=[upload.pk for upload in stale]).delete()
    return len(stale)


def upload_start(*, actor: User, owner_region: Region, filename: str, size: int, fields: AssetFields) -> Upload:
    """Open a resumable upload of `size` bytes; the chunks then go to `upload_append`.

    The size is reserved against the person's and the county's quota (media.quotas) in the same
    transaction, serialised per county, and the disks must keep their floor: 507 otherwise."""
    access_require(user=actor, action=Action.CONTENT_EDIT, region=owner_region)
    _validate_fields(fields)
    uploads_expire()
    limit = int(settings.RURALCAST_MEDIA["MAX_UPLOAD_BYTES"])
    if size <= 0 or size > limit:
        raise ValidationError(
            _("The file must be between 1 byte and %(limit)s.") % {"limit": filesizeformat(limit)},
            fields={"size": [_("Wrong size.")]},
        )
    with transaction.atomic():
        # One quota check at a time per county (a row lock on PostgreSQL; SQLite writes one at a time).
        list(Region.objects.select_for_update().filter(code=quotas.quota_region_code(owner_region)))
        quotas.upload_room_require(user=actor, owner_region=owner_region, size=size, remaining=size)
        upload = Upload.objects.create(
            created_by=actor,
            owner_region=owner_region,
            filename=filename[:255],
            size=size,
            metadata={**fields.__dict__},
        )
        _upload_path(upload).write_bytes(b"")
    return upload


def upload_append(*, actor: User, upload: Upload, start: int, total: int, stream: IO[bytes], length: int) -> Upload:
    """Write bytes [start, start+length) of the file. `start` must be where the upload stands, so a
    client that lost a chunk asks for the offset (409 names it) and resumes from there. The last
    chunk finishes the upload: the file is probed and becomes an asset, or is refused and deleted."""
    if upload.created_by_id != actor.pk:
        raise NotFound(_("No such upload."))
    if upload.state != UploadState.RECEIVING:
        raise Conflict(_("This upload is already complete."), fields={"offset": [str(upload.offset)]})
    if total != upload.size:
        raise ValidationError(_("The total size differs from the one announced."), fields={"size": [str(upload.size)]})
    if start != upload.offset:
        raise Conflict(
            _("Resume from byte %(offset)s.") % {"offset": upload.offset},
            fields={"offset": [str(upload.offset)]},
            code="wrong_offset",
        )
    if length <= 0 or start + length > upload.size or length > int(settings.RURALCAST_MEDIA["MAX_CHUNK_BYTES"]):
        raise ValidationError(_("The chunk does not fit the file."), fields={"range": [_("Wrong byte range.")]})
    # The quotas were reserved at the start; the disks may have filled since: check before writing.
    quotas.upload_disks_require(upload_remaining=upload.size - start, size=upload.size)
    path = _upload_path(upload)
    received = 0
    with path.open("r+b") as handle:
        handle.seek(start)
        handle.truncate()
        while received < length:
            block = stream.read(min(1024 * 1024, length - received))
            if not block:
                break
            handle.write(block)
            received += len(block)
    if received != length:
        raise ValidationError(_("The chunk was cut short; send it again."), fields={"range": [_("Incomplete.")]})
    Upload.objects.filter(pk=upload.pk).update(offset=start + length)
    upload.offset = start + length
    if upload.offset == upload.size:
        upload_finish(actor=actor, upload=upload)
    return upload


def upload_finish(*, actor: User, upload: Upload) -> Asset:
    path = _upload_path(upload)
    try:
        asset = asset_create_from_file(
            actor=actor,
            owner_region=upload.owner_region,
            path=path,
            filename=upload.filename,
            fields=fields_from_metadata(metadata=upload.metadata),
        )
    except ValidationError:
        path.unlink(missing_ok=True)
        upload.delete()  # nothing is kept of a refused file
        raise
    path.unlink(missing_ok=True)
    Upload.objects.filter(pk=upload.pk).update(state=UploadState.DONE, asset=asset)
    upload.state, upload.asset = UploadState.DONE, asset
    return asset


# ---------------------------------------------------------------------------- assets


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def asset_create_from_file(
    *,
    actor: User | None,
    owner_region: Region,
    path: Path,
    filename: str,
    fields: AssetFields,
    origin: str = Origin.UPLOAD,
) -> Asset:
    """Probe the file (content, not name), store it as the original and queue its processing.

    `actor` None is the platform itself (the replay of a live)."""
    if actor is not None:
        access_require(user=actor, action=Action.CONTENT_EDIT, region=owner_region)
    _validate_fields(fields)
    probe = probe_file(path)
    digest = _sha256(path)
    with transaction.atomic():
        asset = Asset(
            kind=probe.kind,
            owner_region=owner_region,
            title=fields.title.strip(),
            description=fields.description,
            tags=_tags_text(fields.tags),
            language=fields.language,
            licence=fields.licence,
            access=fields.access,
            origin=origin,
            original_filename=filename[:255],
            sha256=digest,
            size=path.stat().st_size,
            duration=probe.duration,
            width=probe.width,
            height=probe.height,
            format_name=probe.format_name[:100],
            video_codec=probe.video_codec,
            audio_codec=probe.audio_codec,
            probe=probe.raw,
            created_by=actor,
        )
        asset.original_name = f"{asset.folder}/original"
        with path.open("rb") as handle:
            storage_put(name=asset.original_name, content=handle)
        asset.save()
        audit_record(
            actor=actor,
            verb="media.asset_create",
            obj=asset,
            region_code=owner_region.code,
            after={"kind": asset.kind, "title": asset.title, "sha256": digest, "size": asset.size},
        )
        job_create(asset=asset, kind=JobKind.TRANSCODE)
    return asset


def asset_update(*, actor: User, asset: Asset, fields: AssetFields) -> Asset:
    access_require(user=actor, action=Action.CONTENT_EDIT, region=asset.owner_region)
    _validate_fields(fields)
    before = {"title": asset.title, "access": asset.access, "tags": asset.tags}
    with transaction.atomic():
        asset.title, asset.description = fields.title.strip(), fields.description
        asset.tags, asset.language, asset.licence, asset.access = (
            _tags_text(fields.tags),
            fields.language,
            fields.licence,
            fields.access,
        )
        asset.save()
        audit_record(
            actor=actor,
            verb="media.asset_update",
            obj=asset,
            region_code=asset.owner_region_id,
            before=before,
            after={"title": asset.title, "access": asset.access, "tags": asset.tags},
        )
    return asset


# ---------------------------------------------------------------------------- jobs


def job_create(*, kind: str, asset: Asset | None = None, live_event: LiveEvent | None = None) -> Job:
    """A queued job, enqueued on the task worker when the surrounding transaction commits."""
    job = Job.objects.create(asset=asset, live_event=live_event, kind=kind)
    transaction.on_commit(lambda: _enqueue(job.pk))
    return job


# How a job reaches the task worker: `MediaConfig.ready` sets it to enqueue `tasks.media_job_run`.
# The task runs the pipeline and the pipeline calls these services (a replay job creates the replay's
# asset, whose transcode job is queued here), so this module cannot import the task without a cycle.
JobEnqueue = Callable[[int], str]
_job_enqueue: list[JobEnqueue] = []


def job_enqueue_set(enqueue: JobEnqueue) -> None:
    """Say how a job is handed to the task worker: `enqueue(job_id)` returns the task's id."""
    _job_enqueue[:] = [enqueue]


def _enqueue(job_id: int) -> None:
    if not _job_enqueue:
        raise RuntimeError("media jobs cannot be queued: MediaConfig.ready sets job_enqueue_set")
    task_id = _job_enqueue[0](job_id)
    Job.objects.filter(pk=job_id, task_id="").update(task_id=task_id[:64])


def job_retry(*, actor: User, job: Job) -> Job:
    region = job.asset.owner_region if job.asset else job.live_event.owner_region  # type: ignore[union-attr]
    access_require(user=actor, action=Action.CONTENT_EDIT, region=region)
    if job.state != JobState.FAILED:
        raise Conflict(_("Only a failed job can be retried."))
    with transaction.atomic():
        Job.objects.filter(pk=job.pk).update(
            state=JobState.QUEUED, progress=0, error="", error_code="", step="", task_id=""
        )
        if job.asset:
            Asset.objects.filter(pk=job.asset.pk).update(state="processing")
        audit_record(actor=actor, verb="media.job_retry", obj=job, region_code=region.code)
        transaction.on_commit(lambda: _enqueue(job.pk))
    job.refresh_from_db()
    return job


def job_progress(*, job: Job, percent: float, step: str = "") -> None:
    """Called by the worker while ffmpeg runs (one UPDATE of the job row)."""
    job.progress = round(percent, 1)
    updates: dict[str, Any] = {"progress": job.progress}
    if step:
        job.step = updates["step"] = step
    Job.objects.filter(pk=job.pk).update(**updates)


# ---------------------------------------------------------------------------- live events


@dataclass
class LiveFields:
    title: str
    starts_at: datetime
    ends_at: datetime
    description: str = ""
    audience: list[Region] | None = None
    access: str = Access.LOGGED_IN


def _validate_live(fields: LiveFields) -> None:
    problems: dict[str, list[str]] = {}
    if not fields.title.strip() or len(fields.title) > 200:
        problems["title"] = [_("Give a title of at most 200 characters.")]
    if fields.ends_at <= fields.starts_at:
        problems["ends_at"] = [_("The end must be after the start.")]
    elif fields.ends_at - fields.starts_at > timedelta(hours=24):
        problems["ends_at"] = [_("A live lasts at most 24 hours.")]
    if fields.access not in Access.values:
        problems["access"] = [_("Choose public, logged-in users or the owner region.")]
    if problems:
        raise ValidationError(_("Some fields need attention."), fields=problems)


def live_create(*, actor: User, owner_region: Region, fields: LiveFields) -> LiveEvent:
    access_require(user=actor, action=Action.CONTENT_EDIT, region=owner_region)
    _validate_live(fields)
    audience = fields.audience or [owner_region]
    access_require_all(user=actor, action=Action.CONTENT_EDIT, regions=audience)
    with transaction.atomic():
        event = LiveEvent.objects.create(
            title=fields.title.strip(),
            description=fields.description,
            owner_region=owner_region,
            access=fields.access,
            starts_at=fields.starts_at,
            ends_at=fields.ends_at,
            created_by=actor,
        )
        event.audience.set(audience)
        audit_record(
            actor=actor,
            verb="media.live_create",
            obj=event,
            region_code=owner_region.code,
            after={"title": event.title, "starts_at": event.starts_at, "ends_at": event.ends_at},
        )
    return event


def live_ingest(*, uid: str, secret: str, name: str, stream: IO[bytes]) -> LiveEvent:
    """Store one file the studio's ffmpeg PUTs (playlist or segment). The first file makes the event
    live; a playlist with #EXT-X-ENDLIST ends it (and queues the replay)."""
    event = LiveEvent.objects.filter(uid=uid).first()
    if event is None or not constant_time_compare(secret, event.ingest_secret):
        raise PermissionDenied(_("Wrong ingest address or secret."))
    if event.status == LiveStatus.ENDED:
        raise Conflict(_("This live has ended."))
    if not _INGEST_NAME.match(name):
        raise ValidationError(_("Only .m3u8 playlists and .ts segments are accepted."), fields={"name": [name]})
    storage_put(name=f"{event.folder}/{name}", content=stream)
    if event.status == LiveStatus.WAITING:
        with transaction.atomic():
            if LiveEvent.objects.filter(pk=event.pk, status=LiveStatus.WAITING).update(
                status=LiveStatus.LIVE, went_live_at=timezone.now()
            ):
                audit_record(actor=None, verb="media.live_start", obj=event, region_code=event.owner_region_id)
        event.refresh_from_db()
    if name.endswith(".m3u8"):
        with default_storage.open(f"{event.folder}/{name}", "rb") as handle:
            if b"#EXT-X-ENDLIST" in handle.read():
                live_end(actor=None, event=event)
    return event


def live_end(*, actor: User | None, event: LiveEvent) -> LiveEvent:
    """End the live now; its segments become an on-demand asset (the replay job)."""
    if actor is not None:
        access_require(user=actor, action=Action.CONTENT_EDIT, region=event.owner_region)
    with transaction.atomic():
        if (
            not LiveEvent.objects.filter(pk=event.pk)
            .exclude(status=LiveStatus.ENDED)
            .update(status=LiveStatus.ENDED, ended_at=timezone.now())
        ):
            event.refresh_from_db()
            return event
        event.refresh_from_db()
        audit_record(actor=actor, verb="media.live_end", obj=event, region_code=event.owner_region_id)
        if event.went_live_at:
            job_create(kind=JobKind.REPLAY, live_event=event)
    return event


def live_end_if_idle(*, event: LiveEvent) -> LiveEvent:
    """End a live whose studio has sent nothing for LIVE_IDLE_SECONDS (ffmpeg hangs up right after
    its last playlist, which a busy server may never read; a studio may also just drop off), or
    whose scheduled end is an hour past. Called when someone looks at the live."""
    if event.status != LiveStatus.LIVE:
        return event
    idle = int(settings.RURALCAST_MEDIA.get("LIVE_IDLE_SECONDS", 20))
    playlist = f"{event.folder}/index.m3u8"
    try:
        last = default_storage.get_modified_time(playlist)
    except (FileNotFoundError, NotImplementedError):
        last = event.went_live_at or timezone.now()
    now = timezone.now()
    if now - last > timedelta(seconds=idle) or now > event.ends_at + timedelta(hours=1):
        return live_end(actor=None, event=event)
    return event


def live_viewer_seen(*, event: LiveEvent, key: str) -> None:
    """Count a viewer: the live playlist they just fetched (one upsert per fetch)."""
    now = timezone.now()
    updated = LiveViewer.objects.filter(event=event, key=key[:64]).update(last_seen=now)
    if not updated:
        LiveViewer.objects.get_or_create(event=event, key=key[:64], defaults={"last_seen": now})


# ---------------------------------------------------------------------------- collections


def collection_create(
    *, actor: User, owner_region: Region, title: str, kind: str = CollectionKind.SERIES, description: str = ""
) -> Collection:
    access_require(user=actor, action=Action.CONTENT_EDIT, region=owner_region)
    if not title.strip() or len(title) > 200:
        raise ValidationError(_("Give a title of at most 200 characters."), fields={"title": [_("Required.")]})
    if kind not in CollectionKind.values:
        raise ValidationError(_("Choose course, column or series."), fields={"kind": [_("Unknown type.")]})
    with transaction.atomic():
        collection = Collection.objects.create(
            owner_region=owner_region, title=title.strip(), kind=kind, description=description, created_by=actor
        )
        audit_record(actor=actor, verb="media.collection_create", obj=collection, region_code=owner_region.code)
    return collection


def collection_set_items(*, actor: User, collection: Collection, assets: list[Asset]) -> Collection:
    """Replace the collection's contents by `assets`, in this order."""
    access_require(user=actor, action=Action.CONTENT_EDIT, region=collection.owner_region)
    if len({asset.pk for asset in assets}) != len(assets):
        raise ValidationError(_("An asset appears twice."), fields={"assets": [_("Duplicate.")]})
    access_require_all(user=actor, action=Action.CONTENT_EDIT, regions=[asset.owner_region for asset in assets])
    with transaction.atomic():
        CollectionItem.objects.filter(collection=collection).delete()
        CollectionItem.objects.bulk_create(
            [CollectionItem(collection=collection, asset=asset, position=i) for i, asset in enumerate(assets, 1)]
        )
        audit_record(
            actor=actor,
            verb="media.collection_items",
            obj=collection,
            region_code=collection.owner_region_id,
            after={"assets": [asset.uid for asset in assets]},
        )
    return collection


def collection_add(*, actor: User, collection: Collection, asset: Asset) -> Collection:
    current = [item.asset for item in collection.items.select_related("asset", "asset__owner_region")]
    if asset.pk in {a.pk for a in current}:
        raise Conflict(_("This asset is already in the collection."))
    return collection_set_items(actor=actor, collection=collection, assets=[*current, asset])


def collection_move(*, actor: User, collection: Collection, asset: Asset, position: int) -> Collection:
    """Move `asset` to 1-based `position`."""
    current = [item.asset for item in collection.items.select_related("asset", "asset__owner_region")]
    if asset.pk not in {a.pk for a in current}:
        raise NotFound(_("This asset is not in the collection."))
    current = [a for a in current if a.pk != asset.pk]
    position = max(1, min(position, len(current) + 1))
    current.insert(position - 1, asset)
    return collection_set_items(actor=actor, collection=collection, assets=current)
