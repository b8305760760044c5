"""Media API: the catalogue, chunked uploads, jobs with progress, lives and collections; the same
rules as the console through the same services, scoped by region.

Upload protocol (resumable, for slow links): `POST /media/uploads` announces the file and its
metadata and answers `upload_url`; the client then `PUT`s the bytes in order with
`Content-Range: bytes START-END/TOTAL` (≤ 16 MiB each). A 409 names the offset to resume from;
`GET upload_url` says where the upload stands. The last chunk's answer carries the new asset.
"""

import re
from datetime import date, datetime
from typing import Annotated

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.core.api_types import UtcDatetime
from ruralcast.core.errors import NotFound, ValidationError
from ruralcast.media import links, selectors, services
from ruralcast.media.models import Access, Asset, Collection, Job, LiveEvent, Upload
from ruralcast.regions.selectors import region_get

router = Router(tags=["media"])
_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+)$")


class RenditionOut(Schema):
    kind: str
    name: str
    path: str
    width: int
    height: int
    bandwidth: int
    size: int


class AssetOut(Schema):
    uid: str
    kind: str
    state: str
    owner_region: str = Field(..., alias="owner_region_id")
    title: str
    description: str
    tags: list[str] = Field(..., alias="tag_list")
    language: str
    licence: str
    access: str
    origin: str
    original_filename: str
    sha256: str
    size: int
    duration: float
    width: int
    height: int
    format_name: str
    video_codec: str
    audio_codec: str
    created_at: datetime
    page_url: str
    hls_url: str | None = Field(None, description="Master playlist; signed and expiring unless the asset is public")

    @staticmethod
    def resolve_page_url(asset: Asset) -> str:
        return reverse("media:detail", args=[asset.uid])

    @staticmethod
    def resolve_hls_url(asset: Asset) -> str | None:
        if asset.state != "ready" or asset.kind not in ("video", "audio"):
            return None
        key = asset.uid if asset.access == Access.PUBLIC else links.signed_key(asset.uid)
        return links.file_url(key, "hls/master.m3u8")


class AssetDetailOut(AssetOut):
    renditions: list[RenditionOut]

    @staticmethod
    def resolve_renditions(asset: Asset) -> list[object]:
        return list(asset.renditions.all())


class AssetIn(Schema):
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=5000)
    tags: list[str] = Field([], max_length=20)
    language: str = Field("zh", max_length=16)
    licence: str = Field("", max_length=200)
    access: str = Field(Access.LOGGED_IN, description="public, logged_in or region")

    def fields(self) -> services.AssetFields:
        return services.AssetFields(
            title=self.title,
            description=self.description,
            tags=self.tags,
            language=self.language,
            licence=self.licence,
            access=self.access,
        )


class CatalogueQuery(Schema):
    q: str = Field("", max_length=50)
    tag: str = Field("", max_length=40)
    region: str = Field("", max_length=12, description="owner region subtree (12-digit code)")
    kind: str = Field("", max_length=10)
    since: date | None = None
    until: date | None = None


@router.get("/assets", response=list[AssetOut], summary="The catalogue: assets I may watch (and manage)")
@paginate
def asset_list(request: AuthenticatedHttpRequest, params: Query[CatalogueQuery]) -> object:
    return selectors.asset_catalogue(
        user=request.user,
        query=params.q,
        tag=params.tag,
        region_code=params.region,
        kind=params.kind,
        since=params.since,
        until=params.until,
        include_unready=True,
    )


@router.get("/assets/{uid}", response=AssetDetailOut, summary="One asset with its renditions")
def asset_detail(request: AuthenticatedHttpRequest, uid: str) -> Asset:
    return selectors.access_asset(user=request.user, uid=uid)


@router.put("/assets/{uid}", response=AssetDetailOut, summary="Change an asset's metadata")
def asset_update(request: AuthenticatedHttpRequest, uid: str, payload: AssetIn) -> Asset:
    asset = selectors.access_asset(user=request.user, uid=uid, manage=True)
    return services.asset_update(actor=request.user, asset=asset, fields=payload.fields())


class UploadIn(AssetIn):
    owner_region: str = Field(..., max_length=12)
    filename: str = Field(..., max_length=255)
    size: int = Field(..., ge=1)


