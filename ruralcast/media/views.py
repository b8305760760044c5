"""Console and viewer pages for media. Thin: forms in, services and selectors, templates out.

The file endpoints (`media_file`, `live_file`) check who may watch, then answer through core.serving
(the type the platform decided, ranges, caching headers, nginx when it is in front); the ingest
endpoint takes the studio's HTTP PUTs.
"""

import re
from typing import Any

from csp.decorators import csp_replace
from django.contrib import messages
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view, request_user_or_none
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound, PermissionDenied
from ruralcast.core.forms import form_apply_error
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.core.serving import StoredFile, stored_file_response
from ruralcast.media import links, quotas, selectors, services
from ruralcast.media.forms import AssetForm, CatalogueFilter, CollectionForm, LiveForm, UploadForm
from ruralcast.media.models import Access, Asset, JobState, LiveEvent, LiveStatus, RenditionKind
from ruralcast.media.serving import original_file, platform_file

_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,3}$")


def _can_edit(request: HttpRequest) -> bool:
    viewer = request_user_or_none(request)
    return viewer is not None and bool(action_prefixes(user=viewer, action=Action.CONTENT_EDIT))


def playback_key(request: HttpRequest, uid: str, access: str) -> str:
    """The key for this viewer's file URLs: a signed, expiring one unless the asset is public."""
    return uid if access == Access.PUBLIC else links.signed_key(uid)


# ---------------------------------------------------------------------------- catalogue


@authenticated_view
def catalogue(request: AuthenticatedHttpRequest) -> HttpResponse:
    form = CatalogueFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        assets = selectors.asset_catalogue(
            user=request.user,
            query=filters.get("q", ""),
            tag=filters.get("tag", ""),
            region_code=filters.get("region", ""),
            kind=filters.get("kind", ""),
            since=filters.get("since"),
            until=filters.get("until"),
            include_unready=_can_edit(request),
        )
    except ApplicationError as error:
        form_apply_error(form, error)
        assets = Asset.objects.none()
    template = "media/tv.html" if request.GET.get("view") == "tv" else "media/catalogue.html"
    context = {"form": form, "can_edit": _can_edit(request), **paginate(request, assets, per_page=48)}
    for asset in context["page_obj"].object_list:  # posters with this viewer's (signed) key
        if asset.poster_name:
            key = playback_key(request, asset.uid, asset.access)
            asset.poster_url = links.file_url(key, asset.poster_name)
    return render(request, template, context)


