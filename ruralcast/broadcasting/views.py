"""Console pages for daily broadcasting. Thin: forms in, services and selectors, templates out."""

import re
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_check, access_require, access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.broadcasting import selectors, services
from ruralcast.broadcasting.audio import audio_storage_name
from ruralcast.broadcasting.forms import (
    EffectiveForm,
    ItemEditForm,
    PlaylistEditForm,
    PlaylistForm,
    PlaylogFilterForm,
    ScheduleForm,
    SlotForm,
    SpeechItemForm,
    UploadItemForm,
)
from ruralcast.broadcasting.models import Playlist, ProgrammeItem, Schedule, ScheduleSlot
from ruralcast.broadcasting.programme import local_today, with_content
from ruralcast.core.errors import ApplicationError, NotFound, ValidationError
from ruralcast.core.exports import csv_streaming_response
from ruralcast.core.formviews import form_round_trip, form_status
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.core.wording import terminal_label
from ruralcast.terminals.models import Terminal


def _home_in(request: AuthenticatedHttpRequest, action: str) -> str:
    prefixes = action_prefixes(user=request.user, action=action)
    home = getattr(request.user, "home_region", None)
    if home is not None and any(home.code.startswith(p) for p in prefixes):
        return str(home.code)
    return ""


def _can_manage(request: AuthenticatedHttpRequest, schedule: Schedule) -> bool:
    return access_check(user=request.user, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)


# ---------------------------------------------------------------------------- schedules


@authenticated_view
def schedule_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)
    listing = selectors.schedule_list(user=request.user)
    context = {
        "can_create": bool(action_prefixes(user=request.user, action=Action.SCHEDULE_MANAGE)),
        **paginate(request, listing),
    }
    return render(request, "broadcasting/schedules.html", context)


@authenticated_view
def schedule_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.SCHEDULE_MANAGE)
    home = _home_in(request, Action.SCHEDULE_MANAGE)
    form = ScheduleForm(request.POST or None, initial={"owner_region": home, "target_region": home})

    def save(data: dict[str, Any]) -> HttpResponse:
        schedule = services.schedule_create(
            actor=request.user,
            owner_region=data["owner_region"],
            target_region=data["target_region"],
            name=data["name"],
            volume=data["volume"],
            active=data["active"],
        )
        messages.success(request, _("Schedule created. Add its slots."))
        return redirect("broadcasting:schedule", schedule_id=schedule.pk)

    return form_round_trip(request, form, save, template="broadcasting/schedule_form.html")


@authenticated_view
def schedule_edit(request: AuthenticatedHttpRequest, schedule_id: int) -> HttpResponseBase:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    services.require_schedule_manage(actor=request.user, schedule=schedule)
    initial = {
        "owner_region": schedule.owner_region_id,
        "name": schedule.name,
        "target_region": schedule.target_region_id,
        "volume": schedule.volume,
        "active": schedule.active,
    }
    form = ScheduleForm(request.POST or None, initial=initial)
    form.fields["owner_region"].disabled = True

    def save(data: dict[str, Any]) -> HttpResponse:
        services.schedule_update(
            actor=request.user,
            schedule=schedule,
            name=data["name"],
            target_region=data["target_region"],
            volume=data["volume"],
            active=data["active"],
        )
        messages.success(request, _("Schedule saved."))
        return redirect("broadcasting:schedule", schedule_id=schedule.pk)

    context = {"schedule": schedule}
    return form_round_trip(request, form, save, template="broadcasting/schedule_form.html", context=context)


