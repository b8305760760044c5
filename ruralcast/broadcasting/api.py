"""Daily broadcasting API: the same rules as the console, through the same services."""

from datetime import date, datetime, time
from typing import Literal

from django.db import transaction
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.broadcasting import selectors, services
from ruralcast.broadcasting.documents import programme_audio_url
from ruralcast.broadcasting.models import Outcome, Playlist, ProgrammeItem, Schedule, ScheduleSlot
from ruralcast.broadcasting.programme import DayProgramme, Entry, local_today
from ruralcast.core.errors import NotFound
from ruralcast.regions.selectors import region_get

router = Router(tags=["broadcasting"])


class ItemOut(Schema):
    id: int
    title: str
    owner_region: str = Field(..., alias="owner_region_id")
    tags: list[str]
    source: str
    text: str
    audio_sha256: str
    audio_bytes: int
    audio_seconds: float
    audio_url: str

    @staticmethod
    def resolve_tags(item: ProgrammeItem) -> list[str]:
        return item.tag_list

    @staticmethod
    def resolve_audio_url(item: ProgrammeItem) -> str:
        return programme_audio_url(item.audio_sha256)


class SpeechItemIn(Schema):
    owner_region: str = Field(..., max_length=12)
    title: str = Field(..., max_length=200)
    text: str = Field(..., max_length=2000)
    tags: list[str] = Field(default_factory=list, max_length=10)


class UploadItemIn(Schema):
    owner_region: str = Field(..., max_length=12)
    title: str = Field(..., max_length=200)
    tags: str = Field("", max_length=300, description="comma-separated")


class PlaylistItemOut(Schema):
    position: int
    item: ItemOut


class PlaylistOut(Schema):
    id: int
    name: str
    owner_region: str = Field(..., alias="owner_region_id")
    tags: list[str]
    total_seconds: float
    items: list[PlaylistItemOut]

    @staticmethod
    def resolve_tags(playlist: Playlist) -> list[str]:
        return playlist.tag_list

    @staticmethod
    def resolve_items(playlist: Playlist) -> list[dict[str, object]]:
        return [{"position": n, "item": row.item} for n, row in enumerate(playlist.ordered_items())]


class PlaylistIn(Schema):
    owner_region: str = Field(..., max_length=12)
    name: str = Field(..., max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=10)
    items: list[int] = Field(default_factory=list, max_length=100, description="item ids in play order")


class ItemUpdateIn(Schema):
    title: str = Field(..., max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=10)


class PlaylistUpdateIn(Schema):
    name: str = Field(..., max_length=200)
    tags: list[str] = Field(default_factory=list, max_length=10)


class PlaylistItemsIn(Schema):
    items: list[int] = Field(..., max_length=100, description="item ids in play order (an id may repeat)")


class PlaylistItemAddIn(Schema):
    item: int


class SlotOut(Schema):
    id: int
    schedule: int = Field(..., alias="schedule_id")
    start_time: time
    item: int | None = Field(..., alias="item_id")
    playlist: int | None = Field(..., alias="playlist_id")
    recurrence: str
    weekdays: list[int]
    dates: list[str]
    start_date: date | None
    end_date: date | None


class ScheduleOut(Schema):
    id: int
    name: str
    owner_region: str = Field(..., alias="owner_region_id")
    target_region: str = Field(..., alias="target_region_id")
    tier: int
    volume: int
    active: bool
    slots: list[SlotOut]

    @staticmethod
    def resolve_slots(schedule: Schedule) -> list[ScheduleSlot]:
        return list(schedule.slots.all())


class ScheduleIn(Schema):
    owner_region: str = Field(..., max_length=12)
    target_region: str = Field(..., max_length=12)
    name: str = Field(..., max_length=200)
    volume: int = Field(70, ge=0, le=100)
    active: bool = True


class ScheduleUpdateIn(Schema):
    target_region: str = Field(..., max_length=12)
    name: str = Field(..., max_length=200)
    volume: int = Field(70, ge=0, le=100)
    active: bool = True


class SlotIn(Schema):
    start_time: time
    item: int | None = Field(None, description="a library item, or")
    playlist: int | None = Field(None, description="a playlist (exactly one of item and playlist)")
    recurrence: Literal["daily", "weekdays", "dates", "range"] = "daily"
    weekdays: list[int] = Field(default_factory=list, max_length=7)
    dates: list[date] = Field(default_factory=list, max_length=366)
    start_date: date | None = None
    end_date: date | None = None

    def fields(self, request: AuthenticatedHttpRequest) -> services.SlotFields:
        return services.SlotFields(
            start_time=self.start_time,
            item=None if self.item is None else selectors.access_item(user=request.user, item_id=self.item),
            playlist=(
                None
                if self.playlist is None
                else selectors.access_playlist(user=request.user, playlist_id=self.playlist)
            ),
            recurrence=self.recurrence,
            weekdays=self.weekdays,
            dates=self.dates,
            start_date=self.start_date,
            end_date=self.end_date,
        )