class UploadOut(Schema):
    id: str = Field(..., alias="uid")
    filename: str
    size: int
    offset: int
    state: str
    upload_url: str
    asset: AssetOut | None = None

    @staticmethod
    def resolve_upload_url(upload: Upload) -> str:
        return reverse("api:media_upload_chunk", args=[upload.uid])


@router.post("/uploads", response={201: UploadOut}, url_name="media_upload_start", summary="Start a chunked upload")
def upload_start(request: AuthenticatedHttpRequest, payload: UploadIn) -> Status[Upload]:
    upload = services.upload_start(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region, field="owner_region"),
        filename=payload.filename,
        size=payload.size,
        fields=payload.fields(),
    )
    return Status(201, upload)


def _upload(request: AuthenticatedHttpRequest, uid: str) -> Upload:
    upload = Upload.objects.select_related("owner_region", "asset").filter(uid=uid, created_by=request.user).first()
    if upload is None:
        raise NotFound(_("No such upload."))
    return upload


@router.get("/uploads/{uid}", response=UploadOut, summary="Where an upload stands (resume from offset)")
def upload_state(request: AuthenticatedHttpRequest, uid: str) -> Upload:
    return _upload(request, uid)


@router.put(
    "/uploads/{uid}",
    response=UploadOut,
    url_name="media_upload_chunk",
    summary="Send one chunk (raw bytes, Content-Range: bytes START-END/TOTAL)",
    openapi_extra={
        "requestBody": {"content": {"application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}
    },
)
def upload_chunk(request: AuthenticatedHttpRequest, uid: str) -> Upload:
    upload = _upload(request, uid)
    match = _CONTENT_RANGE.match(request.headers.get("Content-Range", ""))
    if not match:
        raise ValidationError(
            _("Send the header Content-Range: bytes START-END/TOTAL."), fields={"Content-Range": [_("Missing.")]}
        )
    start, end, total = (int(group) for group in match.groups())
    length = end - start + 1
    declared = request.headers.get("Content-Length")
    if declared is not None and declared.isdigit() and int(declared) != length:
        raise ValidationError(_("Content-Length and Content-Range disagree."), fields={"Content-Range": [_("Wrong.")]})
    return services.upload_append(
        actor=request.user,
        upload=upload,
        start=start,
        total=total,
        stream=request,  # type: ignore[arg-type]  # read as a stream; the service types it IO[bytes]
        length=length,
    )


JobId = Annotated[int, Path(..., ge=1, le=2**62, description="job number")]


class JobOut(Schema):
    id: int
    kind: str
    state: str
    progress: float = Field(..., description="percent done, 0–100")
    step: str
    error_code: str
    error_message: str = Field(..., description="the failure in plain words (in the caller's language)")
    error: str = Field(..., description="the tool's own words, for whoever investigates")
    attempts: int
    asset: str | None = None
    live: str | None = None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None

    @staticmethod
    def resolve_asset(job: Job) -> str | None:
        return job.asset.uid if job.asset else None

    @staticmethod
    def resolve_live(job: Job) -> str | None:
        return job.live_event.uid if job.live_event else None


@router.get("/jobs", response=list[JobOut], summary="Background jobs in my regions, newest first")
@paginate
def job_list(request: AuthenticatedHttpRequest) -> object:
    return selectors.job_list(user=request.user)


@router.get("/jobs/{job_id}", response=JobOut, summary="One job: state and progress")
def job_detail(request: AuthenticatedHttpRequest, job_id: JobId) -> Job:
    return selectors.access_job(user=request.user, job_id=job_id)


@router.post("/jobs/{job_id}/retry", response=JobOut, summary="Retry a failed job")
def job_retry(request: AuthenticatedHttpRequest, job_id: JobId) -> Job:
    job = selectors.access_job(user=request.user, job_id=job_id)
    return services.job_retry(actor=request.user, job=job)


class LiveIn(Schema):
    title: str = Field(..., max_length=200)
    description: str = Field("", max_length=5000)
    owner_region: str = Field(..., max_length=12)
    audience: list[str] = Field([], max_length=200, description="12-digit region codes (default: the owner region)")
    access: str = Access.LOGGED_IN
    starts_at: UtcDatetime
    ends_at: UtcDatetime


class LiveOut(Schema):
    uid: str
    title: str
    description: str
    owner_region: str = Field(..., alias="owner_region_id")
    access: str
    starts_at: datetime
    ends_at: datetime
    status: str
    went_live_at: datetime | None
    ended_at: datetime | None
    viewers: int
    playlist_url: str
    replay: str | None = None
    ingest_url: str | None = Field(None, description="Only for those who manage the live: keep it secret")

    @staticmethod
    def resolve_viewers(event: LiveEvent) -> int:
        return selectors.live_viewer_count(event=event)

    @staticmethod
    def resolve_playlist_url(event: LiveEvent) -> str:
        key = event.uid if event.access == Access.PUBLIC else links.signed_key(event.uid)
        return links.live_url(key, "index.m3u8")

    @staticmethod
    def resolve_replay(event: LiveEvent) -> str | None:
        return event.replay.uid if event.replay else None

    @staticmethod
    def resolve_ingest_url(event: LiveEvent, context: dict[str, object]) -> str | None:
        request = context["request"]
        if not selectors.may_manage(user=request.user, region_code=event.owner_region_id):  # type: ignore[attr-defined]
            return None
        return request.build_absolute_uri(  # type: ignore[attr-defined]
            reverse("media:ingest", kwargs={"uid": event.uid, "secret": event.ingest_secret, "name": "index.m3u8"})
        )


@router.get("/lives", response=list[LiveOut], summary="Live events I may watch or manage")
@paginate
def live_list(request: AuthenticatedHttpRequest) -> object:
    return selectors.live_list(user=request.user)


@router.post("/lives", response={201: LiveOut}, summary="Schedule a live event")
def live_create(request: AuthenticatedHttpRequest, payload: LiveIn) -> Status[LiveEvent]:
    event = services.live_create(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region, field="owner_region"),
        fields=services.LiveFields(
            title=payload.title,
            description=payload.description,
            starts_at=payload.starts_at,
            ends_at=payload.ends_at,
            access=payload.access,
            audience=[region_get(code=code, field="audience") for code in payload.audience],
        ),
    )
    return Status(201, event)


@router.get("/lives/{uid}", response=LiveOut, summary="One live: status and viewer count")
def live_detail(request: AuthenticatedHttpRequest, uid: str) -> LiveEvent:
    return services.live_end_if_idle(event=selectors.access_live(user=request.user, uid=uid))


@router.post("/lives/{uid}/end", response=LiveOut, summary="End a live now (its replay follows)")
def live_end(request: AuthenticatedHttpRequest, uid: str) -> LiveEvent:
    event = selectors.access_live(user=request.user, uid=uid)
    return services.live_end(actor=request.user, event=event)


class CollectionIn(Schema):
    title: str = Field(..., max_length=200)
    kind: str = Field("series", description="course, column or series")
    description: str = Field("", max_length=5000)
    owner_region: str = Field(..., max_length=12)


class CollectionOut(Schema):
    uid: str
    kind: str
    title: str
    description: str
    owner_region: str = Field(..., alias="owner_region_id")
    assets: list[str]

    @staticmethod
    def resolve_assets(collection: Collection, context: dict[str, object]) -> list[str]:
        user = context["request"].user  # type: ignore[attr-defined]
        return [asset.uid for asset in selectors.collection_assets(user=user, collection=collection)]


class CollectionItemsIn(Schema):
    assets: list[str] = Field(..., max_length=500, description="asset uids in their order")


@router.get("/collections", response=list[CollectionOut], summary="Collections (courses, columns, series)")
@paginate
def collection_list(request: AuthenticatedHttpRequest) -> object:
    return selectors.collection_list(user=request.user)


@router.post("/collections", response={201: CollectionOut}, summary="Create a collection")
def collection_create(request: AuthenticatedHttpRequest, payload: CollectionIn) -> Status[Collection]:
    collection = services.collection_create(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region, field="owner_region"),
        title=payload.title,
        kind=payload.kind,
        description=payload.description,
    )
    return Status(201, collection)


@router.get("/collections/{uid}", response=CollectionOut, summary="One collection, its assets in order")
def collection_detail(request: AuthenticatedHttpRequest, uid: str) -> Collection:
    return selectors.access_collection(uid=uid, user=request.user)


@router.put("/collections/{uid}/items", response=CollectionOut, summary="Set the collection's assets and order")
def collection_items(request: AuthenticatedHttpRequest, uid: str, payload: CollectionItemsIn) -> Collection:
    collection = selectors.access_collection(uid=uid, user=request.user)
    assets = [selectors.access_asset(user=request.user, uid=u, manage=True) for u in payload.assets]
    return services.collection_set_items(actor=request.user, collection=collection, assets=assets)