@authenticated_view
def schedule_detail(request: AuthenticatedHttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    slots = with_content(schedule.slots.all()).order_by("start_time", "id")
    context = {"schedule": schedule, "slots": slots, "can_manage": _can_manage(request, schedule)}
    return render(request, "broadcasting/schedule_detail.html", context)


@authenticated_view
@require_POST
def schedule_delete(request: AuthenticatedHttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    services.schedule_delete(actor=request.user, schedule=schedule)
    messages.success(request, _("Schedule deleted."))
    return redirect("broadcasting:schedules")


# ---------------------------------------------------------------------------- slots


def _slot_form(request: AuthenticatedHttpRequest, schedule: Schedule, slot: ScheduleSlot | None) -> SlotForm:
    items = selectors.items_for_schedule(user=request.user, schedule=schedule)
    playlists = selectors.playlists_for_schedule(user=request.user, schedule=schedule)
    initial = {}
    if slot is not None:
        initial = {
            "start_time": slot.start_time,
            "item": slot.item_id,
            "playlist": slot.playlist_id,
            "recurrence": slot.recurrence,
            "weekdays": slot.weekdays,
            "dates": ", ".join(slot.dates),
            "start_date": slot.start_date,
            "end_date": slot.end_date,
        }
    return SlotForm(request.POST or None, items=items, playlists=playlists, initial=initial)


def _slot_page(request: AuthenticatedHttpRequest, schedule: Schedule, slot: ScheduleSlot | None) -> HttpResponseBase:
    services.require_schedule_manage(actor=request.user, schedule=schedule)
    form = _slot_form(request, schedule, slot)

    def save(data: dict[str, Any]) -> HttpResponse:
        if slot is None:
            services.slot_create(actor=request.user, schedule=schedule, fields=form.slot_fields())
        else:
            services.slot_update(actor=request.user, slot=slot, fields=form.slot_fields())
        messages.success(request, _("Slot saved; the terminals whose programme changed receive it now."))
        return redirect("broadcasting:schedule", schedule_id=schedule.pk)

    context = {"schedule": schedule, "slot": slot}
    return form_round_trip(request, form, save, template="broadcasting/slot_form.html", context=context)


@authenticated_view
def slot_create(request: AuthenticatedHttpRequest, schedule_id: int) -> HttpResponseBase:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    return _slot_page(request, schedule, None)


@authenticated_view
def slot_edit(request: AuthenticatedHttpRequest, slot_id: int) -> HttpResponseBase:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)
    return _slot_page(request, slot.schedule, slot)


@authenticated_view
@require_POST
def slot_delete(request: AuthenticatedHttpRequest, slot_id: int) -> HttpResponse:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)
    schedule_id = slot.schedule_id
    services.slot_delete(actor=request.user, slot=slot)
    messages.success(request, _("Slot deleted."))
    return redirect("broadcasting:schedule", schedule_id=schedule_id)


@authenticated_view
@require_POST
def slot_check(request: AuthenticatedHttpRequest, schedule_id: int) -> HttpResponse:
    """The conflicts of the slot being typed (htmx partial), before anything is saved."""
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)
    slot_id = request.POST.get("slot_id", "")
    slot = selectors.access_slot(user=request.user, slot_id=int(slot_id)) if slot_id.isdigit() else None
    form = _slot_form(request, schedule, slot)
    context: dict[str, object] = {"schedule": schedule, "checked": False}
    if form.is_valid():
        try:
            fields = services.slot_fields_validate(actor=request.user, schedule=schedule, fields=form.slot_fields())
        except ApplicationError as error:
            context["error"] = error.message
        else:
            context["conflicts"] = selectors.slot_conflicts(
                schedule=schedule, fields=fields, exclude_slot_id=slot.pk if slot else None
            )
            context["checked"] = True
            context["days"] = selectors.CHECK_DAYS
    else:
        context["error"] = _("Fill in the start time and the item or playlist to see conflicts.")
    return render(request, "broadcasting/conflicts_partial.html", context)


# ---------------------------------------------------------------------------- library


@authenticated_view
def library(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)
    query = request.GET.get("q", "").strip()[:50]
    listing = selectors.item_list(user=request.user, query=query)
    editable = action_prefixes(user=request.user, action=Action.PROGRAMME_EDIT)
    page = paginate(request, listing)
    context = {
        "query": query,
        "can_add": bool(editable),
        "editable_ids": {
            item.pk for item in page["page_obj"].object_list if item.owner_region_id.startswith(tuple(editable))
        },
        **page,
    }
    return render(request, "broadcasting/library.html", context)


@authenticated_view
def item_speech(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)
    form = SpeechItemForm(request.POST or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)})

    def save(data: dict[str, Any]) -> HttpResponse:
        services.programme_item_create_from_text(
            actor=request.user,
            owner_region=data["owner_region"],
            title=data["title"],
            text=data["text"],
            tags=data["tags"],
        )
        messages.success(request, _("Item added to the library."))
        return redirect("broadcasting:library")

    context = {"heading": _("New item from text")}
    return form_round_trip(request, form, save, template="broadcasting/item_form.html", context=context)


@authenticated_view
def item_upload(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)
    form = UploadItemForm(
        request.POST or None, request.FILES or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)}
    )

    def save(data: dict[str, Any]) -> HttpResponse:
        services.programme_item_create_from_upload(
            actor=request.user,
            owner_region=data["owner_region"],
            title=data["title"],
            upload=data["audio_file"],
            tags=data["tags"],
        )
        messages.success(request, _("Item added to the library."))
        return redirect("broadcasting:library")

    context = {"heading": _("Upload a recording"), "multipart": True}
    return form_round_trip(request, form, save, template="broadcasting/item_form.html", context=context)


def _item_page(
    request: AuthenticatedHttpRequest, item: ProgrammeItem, form: ItemEditForm, *, status: int = 200
) -> HttpResponse:
    schedules, playlists = services.item_users(item=item)
    context = {"item": item, "form": form, "schedules": schedules, "playlists": playlists}
    return render(request, "broadcasting/item_edit.html", context, status=status)