class CheckIn(SlotIn):
    slot: int | None = Field(None, description="the slot being edited (left out of the comparison)")


class PartOut(Schema):
    position: int
    item: int
    title: str
    start: str
    ms: int
    audio_sha256: str


class EntryOut(Schema):
    start: str
    end: str
    slot: int
    schedule: int
    schedule_name: str
    region: str
    tier: int
    item: int | None = Field(..., description="null for a playlist block")
    playlist: int | None = Field(..., description="the playlist a block plays (its items: `items`)")
    title: str
    volume: int
    audio_sha256: str
    items: list[PartOut] = Field(default_factory=list, description="a playlist block's items, in play order")


class DroppedOut(Schema):
    entry: EntryOut
    by: EntryOut
    reason: str


class ProgrammeOut(Schema):
    village: str
    day: date
    entries: list[EntryOut]
    dropped: list[DroppedOut]


class ConflictOut(Schema):
    day: date
    other: EntryOut
    relation: str
    yours_plays: bool


def _entry(entry: Entry) -> dict[str, object]:
    return {
        "start": entry.start.isoformat(timespec="seconds"),
        "end": entry.end.isoformat(timespec="milliseconds"),
        "slot": entry.slot_id,
        "schedule": entry.schedule_id,
        "schedule_name": entry.schedule_name,
        "region": entry.owner_code,
        "tier": entry.tier,
        "item": entry.item_id,
        "playlist": entry.playlist_id,
        "title": entry.item_title,
        "volume": entry.volume,
        "audio_sha256": entry.audio_sha256,
        "items": [
            {
                "position": piece.position,
                "item": piece.item_id,
                "title": piece.item_title,
                "start": piece.start.isoformat(timespec="milliseconds"),
                "ms": piece.ms,
                "audio_sha256": piece.audio_sha256,
            }
            for piece in (entry.pieces() if entry.parts else [])
        ],
    }


def _programme(programme: DayProgramme) -> dict[str, object]:
    return {
        "village": programme.village.code,
        "day": programme.day,
        "entries": [_entry(e) for e in programme.entries],
        "dropped": [{"entry": _entry(d.entry), "by": _entry(d.by), "reason": d.reason} for d in programme.dropped],
    }


class ItemQuery(Schema):
    q: str = Field("", max_length=50)


@router.get("/items", response=list[ItemOut], summary="Library items in my regions, newest first")
@paginate
def item_list(request: AuthenticatedHttpRequest, params: Query[ItemQuery]) -> object:
    return selectors.item_list(user=request.user, query=params.q)


@router.post("/items/speech", response={201: ItemOut}, summary="Add an item read aloud from text")
def item_speech(request: AuthenticatedHttpRequest, payload: SpeechItemIn) -> Status[ProgrammeItem]:
    item = services.programme_item_create_from_text(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region),
        title=payload.title,
        text=payload.text,
        tags=payload.tags,
    )
    return Status(201, item)


@router.post("/items/upload", response={201: ItemOut}, summary="Add an uploaded recording (refused if not audio)")
def item_upload(
    request: AuthenticatedHttpRequest, file: File[UploadedFile], payload: Form[UploadItemIn]
) -> Status[ProgrammeItem]:
    item = services.programme_item_create_from_upload(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region),
        title=payload.title,
        upload=file,
        tags=payload.tags,
    )
    return Status(201, item)


@router.get("/items/{item_id}", response=ItemOut)
def item_get(request: AuthenticatedHttpRequest, item_id: int) -> ProgrammeItem:
    return selectors.access_item(user=request.user, item_id=item_id)


@router.put("/items/{item_id}", response=ItemOut, summary="Rename a library item or change its tags")
def item_update(request: AuthenticatedHttpRequest, item_id: int, payload: ItemUpdateIn) -> ProgrammeItem:
    item = selectors.access_item(user=request.user, item_id=item_id)
    services.programme_item_update(actor=request.user, item=item, title=payload.title, tags=payload.tags)
    return selectors.access_item(user=request.user, item_id=item_id)


