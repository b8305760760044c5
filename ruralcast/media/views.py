"""Console and viewer pages for media. Thin: forms in, services and selectors, templates out.

The file endpoints (`media_file`, `live_file`) check who may watch, then answer with range support
and caching headers (core.ranged); the ingest endpoint takes the studio's HTTP PUTs.
"""

import mimetypes
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.files.storage import default_storage
from django.http import HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.clickjacking import xframe_options_exempt
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, NotFound, PermissionDenied
from ruralcast.core.ranged import ranged_file_response
from ruralcast.media import links, quotas, selectors, services
from ruralcast.media.forms import AssetForm, CatalogueFilter, CollectionForm, LiveForm, UploadForm
from ruralcast.media.models import Access, Asset, LiveEvent, LiveStatus, RenditionKind
from ruralcast.web.forms import form_apply_error
from ruralcast.web.paging import paginate

_PATH = re.compile(r"^[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+){0,3}$")
CONTENT_TYPES = {
    ".m3u8": "application/vnd.apple.mpegurl",
    ".ts": "video/mp2t",
    ".m4a": "audio/mp4",
    ".mp3": "audio/mpeg",
    ".jpg": "image/jpeg",
}


def _user(request: HttpRequest):  # type: ignore[no-untyped-def]
    return request.user if request.user.is_authenticated else None


def _can_edit(request: HttpRequest) -> bool:
    return bool(request.user.is_authenticated and action_prefixes(user=request.user, action=Action.CONTENT_EDIT))  # type: ignore[arg-type]


def playback_key(request: HttpRequest, uid: str, access: str) -> str:
    """The key for this viewer's file URLs: a signed, expiring one unless the asset is public."""
    return uid if access == Access.PUBLIC else links.signed_key(uid)


# ---------------------------------------------------------------------------- catalogue