@authenticated_view
def item_edit(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponseBase:
    """Rename a library item or change its tags; the page also lists what uses it and deletes it."""
    item = selectors.access_item(user=request.user, item_id=item_id)
    access_require(user=request.user, action=Action.PROGRAMME_EDIT, region=item.owner_region)
    form = ItemEditForm(request.POST or None, initial={"title": item.title, "tags": ", ".join(item.tag_list)})

    def save(data: dict[str, Any]) -> HttpResponse:
        services.programme_item_update(actor=request.user, item=item, title=data["title"], tags=data["tags"])
        messages.success(request, _("Item saved."))
        return redirect("broadcasting:library")

    schedules, playlists = services.item_users(item=item)
    context = {"item": item, "schedules": schedules, "playlists": playlists}
    return form_round_trip(request, form, save, template="broadcasting/item_edit.html", context=context)


@authenticated_view
@require_POST
def item_delete(request: AuthenticatedHttpRequest, item_id: int) -> HttpResponse:
    item = selectors.access_item(user=request.user, item_id=item_id)
    form = ItemEditForm(initial={"title": item.title, "tags": ", ".join(item.tag_list)})
    try:
        services.programme_item_delete(actor=request.user, item=item)
    except ApplicationError as error:  # in use (409) or not allowed (403): said on the item's page
        messages.error(request, error.message)
        return _item_page(request, item, form, status=error.status_code)
    messages.success(request, _("Item deleted."))
    return redirect("broadcasting:library")


# ---------------------------------------------------------------------------- playlists


@authenticated_view
def playlist_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)
    query = request.GET.get("q", "").strip()[:50]
    listing = selectors.playlist_list(user=request.user, query=query)
    context = {
        "query": query,
        "can_add": bool(action_prefixes(user=request.user, action=Action.PROGRAMME_EDIT)),
        **paginate(request, listing),
    }
    return render(request, "broadcasting/playlists.html", context)


@authenticated_view
def playlist_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)
    form = PlaylistForm(request.POST or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)})

    def save(data: dict[str, Any]) -> HttpResponse:
        playlist = services.playlist_create(
            actor=request.user, owner_region=data["owner_region"], name=data["name"], tags=data["tags"]
        )
        messages.success(request, _("Playlist created. Add its items."))
        return redirect("broadcasting:playlist", playlist_id=playlist.pk)

    return form_round_trip(request, form, save, template="broadcasting/playlist_form.html", context={"playlist": None})