@router.delete(
    "/items/{item_id}", response={204: None}, summary="Delete a library item (409 naming what uses it, if anything)"
)
def item_delete(request: AuthenticatedHttpRequest, item_id: int) -> Status[None]:
    item = selectors.access_item(user=request.user, item_id=item_id)
    services.programme_item_delete(actor=request.user, item=item)
    return Status(204, None)


class PlaylistQuery(Schema):
    q: str = Field("", max_length=50)


def _items(request: AuthenticatedHttpRequest, ids: list[int]) -> list[ProgrammeItem]:
    found = {item.pk: item for item in selectors.item_list(user=request.user).filter(pk__in=ids)}
    missing = [item_id for item_id in ids if item_id not in found]
    if missing:
        raise NotFound(_("No programme item %(id)s in your regions.") % {"id": missing[0]})
    return [found[item_id] for item_id in ids]


def _fresh(request: AuthenticatedHttpRequest, playlist: Playlist) -> Playlist:
    return selectors.access_playlist(user=request.user, playlist_id=playlist.pk)


@router.get("/playlists", response=list[PlaylistOut], summary="Playlists in my regions (search by name or tag)")
@paginate
def playlist_list(request: AuthenticatedHttpRequest, params: Query[PlaylistQuery]) -> object:
    return selectors.playlist_list(user=request.user, query=params.q)


@router.post("/playlists", response={201: PlaylistOut}, summary="Create a playlist (optionally with its items)")
def playlist_create(request: AuthenticatedHttpRequest, payload: PlaylistIn) -> Status[Playlist]:
    owner = region_get(code=payload.owner_region)
    items = _items(request, payload.items)
    with transaction.atomic():  # the playlist and its items, or nothing
        playlist = services.playlist_create(
            actor=request.user,
            owner_region=owner,
            name=payload.name,
            tags=payload.tags,
        )
        if items:
            services.playlist_items_set(actor=request.user, playlist=playlist, items=items)
    return Status(201, _fresh(request, playlist))


@router.get("/playlists/{playlist_id}", response=PlaylistOut)
def playlist_get(request: AuthenticatedHttpRequest, playlist_id: int) -> Playlist:
    return selectors.access_playlist(user=request.user, playlist_id=playlist_id)


@router.put("/playlists/{playlist_id}", response=PlaylistOut, summary="Rename a playlist or change its tags")
def playlist_update(request: AuthenticatedHttpRequest, playlist_id: int, payload: PlaylistUpdateIn) -> Playlist:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    services.playlist_update(actor=request.user, playlist=playlist, name=payload.name, tags=payload.tags)
    return _fresh(request, playlist)


@router.put("/playlists/{playlist_id}/items", response=PlaylistOut, summary="Set a playlist's items in play order")
def playlist_items(request: AuthenticatedHttpRequest, playlist_id: int, payload: PlaylistItemsIn) -> Playlist:
    """Add, remove and reorder in one call: the list replaces the playlist's items. The terminals of the
    villages whose programme changes receive their documents again."""
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    services.playlist_items_set(actor=request.user, playlist=playlist, items=_items(request, payload.items))
    return _fresh(request, playlist)


@router.post("/playlists/{playlist_id}/items", response=PlaylistOut, summary="Append an item to a playlist")
def playlist_item_add(request: AuthenticatedHttpRequest, playlist_id: int, payload: PlaylistItemAddIn) -> Playlist:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    item = selectors.access_item(user=request.user, item_id=payload.item)
    services.playlist_item_add(actor=request.user, playlist=playlist, item=item)
    return _fresh(request, playlist)


@router.delete("/playlists/{playlist_id}", response={204: None}, summary="Delete a playlist no slot plays")
def playlist_delete(request: AuthenticatedHttpRequest, playlist_id: int) -> Status[None]:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    services.playlist_delete(actor=request.user, playlist=playlist)
    return Status(204, None)


@router.get("/schedules", response=list[ScheduleOut], summary="Schedules owned in my regions")
@paginate
def schedule_list(request: AuthenticatedHttpRequest) -> object:
    return selectors.schedule_list(user=request.user)


@router.post(
    "/schedules", response={201: ScheduleOut}, summary="Create a schedule (owner: county, township or village)"
)
def schedule_create(request: AuthenticatedHttpRequest, payload: ScheduleIn) -> Status[Schedule]:
    schedule = services.schedule_create(
        actor=request.user,
        owner_region=region_get(code=payload.owner_region),
        target_region=region_get(code=payload.target_region),
        name=payload.name,
        volume=payload.volume,
        active=payload.active,
    )
    return Status(201, schedule)