@login_required
def catalogue(request: HttpRequest) -> HttpResponse:
    form = CatalogueFilter(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    try:
        assets = selectors.asset_catalogue(
            user=_user(request),
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


@login_required
def asset_upload(request: HttpRequest) -> HttpResponse:
    """The upload page: the browser sends the file in chunks to the API (resumable)."""
    access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)  # type: ignore[arg-type]
    home = getattr(request.user, "home_region", None)
    room = quotas.upload_room(user=request.user, region=home)  # type: ignore[arg-type]
    form = UploadForm(initial={"owner_region": home.code if home else ""})
    return render(request, "media/upload.html", {"form": form, "room": room})


def asset_detail(request: HttpRequest, uid: str) -> HttpResponse:
    asset = selectors.access_asset(user=_user(request), uid=uid)
    can_manage = selectors.may_manage(user=_user(request), region_code=asset.owner_region_id)
    form = None
    if can_manage:
        initial = {
            "title": asset.title,
            "description": asset.description,
            "tags": ", ".join(asset.tag_list),
            "language": asset.language,
            "licence": asset.licence,
            "access": asset.access,
        }
        form = AssetForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            try:
                services.asset_update(actor=request.user, asset=asset, fields=form.asset_fields())  # type: ignore[arg-type]
            except ApplicationError as error:
                form_apply_error(form, error)
            else:
                messages.success(request, _("Saved."))
                return redirect("media:detail", uid=asset.uid)
    elif request.method == "POST":
        raise PermissionDenied(_("You may not change this asset."))
    context = {
        "asset": asset,
        "player": _player_context(request, asset),
        "renditions": list(asset.renditions.exclude(kind=RenditionKind.THUMBNAIL)),
        "thumbnails": list(asset.renditions.filter(kind=RenditionKind.THUMBNAIL).order_by("name")),
        "jobs": list(selectors.asset_jobs(asset=asset)[:5]) if can_manage else [],
        "can_manage": can_manage,
        "form": form,
        "embed_url": request.build_absolute_uri(reverse("media:embed", args=[asset.uid])),
    }
    return render(request, "media/detail.html", context, status=400 if form is not None and form.errors else 200)


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
def asset_embed(request: HttpRequest, uid: str) -> HttpResponse:
    """The embeddable player (iframe): only the video, for other sites and the portal."""
    asset = selectors.access_asset(user=_user(request), uid=uid)
    return render(request, "media/embed.html", {"asset": asset, "player": _player_context(request, asset)})


@require_GET
def media_file(request: HttpRequest, key: str, path: str) -> HttpResponseBase:
    """A file of an asset: public ones to anyone; logged-in ones to a session or a signed key;
    region-restricted ones only with a valid, unexpired signed key."""
    uid, signed = links.key_check(key)
    if not _PATH.match(path) or ".." in path:
        raise NotFound(_("No such file."))
    asset = Asset.objects.filter(uid=uid).only("uid", "access", "original_name", "state").first()
    if asset is None:
        raise NotFound(_("No such file."))
    if asset.access == Access.REGION and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    if asset.access == Access.LOGGED_IN and not (signed or request.user.is_authenticated):
        raise PermissionDenied(_("Log in to watch this."))
    if key != uid and not signed:
        raise PermissionDenied(_("This link has expired or is not valid; open the page again for a new one."))
    name = asset.original_name if path == "original" else f"media/{asset.uid}/{path}"
    if not default_storage.exists(name):
        raise NotFound(_("No such file."))
    return _serve(request, name, path, public=asset.access == Access.PUBLIC, playlist=path.endswith(".m3u8"))


def _serve(
    request: HttpRequest, name: str, path: str, *, public: bool, playlist: bool, live: bool = False
) -> HttpResponseBase:
    suffix = "." + path.rsplit(".", 1)[-1] if "." in path else ""
    content_type = CONTENT_TYPES.get(suffix) or mimetypes.guess_type(path)[0] or "application/octet-stream"
    if path == "original":
        content_type = "application/octet-stream"
    if live and playlist:
        cache = "no-cache"
    elif playlist:
        cache = "max-age=60"
    else:
        cache = "max-age=86400"
    cache = ("public, " if public else "private, ") + cache
    response = ranged_file_response(
        request,
        name,
        content_type=content_type,
        cache_control=cache,
        accel_prefix=settings.RURALCAST_MEDIA["ACCEL_REDIRECT_PREFIX"],
        read_whole_below=8 * 1024 * 1024,
    )
    if public:
        response["Access-Control-Allow-Origin"] = "*"
    return response


# ---------------------------------------------------------------------------- jobs


@login_required
@require_GET
def job_status(request: HttpRequest, job_id: int) -> HttpResponse:
    """htmx partial: the job's progress bar; polls itself while the job runs."""
    job = selectors.access_job(user=request.user, job_id=job_id)  # type: ignore[arg-type]
    return render(request, "media/_job.html", {"job": job})


@login_required
@require_POST
def job_retry(request: HttpRequest, job_id: int) -> HttpResponse:
    job = selectors.access_job(user=request.user, job_id=job_id)  # type: ignore[arg-type]
    try:
        job = services.job_retry(actor=request.user, job=job)  # type: ignore[arg-type]
    except ApplicationError as error:
        messages.error(request, error.message)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "media/_job.html", {"job": job})
    if job.asset_id:
        return redirect("media:detail", uid=job.asset.uid)  # type: ignore[union-attr]
    return redirect("media:live_detail", uid=job.live_event.uid)  # type: ignore[union-attr]


# ---------------------------------------------------------------------------- live


@login_required
def live_list(request: HttpRequest) -> HttpResponse:
    events = selectors.live_list(user=_user(request))
    return render(request, "media/live_list.html", {"can_edit": _can_edit(request), **paginate(request, events)})


@login_required
def live_create(request: HttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)  # type: ignore[arg-type]
    home = getattr(request.user, "home_region_id", "") or ""
    form = LiveForm(request.POST or None, initial={"owner_region": home})
    if request.method == "POST" and form.is_valid():
        try:
            event = services.live_create(
                actor=request.user,  # type: ignore[arg-type]
                owner_region=form.cleaned_data["owner_region"],
                fields=form.live_fields(),
            )
        except ApplicationError as error:
            form_apply_error(form, error)
        else:
            messages.success(request, _("Live scheduled. Give the studio the push command below."))
            return redirect("media:live_detail", uid=event.uid)
    return render(request, "media/live_form.html", {"form": form}, status=400 if form.errors else 200)