@authenticated_view
def playlist_edit(request: AuthenticatedHttpRequest, playlist_id: int) -> HttpResponseBase:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    access_require(user=request.user, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    form = PlaylistEditForm(request.POST or None, initial={"name": playlist.name, "tags": ", ".join(playlist.tag_list)})

    def save(data: dict[str, Any]) -> HttpResponse:
        services.playlist_update(actor=request.user, playlist=playlist, name=data["name"], tags=data["tags"])
        messages.success(request, _("Playlist saved."))
        return redirect("broadcasting:playlist", playlist_id=playlist.pk)

    context = {"playlist": playlist}
    return form_round_trip(request, form, save, template="broadcasting/playlist_form.html", context=context)


def _playlist_page(request: AuthenticatedHttpRequest, playlist: Playlist, *, status: int = 200) -> HttpResponse:
    user = request.user
    can_edit = access_check(user=user, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    query = request.GET.get("q", "").strip()[:50]
    candidates = selectors.items_for_playlist(user=user, playlist=playlist, query=query)[:20] if can_edit else []
    context = {
        "playlist": playlist,
        "rows": playlist.ordered_items(),
        "schedules": selectors.playlist_schedules(user=user, playlist=playlist),
        "can_edit": can_edit,
        "query": query,
        "candidates": candidates,
    }
    return render(request, "broadcasting/playlist_detail.html", context, status=status)


@authenticated_view
def playlist_detail(request: AuthenticatedHttpRequest, playlist_id: int) -> HttpResponse:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    return _playlist_page(request, playlist)


@authenticated_view
@require_POST
def playlist_change(request: AuthenticatedHttpRequest, playlist_id: int) -> HttpResponse:
    """One change of the playlist page: `action` add (an `item`), up, down or remove (at `position`)."""
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    action, position = request.POST.get("action", ""), request.POST.get("position", "")
    actor = request.user
    try:
        if action == "add":
            item_id = request.POST.get("item", "")
            if not item_id.isdigit():
                raise ValidationError(_("Choose an item to add."), fields={"item": [_("This field is required.")]})
            item = selectors.access_item(user=actor, item_id=int(item_id))
            services.playlist_item_add(actor=actor, playlist=playlist, item=item)
        elif action in ("up", "down", "remove") and position.isdigit():
            if action == "remove":
                services.playlist_item_remove(actor=actor, playlist=playlist, position=int(position))
            else:
                offset = -1 if action == "up" else 1
                services.playlist_item_move(actor=actor, playlist=playlist, position=int(position), offset=offset)
        else:
            raise ValidationError(_("Unknown change."), fields={"action": [_("Add, up, down or remove.")]})
    except ApplicationError as error:
        messages.error(request, error.message)
        playlist = selectors.access_playlist(user=actor, playlist_id=playlist_id)
        return _playlist_page(request, playlist, status=error.status_code)
    messages.success(request, _("Playlist saved; the terminals whose programme changed receive it now."))
    query = request.POST.get("q", "").strip()[:50]
    target = reverse("broadcasting:playlist", args=[playlist.pk])
    return redirect(f"{target}?{urlencode({'q': query})}" if query else target)


@authenticated_view
@require_POST
def playlist_delete(request: AuthenticatedHttpRequest, playlist_id: int) -> HttpResponse:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)
    try:
        services.playlist_delete(actor=request.user, playlist=playlist)
    except ApplicationError as error:
        messages.error(request, error.message)
        return _playlist_page(request, playlist, status=error.status_code)
    messages.success(request, _("Playlist deleted."))
    return redirect("broadcasting:playlists")


# ---------------------------------------------------------------------------- what a village hears


@authenticated_view
def effective(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)
    form = EffectiveForm(request.GET if "village" in request.GET else None, initial={"day": local_today()})

    def show(data: dict[str, Any]) -> dict[str, Any]:
        programme = selectors.village_programme(user=request.user, village=data["village"], day=data["day"])
        # Coverage (share of the village's terminals that played an entry) for entries already over.
        coverage = selectors.village_coverage(user=request.user, village=programme.village, day=programme.day)
        now = timezone.now()
        rows = [(entry, coverage.get((entry.slot_id, entry.start)), entry.end <= now) for entry in programme.entries]
        return {"programme": programme, "rows": rows}

    context: dict[str, Any] = {"programme": None, "rows": []}
    return form_round_trip(request, form, show, template="broadcasting/effective.html", context=context)


# ---------------------------------------------------------------------------- playback logs


@authenticated_view
def playlogs(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    """Playback logs per village / terminal, filtered by day and outcome; `?format=csv` exports them."""
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)
    form = PlaylogFilterForm(request.GET or None)
    listing = selectors.playlog_list(user=request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        listing = selectors.playlog_list(
            user=request.user,
            region=data["region"],
            terminal=data["terminal"].strip(),
            day=data["day"],
            outcome=data["outcome"],
        )
    if request.GET.get("format") == "csv":
        return _playlogs_csv(listing)
    context = {"form": form, **paginate(request, listing)}
    # The page names terminals as people do (name and village); the CSV keeps the resource codes.
    logs = context["page_obj"].object_list = list(context["page_obj"].object_list)
    found = {
        t.code: t
        for t in Terminal.objects.filter(code__in={log.terminal_code for log in logs}).select_related("village")
    }
    for log in logs:
        log.terminal_label = terminal_label(found.get(log.terminal_code)) or log.terminal_code
    return render(request, "broadcasting/playlogs.html", context, status=form_status(form))


def _playlogs_csv(listing: Any) -> HttpResponseBase:
    header = [
        _("Terminal"), _("Village"), _("Slot"), _("Item"), _("Title"), _("Scheduled start"), _("Actual start"),
        _("Played (ms)"), _("Outcome"), _("Reason"), _("Document version"),
    ]  # fmt: skip

    # Title and reason are what a terminal sent: the export helper neutralises formula-like cells.
    rows = (
        [
            log.terminal_code, log.village_id, log.slot_id, log.item_id or "", log.title,
            log.scheduled_start.isoformat(), log.started_at.isoformat() if log.started_at else "",
            log.played_ms, log.outcome, log.reason, log.version,
        ]
        for log in listing.iterator(chunk_size=1000)
    )  # fmt: skip
    return csv_streaming_response(filename="ruralcast-playlogs.csv", header=header, rows=rows)


def audio(request: HttpRequest, sha256: str) -> HttpResponseBase:
    """Programme audio by content hash: public (terminals fetch it), immutable, with range requests."""
    if not re.fullmatch(r"[0-9a-f]{64}", sha256):
        raise NotFound(_("No such audio."))
    name = audio_storage_name(sha256)
    if not default_storage.exists(name):
        raise NotFound(_("No such audio."))
    # MP3 because the platform encoded it so (broadcasting.audio), whatever was uploaded.
    return stored_file_response(
        request,
        StoredFile(name=name, content_type="audio/mpeg"),
        cache_control="public, max-age=31536000, immutable",
        etag=f'"{sha256}"',
    )