@router.get("/schedules/{schedule_id}", response=ScheduleOut)
def schedule_get(request: AuthenticatedHttpRequest, schedule_id: int) -> Schedule:
    return selectors.access_schedule(user=request.user, schedule_id=schedule_id)


@router.put("/schedules/{schedule_id}", response=ScheduleOut, summary="Change a schedule (not its owner)")
def schedule_update(request: AuthenticatedHttpRequest, schedule_id: int, payload: ScheduleUpdateIn) -> Schedule:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    return services.schedule_update(
        actor=request.user,
        schedule=schedule,
        name=payload.name,
        target_region=region_get(code=payload.target_region),
        volume=payload.volume,
        active=payload.active,
    )


@router.delete("/schedules/{schedule_id}", response={204: None})
def schedule_delete(request: AuthenticatedHttpRequest, schedule_id: int) -> Status[None]:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    services.schedule_delete(actor=request.user, schedule=schedule)
    return Status(204, None)


@router.post("/schedules/{schedule_id}/check", response=list[ConflictOut], summary="Conflicts of a slot, before saving")
def slot_check(request: AuthenticatedHttpRequest, schedule_id: int, payload: CheckIn) -> list[dict[str, object]]:
    """The slots above, below and beside this schedule's target that the proposed slot would overlap
    in the next 7 days, and whether it or the other would play (nothing is saved)."""
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    if payload.slot is not None:
        selectors.access_slot(user=request.user, slot_id=payload.slot)
    fields = services.slot_fields_validate(actor=request.user, schedule=schedule, fields=payload.fields(request))
    conflicts = selectors.slot_conflicts(schedule=schedule, fields=fields, exclude_slot_id=payload.slot)
    return [
        {"day": c.day, "other": _entry(c.other), "relation": c.relation, "yours_plays": c.yours_plays}
        for c in conflicts
    ]


@router.post("/schedules/{schedule_id}/slots", response={201: SlotOut})
def slot_create(request: AuthenticatedHttpRequest, schedule_id: int, payload: SlotIn) -> Status[ScheduleSlot]:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    slot = services.slot_create(actor=request.user, schedule=schedule, fields=payload.fields(request))
    return Status(201, slot)


@router.put("/slots/{slot_id}", response=SlotOut)
def slot_update(request: AuthenticatedHttpRequest, slot_id: int, payload: SlotIn) -> ScheduleSlot:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)
    return services.slot_update(actor=request.user, slot=slot, fields=payload.fields(request))


@router.delete("/slots/{slot_id}", response={204: None})
def slot_delete(request: AuthenticatedHttpRequest, slot_id: int) -> Status[None]:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)
    services.slot_delete(actor=request.user, slot=slot)
    return Status(204, None)


class EffectiveQuery(Schema):
    village: str = Field(..., max_length=12)
    day: date | None = None


@router.get("/effective", response=ProgrammeOut, summary="What a village hears on a day (the merged programme)")
def effective(request: AuthenticatedHttpRequest, params: Query[EffectiveQuery]) -> dict[str, object]:
    programme = selectors.village_programme(
        user=request.user,
        village=region_get(code=params.village),
        day=params.day or local_today(),
    )
    return _programme(programme)


class PlaylogOut(Schema):
    terminal: str = Field(..., alias="terminal_code")
    village: str = Field(..., alias="village_id")
    slot: int = Field(..., alias="slot_id")
    schedule: int | None = Field(None, alias="schedule_id")
    item: int | None = Field(None, alias="item_id")
    title: str
    scheduled_start: datetime
    started_at: datetime | None
    played_ms: int
    outcome: str
    reason: str
    version: int


class PlaylogQuery(Schema):
    region: str = Field("", max_length=12, description="a region code: its subtree (a village: that village)")
    terminal: str = Field("", max_length=23)
    day: date | None = Field(None, description="entries scheduled on this local day")
    outcome: Literal["", "played", "interrupted", "missed"] = ""


@router.get(
    "/playlogs", response=list[PlaylogOut], summary="Playback logs (播出记录) of terminals in my regions, newest first"
)
@paginate
def playlogs(request: AuthenticatedHttpRequest, params: Query[PlaylogQuery]) -> object:
    return selectors.playlog_list(
        user=request.user,
        region=region_get(code=params.region) if params.region else None,
        terminal=params.terminal,
        day=params.day,
        outcome=params.outcome if params.outcome in Outcome.values else "",
    )
