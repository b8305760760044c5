"""Console pages for daily broadcasting. Thin: forms in, services and selectors, templates out."""

import re
from typing import Any
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_check, access_require, access_require_somewhere, action_prefixes
from ruralcast.accounts.roles import Action
from ruralcast.broadcasting import selectors, services
from ruralcast.broadcasting.audio import audio_storage_name
from ruralcast.broadcasting.forms import (
    EffectiveForm,
    PlaylistEditForm,
    PlaylistForm,
    PlaylogFilterForm,
    ScheduleForm,
    SlotForm,
    SpeechItemForm,
    UploadItemForm,
)
from ruralcast.broadcasting.models import Playlist, Schedule, ScheduleSlot
from ruralcast.broadcasting.programme import local_today, with_content
from ruralcast.core.errors import ApplicationError, NotFound, ValidationError
from ruralcast.core.exports import csv_streaming_response
from ruralcast.core.forms import form_apply_error
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response


def _home_in(request: HttpRequest, action: str) -> str:
    prefixes = action_prefixes(user=request.user, action=action)  # type: ignore[arg-type]
    home = getattr(request.user, "home_region", None)
    if home is not None and any(home.code.startswith(p) for p in prefixes):
        return str(home.code)
    return ""


def _can_manage(request: HttpRequest, schedule: Schedule) -> bool:
    return access_check(user=request.user, action=Action.SCHEDULE_MANAGE, region=schedule.owner_region)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------- schedules


@login_required
def schedule_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)  # type: ignore[arg-type]
    listing = selectors.schedule_list(user=request.user)  # type: ignore[arg-type]
    context = {
        "can_create": bool(action_prefixes(user=request.user, action=Action.SCHEDULE_MANAGE)),  # type: ignore[arg-type]
        **paginate(request, listing),
    }
    return render(request, "broadcasting/schedules.html", context)