@authenticated_view
def asset_upload(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The upload page: the browser sends the file in chunks to the API (resumable)."""
    access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)
    home = getattr(request.user, "home_region", None)
    room = quotas.upload_room(user=request.user, region=home)
    form = UploadForm(initial={"owner_region": home.code if home else ""})
    return render(request, "media/upload.html", {"form": form, "room": room})


def asset_detail(request: HttpRequest, uid: str) -> HttpResponseBase:
    viewer = request_user_or_none(request)
    asset = selectors.access_asset(user=viewer, uid=uid)
    manager = viewer if selectors.may_manage(user=viewer, region_code=asset.owner_region_id) else None
    if manager is None and request.method == "POST":
        raise PermissionDenied(_("You may not change this asset."))
    context = {
        "asset": asset,
        "player": _player_context(request, asset),
        "renditions": list(asset.renditions.exclude(kind=RenditionKind.THUMBNAIL)),
        "thumbnails": list(asset.renditions.filter(kind=RenditionKind.THUMBNAIL).order_by("name")),
        "jobs": list(selectors.asset_jobs(asset=asset)[:5]) if manager is not None else [],
        "can_manage": manager is not None,
        "form": None,
        "embed_url": request.build_absolute_uri(reverse("media:embed", args=[asset.uid])),
    }
    if manager is None:
        return render(request, "media/detail.html", context)
    initial = {
        "title": asset.title,
        "description": asset.description,
        "tags": ", ".join(asset.tag_list),
        "language": asset.language,
        "licence": asset.licence,
        "access": asset.access,
    }
    form = AssetForm(request.POST or None, initial=initial)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.asset_update(actor=manager, asset=asset, fields=form.asset_fields())
        messages.success(request, _("Saved."))
        return redirect("media:detail", uid=asset.uid)

    return form_round_trip(request, form, save, template="media/detail.html", context=context)


def _player_context(request: HttpRequest, asset: Asset) -> dict[str, str]:
    key = playback_key(request, asset.uid, asset.access)
    context = {"key": key}
    if asset.state != "ready":
        return context
    paths = set(asset.renditions.values_list("path", flat=True))
    if "hls/master.m3u8" in paths:
        context["hls"] = links.file_url(key, "hls/master.m3u8")
    if "audio.mp3" in paths:
        context["mp3"] = links.file_url(key, "audio.mp3")
    if asset.poster_name:
        context["poster"] = links.file_url(key, asset.poster_name)
    if asset.kind in ("image", "document"):
        context["original"] = links.file_url(key, "original")
    return context


@xframe_options_exempt
@csp_replace({"frame-ancestors": ["*"]})  # type: ignore[arg-type]  # django-csp types views as (request) only
def asset_embed(request: HttpRequest, uid: str) -> HttpResponse:
    """The embeddable player (iframe): only the video, for other sites and the portal."""
    asset = selectors.access_asset(user=request_user_or_none(request), uid=uid)
    return render(request, "media/embed.html", {"asset": asset, "player": _player_context(request, asset)})


@require_GET
def media_file(request: HttpRequest, key: str, path: str) -> HttpResponseBase:
    """A file of an asset: public ones to anyone; logged-in ones to a session or a signed key;
    region-restricted ones only with a valid, unexpired signed key."""
    uid, signed = links.key_check(key)
    if not _PATH.match(path) or ".." in path:
        raise NotFound(_("No such file."))
    asset = (
        Asset.objects.filter(uid=uid)
        .only("uid", "access", "kind", "original_name", "original_filename", "video_codec", "state")
        .first()
    )
    if asset is None:
        raise NotFound(_("No such file."))
    if asset.access == Access.REGION and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    if asset.access == Access.LOGGED_IN and not (signed or request.user.is_authenticated):
        raise PermissionDenied(_("Log in to watch this."))
    if key != uid and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    stored = original_file(asset) if path == "original" else platform_file(f"media/{asset.uid}/{path}", path)
    if not default_storage.exists(stored.name):
        raise NotFound(_("No such file."))
    return _serve(request, stored, public=asset.access == Access.PUBLIC, playlist=path.endswith(".m3u8"))


def _serve(
    request: HttpRequest, stored: StoredFile, *, public: bool, playlist: bool, live: bool = False
) -> HttpResponseBase:
    if live and playlist:
        cache = "no-cache"
    elif playlist:
        cache = "max-age=60"
    else:
        cache = "max-age=86400"
    cache = ("public, " if public else "private, ") + cache
    response = stored_file_response(request, stored, cache_control=cache, read_whole_below=8 * 1024 * 1024)
    if public:
        response["Access-Control-Allow-Origin"] = "*"
    return response


# ---------------------------------------------------------------------------- jobs


@authenticated_view
@require_GET
def job_status(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    """htmx partial: the job's progress bar; polls itself while the job runs.

    The poll that finds the job finished also swaps the asset page's player and state out of band
    (`media/_job_poll.html`), so the page turns into the player by itself, without a reload."""
    job = selectors.access_job(user=request.user, job_id=job_id)
    context: dict[str, Any] = {"job": job}
    if job.asset is not None and job.state not in (JobState.QUEUED, JobState.RUNNING):
        asset = job.asset
        context.update(asset=asset, player=_player_context(request, asset))
    return render(request, "media/_job_poll.html", context)


@authenticated_view
@require_POST
def job_retry(request: AuthenticatedHttpRequest, job_id: int) -> HttpResponse:
    job = selectors.access_job(user=request.user, job_id=job_id)
    with service_errors_flashed(request):
        job = services.job_retry(actor=request.user, job=job)
    if request.htmx:
        return render(request, "media/_job.html", {"job": job})
    if job.asset_id:
        return redirect("media:detail", uid=job.asset.uid)  # type: ignore[union-attr]
    return redirect("media:live_detail", uid=job.live_event.uid)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- live


@authenticated_view
def live_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    events = selectors.live_list(user=request.user)
    return render(request, "media/live_list.html", {"can_edit": _can_edit(request), **paginate(request, events)})


@authenticated_view
def live_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)
    home = getattr(request.user, "home_region_id", "") or ""
    form = LiveForm(request.POST or None, initial={"owner_region": home})

    def save(data: dict[str, Any]) -> HttpResponse:
        event = services.live_create(actor=request.user, owner_region=data["owner_region"], fields=form.live_fields())
        messages.success(request, _("Live scheduled. Give the studio the push command below."))
        return redirect("media:live_detail", uid=event.uid)

    return form_round_trip(request, form, save, template="media/live_form.html")


def ingest_url(request: HttpRequest, event: LiveEvent) -> str:
    return request.build_absolute_uri(
        reverse("media:ingest", kwargs={"uid": event.uid, "secret": event.ingest_secret, "name": "index.m3u8"})
    )


def live_detail(request: HttpRequest, uid: str) -> HttpResponse:
    viewer = request_user_or_none(request)
    event = services.live_end_if_idle(event=selectors.access_live(user=viewer, uid=uid))
    can_manage = selectors.may_manage(user=viewer, region_code=event.owner_region_id)
    key = playback_key(request, event.uid, event.access)
    context = {
        "event": event,
        "can_manage": can_manage,
        "playlist": links.live_url(key, "index.m3u8"),
        "viewers": selectors.live_viewer_count(event=event),
        "ingest": ingest_url(request, event) if can_manage else "",
        "jobs": list(event.jobs.all()[:3]) if can_manage else [],
    }
    return render(request, "media/live_detail.html", context)


def live_status(request: HttpRequest, uid: str) -> HttpResponse:
    """htmx partial: status and viewer count, polled by the live page."""
    event = services.live_end_if_idle(event=selectors.access_live(user=request_user_or_none(request), uid=uid))
    return render(
        request, "media/_live_status.html", {"event": event, "viewers": selectors.live_viewer_count(event=event)}
    )


@authenticated_view
@require_POST
def live_end(request: AuthenticatedHttpRequest, uid: str) -> HttpResponse:
    event = selectors.access_live(user=request.user, uid=uid)
    with service_errors_flashed(request):
        services.live_end(actor=request.user, event=event)
        messages.success(request, _("The live has ended; its replay is being prepared."))
    return redirect("media:live_detail", uid=event.uid)


@csrf_exempt
@require_http_methods(["PUT", "POST", "DELETE"])
def ingest(request: HttpRequest, uid: str, secret: str, name: str) -> HttpResponse:
    """The studio's ffmpeg pushes HLS here (`-method PUT`); DELETEs of old segments are ignored so the
    replay keeps the whole broadcast."""
    if request.method == "DELETE":
        return HttpResponse(status=204)
    services.live_ingest(uid=uid, secret=secret, name=name, stream=request)  # type: ignore[arg-type]  # a stream, typed IO[bytes]
    return HttpResponse(status=201)


@require_GET
def live_file(request: HttpRequest, key: str, path: str) -> HttpResponseBase:
    uid, signed = links.key_check(key)
    if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}\.(m3u8|ts)", path):
        raise NotFound(_("No such file."))
    event = LiveEvent.objects.filter(uid=uid).first()
    if event is None:
        raise NotFound(_("No such live."))
    if event.access == Access.REGION and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    if event.access == Access.LOGGED_IN and not (signed or request.user.is_authenticated):
        raise PermissionDenied(_("Log in to watch this."))
    if key != uid and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    name = f"{event.folder}/{path}"
    if not default_storage.exists(name):
        raise NotFound(_("The live has not started yet."))
    playlist = path.endswith(".m3u8")
    if playlist and event.status == LiveStatus.LIVE:
        viewer = request.session.session_key if hasattr(request, "session") and request.session.session_key else ""
        viewer = viewer or f"{request.META.get('REMOTE_ADDR', '')}|{request.headers.get('User-Agent', '')[:40]}"
        services.live_viewer_seen(event=event, key=viewer)
    return _serve(
        request, platform_file(name, path), public=event.access == Access.PUBLIC, playlist=playlist, live=True
    )


# ---------------------------------------------------------------------------- collections


@authenticated_view
def collection_list(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    if request.method == "POST":
        access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)
    form = CollectionForm(request.POST or None)

    def save(data: dict[str, Any]) -> HttpResponse:
        collection = services.collection_create(
            actor=request.user,
            owner_region=data["owner_region"],
            title=data["title"],
            kind=data["kind"],
            description=data["description"],
        )
        return redirect("media:collection", uid=collection.uid)

    context = {"can_edit": _can_edit(request), **paginate(request, selectors.collection_list(user=request.user))}
    return form_round_trip(request, form, save, template="media/collections.html", context=context)


@authenticated_view
def collection_detail(request: AuthenticatedHttpRequest, uid: str) -> HttpResponse:
    collection = selectors.access_collection(uid=uid, user=request.user)
    can_manage = selectors.may_manage(user=request.user, region_code=collection.owner_region_id)
    if request.method == "POST":
        try:
            asset = selectors.access_asset(user=request.user, uid=request.POST.get("asset", ""), manage=True)
            if request.POST.get("op") == "add":
                services.collection_add(actor=request.user, collection=collection, asset=asset)
            else:
                position = int(request.POST.get("position", "1") or 1)
                services.collection_move(actor=request.user, collection=collection, asset=asset, position=position)
        except (ApplicationError, ValueError) as error:
            messages.error(request, getattr(error, "message", str(error)))
        return redirect("media:collection", uid=collection.uid)
    assets = selectors.collection_assets(user=request.user, collection=collection)
    template = "media/tv.html" if request.GET.get("view") == "tv" else "media/collection_detail.html"
    context = {"collection": collection, "assets": assets, "can_manage": can_manage, "page_obj": None}
    return render(request, template, context)