def ingest_url(request: HttpRequest, event: LiveEvent) -> str:
    return request.build_absolute_uri(
        reverse("media:ingest", kwargs={"uid": event.uid, "secret": event.ingest_secret, "name": "index.m3u8"})
    )


def live_detail(request: HttpRequest, uid: str) -> HttpResponse:
    event = services.live_end_if_idle(event=selectors.access_live(user=_user(request), uid=uid))
    can_manage = selectors.may_manage(user=_user(request), region_code=event.owner_region_id)
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
    event = services.live_end_if_idle(event=selectors.access_live(user=_user(request), uid=uid))
    return render(
        request, "media/_live_status.html", {"event": event, "viewers": selectors.live_viewer_count(event=event)}
    )


@login_required
@require_POST
def live_end(request: HttpRequest, uid: str) -> HttpResponse:
    event = selectors.access_live(user=request.user, uid=uid)  # type: ignore[arg-type]
    try:
        services.live_end(actor=request.user, event=event)  # type: ignore[arg-type]
        messages.success(request, _("The live has ended; its replay is being prepared."))
    except ApplicationError as error:
        messages.error(request, error.message)
    return redirect("media:live_detail", uid=event.uid)


@csrf_exempt
@require_http_methods(["PUT", "POST", "DELETE"])
def ingest(request: HttpRequest, uid: str, secret: str, name: str) -> HttpResponse:
    """The studio's ffmpeg pushes HLS here (`-method PUT`); DELETEs of old segments are ignored so the
    replay keeps the whole broadcast."""
    if request.method == "DELETE":
        return HttpResponse(status=204)
    services.live_ingest(uid=uid, secret=secret, name=name, stream=request)  # type: ignore[arg-type]
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
    return _serve(request, name, path, public=event.access == Access.PUBLIC, playlist=playlist, live=True)


# ---------------------------------------------------------------------------- collections


@login_required
def collection_list(request: HttpRequest) -> HttpResponse:
    form = CollectionForm(request.POST or None)
    if request.method == "POST":
        access_require_somewhere(user=request.user, action=Action.CONTENT_EDIT)  # type: ignore[arg-type]
        if form.is_valid():
            try:
                collection = services.collection_create(
                    actor=request.user,  # type: ignore[arg-type]
                    owner_region=form.cleaned_data["owner_region"],
                    title=form.cleaned_data["title"],
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                )
            except ApplicationError as error:
                form_apply_error(form, error)
            else:
                return redirect("media:collection", uid=collection.uid)
    collections = selectors.collection_list(user=_user(request))
    context = {"form": form, "can_edit": _can_edit(request), **paginate(request, collections)}
    return render(request, "media/collections.html", context, status=400 if form.errors else 200)


@login_required
def collection_detail(request: HttpRequest, uid: str) -> HttpResponse:
    collection = selectors.access_collection(uid=uid, user=_user(request))
    can_manage = selectors.may_manage(user=_user(request), region_code=collection.owner_region_id)
    if request.method == "POST":
        try:
            asset = selectors.access_asset(user=request.user, uid=request.POST.get("asset", ""), manage=True)  # type: ignore[arg-type]
            if request.POST.get("op") == "add":
                services.collection_add(actor=request.user, collection=collection, asset=asset)  # type: ignore[arg-type]
            else:
                position = int(request.POST.get("position", "1") or 1)
                services.collection_move(actor=request.user, collection=collection, asset=asset, position=position)  # type: ignore[arg-type]
        except (ApplicationError, ValueError) as error:
            messages.error(request, getattr(error, "message", str(error)))
        return redirect("media:collection", uid=collection.uid)
    assets = selectors.collection_assets(user=_user(request), collection=collection)
    template = "media/tv.html" if request.GET.get("view") == "tv" else "media/collection_detail.html"
    context = {"collection": collection, "assets": assets, "can_manage": can_manage, "page_obj": None}
    return render(request, template, context)