@login_required
def schedule_create(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.SCHEDULE_MANAGE)  # type: ignore[arg-type]
    home = _home_in(request, Action.SCHEDULE_MANAGE)
    form = ScheduleForm(request.POST or None, initial={"owner_region": home, "target_region": home})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            schedule = services.schedule_create(
                actor=request.user,  # type: ignore[arg-type]
                owner_region=data["owner_region"],
                target_region=data["target_region"],
                name=data["name"],
                volume=data["volume"],
                active=data["active"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Schedule created. Add its slots."))
            return redirect("broadcasting:schedule", schedule_id=schedule.pk)
    return render(request, "broadcasting/schedule_form.html", {"form": form}, status=400 if form.errors else 200)


@login_required
def schedule_edit(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)  # type: ignore[arg-type]
    services.require_schedule_manage(actor=request.user, schedule=schedule)  # type: ignore[arg-type]
    initial = {
        "owner_region": schedule.owner_region_id,
        "name": schedule.name,
        "target_region": schedule.target_region_id,
        "volume": schedule.volume,
        "active": schedule.active,
    }
    form = ScheduleForm(request.POST or None, initial=initial)
    form.fields["owner_region"].disabled = True
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.schedule_update(
                actor=request.user,  # type: ignore[arg-type]
                schedule=schedule,
                name=data["name"],
                target_region=data["target_region"],
                volume=data["volume"],
                active=data["active"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Schedule saved."))
            return redirect("broadcasting:schedule", schedule_id=schedule.pk)
    context = {"form": form, "schedule": schedule}
    return render(request, "broadcasting/schedule_form.html", context, status=400 if form.errors else 200)


@login_required
def schedule_detail(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)  # type: ignore[arg-type]
    slots = with_content(schedule.slots.all()).order_by("start_time", "id")
    context = {"schedule": schedule, "slots": slots, "can_manage": _can_manage(request, schedule)}
    return render(request, "broadcasting/schedule_detail.html", context)


@login_required
@require_POST
def schedule_delete(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)  # type: ignore[arg-type]
    services.schedule_delete(actor=request.user, schedule=schedule)  # type: ignore[arg-type]
    messages.success(request, _("Schedule deleted."))
    return redirect("broadcasting:schedules")


# ---------------------------------------------------------------------------- slots


def _slot_form(request: HttpRequest, schedule: Schedule, slot: ScheduleSlot | None) -> SlotForm:
    items = selectors.items_for_schedule(user=request.user, schedule=schedule)  # type: ignore[arg-type]
    playlists = selectors.playlists_for_schedule(user=request.user, schedule=schedule)  # type: ignore[arg-type]
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


def _slot_page(request: HttpRequest, schedule: Schedule, slot: ScheduleSlot | None) -> HttpResponse:
    services.require_schedule_manage(actor=request.user, schedule=schedule)  # type: ignore[arg-type]
    form = _slot_form(request, schedule, slot)
    if request.method == "POST" and form.is_valid():
        try:
            if slot is None:
                services.slot_create(actor=request.user, schedule=schedule, fields=form.slot_fields())  # type: ignore[arg-type]
            else:
                services.slot_update(actor=request.user, slot=slot, fields=form.slot_fields())  # type: ignore[arg-type]
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Slot saved; the terminals whose programme changed receive it now."))
            return redirect("broadcasting:schedule", schedule_id=schedule.pk)
    context = {"form": form, "schedule": schedule, "slot": slot}
    return render(request, "broadcasting/slot_form.html", context, status=400 if form.errors else 200)


@login_required
def slot_create(request: HttpRequest, schedule_id: int) -> HttpResponse:
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)  # type: ignore[arg-type]
    return _slot_page(request, schedule, None)


@login_required
def slot_edit(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)  # type: ignore[arg-type]
    return _slot_page(request, slot.schedule, slot)


@login_required
@require_POST
def slot_delete(request: HttpRequest, slot_id: int) -> HttpResponse:
    slot = selectors.access_slot(user=request.user, slot_id=slot_id)  # type: ignore[arg-type]
    schedule_id = slot.schedule_id
    services.slot_delete(actor=request.user, slot=slot)  # type: ignore[arg-type]
    messages.success(request, _("Slot deleted."))
    return redirect("broadcasting:schedule", schedule_id=schedule_id)


@login_required
@require_POST
def slot_check(request: HttpRequest, schedule_id: int) -> HttpResponse:
    """The conflicts of the slot being typed (htmx partial), before anything is saved."""
    schedule = selectors.access_schedule(user=request.user, schedule_id=schedule_id)  # type: ignore[arg-type]
    slot_id = request.POST.get("slot_id", "")
    slot = selectors.access_slot(user=request.user, slot_id=int(slot_id)) if slot_id.isdigit() else None  # type: ignore[arg-type]
    form = _slot_form(request, schedule, slot)
    context: dict[str, object] = {"schedule": schedule, "checked": False}
    if form.is_valid():
        try:
            fields = services.slot_fields_validate(actor=request.user, schedule=schedule, fields=form.slot_fields())  # type: ignore[arg-type]
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


@login_required
def library(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)  # type: ignore[arg-type]
    query = request.GET.get("q", "").strip()[:50]
    listing = selectors.item_list(user=request.user, query=query)  # type: ignore[arg-type]
    context = {
        "query": query,
        "can_add": bool(action_prefixes(user=request.user, action=Action.PROGRAMME_EDIT)),  # type: ignore[arg-type]
        **paginate(request, listing),
    }
    return render(request, "broadcasting/library.html", context)


@login_required
def item_speech(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)  # type: ignore[arg-type]
    form = SpeechItemForm(request.POST or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.programme_item_create_from_text(
                actor=request.user,  # type: ignore[arg-type]
                owner_region=data["owner_region"],
                title=data["title"],
                text=data["text"],
                tags=data["tags"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Item added to the library."))
            return redirect("broadcasting:library")
    context = {"form": form, "heading": _("New item from text")}
    return render(request, "broadcasting/item_form.html", context, status=400 if form.errors else 200)


@login_required
def item_upload(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)  # type: ignore[arg-type]
    form = UploadItemForm(
        request.POST or None, request.FILES or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)}
    )
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.programme_item_create_from_upload(
                actor=request.user,  # type: ignore[arg-type]
                owner_region=data["owner_region"],
                title=data["title"],
                upload=data["audio_file"],
                tags=data["tags"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Item added to the library."))
            return redirect("broadcasting:library")
    context = {"form": form, "heading": _("Upload a recording"), "multipart": True}
    return render(request, "broadcasting/item_form.html", context, status=400 if form.errors else 200)


# ---------------------------------------------------------------------------- playlists


@login_required
def playlist_list(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)  # type: ignore[arg-type]
    query = request.GET.get("q", "").strip()[:50]
    listing = selectors.playlist_list(user=request.user, query=query)  # type: ignore[arg-type]
    context = {
        "query": query,
        "can_add": bool(action_prefixes(user=request.user, action=Action.PROGRAMME_EDIT)),  # type: ignore[arg-type]
        **paginate(request, listing),
    }
    return render(request, "broadcasting/playlists.html", context)


@login_required
def playlist_create(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_EDIT)  # type: ignore[arg-type]
    form = PlaylistForm(request.POST or None, initial={"owner_region": _home_in(request, Action.PROGRAMME_EDIT)})
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            playlist = services.playlist_create(
                actor=request.user,  # type: ignore[arg-type]
                owner_region=data["owner_region"],
                name=data["name"],
                tags=data["tags"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Playlist created. Add its items."))
            return redirect("broadcasting:playlist", playlist_id=playlist.pk)
    context = {"form": form, "playlist": None}
    return render(request, "broadcasting/playlist_form.html", context, status=400 if form.errors else 200)


@login_required
def playlist_edit(request: HttpRequest, playlist_id: int) -> HttpResponse:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)  # type: ignore[arg-type]
    access_require(user=request.user, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)  # type: ignore[arg-type]
    form = PlaylistEditForm(request.POST or None, initial={"name": playlist.name, "tags": ", ".join(playlist.tag_list)})
    if request.method == "POST" and form.is_valid():
        try:
            services.playlist_update(
                actor=request.user,  # type: ignore[arg-type]
                playlist=playlist,
                name=form.cleaned_data["name"],
                tags=form.cleaned_data["tags"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Playlist saved."))
            return redirect("broadcasting:playlist", playlist_id=playlist.pk)
    context = {"form": form, "playlist": playlist}
    return render(request, "broadcasting/playlist_form.html", context, status=400 if form.errors else 200)


def _playlist_page(request: HttpRequest, playlist: Playlist, *, status: int = 200) -> HttpResponse:
    user = request.user
    can_edit = access_check(user=user, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)  # type: ignore[arg-type]
    query = request.GET.get("q", "").strip()[:50]
    candidates = selectors.items_for_playlist(user=user, playlist=playlist, query=query)[:20] if can_edit else []  # type: ignore[arg-type]
    context = {
        "playlist": playlist,
        "rows": playlist.ordered_items(),
        "schedules": selectors.playlist_schedules(user=user, playlist=playlist),  # type: ignore[arg-type]
        "can_edit": can_edit,
        "query": query,
        "candidates": candidates,
    }
    return render(request, "broadcasting/playlist_detail.html", context, status=status)


@login_required
def playlist_detail(request: HttpRequest, playlist_id: int) -> HttpResponse:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)  # type: ignore[arg-type]
    return _playlist_page(request, playlist)


@login_required
@require_POST
def playlist_change(request: HttpRequest, playlist_id: int) -> HttpResponse:
    """One change of the playlist page: `action` add (an `item`), up, down or remove (at `position`)."""
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)  # type: ignore[arg-type]
    action, position = request.POST.get("action", ""), request.POST.get("position", "")
    actor = request.user
    try:
        if action == "add":
            item_id = request.POST.get("item", "")
            if not item_id.isdigit():
                raise ValidationError(_("Choose an item to add."), fields={"item": [_("This field is required.")]})
            item = selectors.access_item(user=actor, item_id=int(item_id))  # type: ignore[arg-type]
            services.playlist_item_add(actor=actor, playlist=playlist, item=item)  # type: ignore[arg-type]
        elif action in ("up", "down", "remove") and position.isdigit():
            if action == "remove":
                services.playlist_item_remove(actor=actor, playlist=playlist, position=int(position))  # type: ignore[arg-type]
            else:
                offset = -1 if action == "up" else 1
                services.playlist_item_move(actor=actor, playlist=playlist, position=int(position), offset=offset)  # type: ignore[arg-type]
        else:
            raise ValidationError(_("Unknown change."), fields={"action": [_("Add, up, down or remove.")]})
    except ApplicationError as error:
        messages.error(request, error.message)
        playlist = selectors.access_playlist(user=actor, playlist_id=playlist_id)  # type: ignore[arg-type]
        return _playlist_page(request, playlist, status=error.status_code)
    messages.success(request, _("Playlist saved; the terminals whose programme changed receive it now."))
    query = request.POST.get("q", "").strip()[:50]
    target = reverse("broadcasting:playlist", args=[playlist.pk])
    return redirect(f"{target}?{urlencode({'q': query})}" if query else target)


@login_required
@require_POST
def playlist_delete(request: HttpRequest, playlist_id: int) -> HttpResponse:
    playlist = selectors.access_playlist(user=request.user, playlist_id=playlist_id)  # type: ignore[arg-type]
    try:
        services.playlist_delete(actor=request.user, playlist=playlist)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, error.message)
        return _playlist_page(request, playlist, status=error.status_code)
    messages.success(request, _("Playlist deleted."))
    return redirect("broadcasting:playlists")


# ---------------------------------------------------------------------------- what a village hears


@login_required
def effective(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)  # type: ignore[arg-type]
    data = request.GET if "village" in request.GET else None
    form = EffectiveForm(data, initial={"day": local_today()})
    programme = None
    if data is not None and form.is_valid():
        try:
            programme = selectors.village_programme(
                user=request.user,  # type: ignore[arg-type]
                village=form.cleaned_data["village"],
                day=form.cleaned_data["day"],
            )
        except ApplicationError as error:
            form_apply_error(form, error)
    rows = []
    if programme is not None:
        # Coverage (share of the village's terminals that played an entry) for entries already over.
        coverage = selectors.village_coverage(
            user=request.user,  # type: ignore[arg-type]
            village=programme.village,
            day=programme.day,
        )
        now = timezone.now()
        rows = [(entry, coverage.get((entry.slot_id, entry.start)), entry.end <= now) for entry in programme.entries]
    context = {"form": form, "programme": programme, "rows": rows}
    return render(request, "broadcasting/effective.html", context, status=400 if form.errors else 200)


# ---------------------------------------------------------------------------- playback logs


@login_required
def playlogs(request: HttpRequest) -> HttpResponseBase:
    """Playback logs per village / terminal, filtered by day and outcome; `?format=csv` exports them."""
    access_require_somewhere(user=request.user, action=Action.PROGRAMME_VIEW)  # type: ignore[arg-type]
    form = PlaylogFilterForm(request.GET or None)
    listing = selectors.playlog_list(user=request.user)  # type: ignore[arg-type]
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        listing = selectors.playlog_list(
            user=request.user,  # type: ignore[arg-type]
            region=data["region"],
            terminal=data["terminal"].strip(),
            day=data["day"],
            outcome=data["outcome"],
        )
    if request.GET.get("format") == "csv":
        return _playlogs_csv(listing)
    context = {"form": form, **paginate(request, listing)}
    return render(request, "broadcasting/playlogs.html", context, status=400 if form.errors else 200)


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
