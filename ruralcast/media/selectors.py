"""Reads of media, scoped by the reader.

Watching: public assets to anyone, logged-in ones to any logged-in user, region-restricted ones to
people of the owner region: a user whose home region or any granted region lies in the owner
region's subtree, or whose grant covers the owner region. Managing (the console's media pages, the
jobs) needs `content.edit` over the owner region.
"""

from datetime import date, timedelta

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q, user_scopes
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound
from ruralcast.media.models import (
    Access,
    Asset,
    AssetState,
    Collection,
    Job,
    LiveEvent,
    LiveStatus,
    LiveViewer,
)
from ruralcast.regions.codes import ancestor_codes, level_of_code, subtree_q
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get

VIEWER_WINDOW = timedelta(seconds=30)


def _member_q(user: User, field: str) -> Q:
    """Rows whose region `field` is a region the user belongs to (see module docstring)."""
    codes: set[str] = set()
    query = Q(pk__in=[])
    home = getattr(user, "home_region_id", None)
    for code in [home, *(scope.region_code for scope in user_scopes(user))]:
        if code:
            codes.update(ancestor_codes(code, level_of_code(code)))
            codes.add(code)
    if codes:
        query |= Q(**{f"{field}__in": sorted(codes)})
    for scope in user_scopes(user):
        if not scope.prefix:  # a national grant covers every region (an empty Q would match nothing here)
            return Q(**{f"{field}__isnull": False})
        query |= subtree_q(scope.prefix, field)
    return query


def watch_q(user: User | None, field: str = "owner_region_id") -> Q:
    """Filter on Access + region for what `user` (None: anonymous) may watch."""
    query = Q(access=Access.PUBLIC)
    if user is not None and user.is_authenticated and user.is_active:
        query |= Q(access=Access.LOGGED_IN) | (Q(access=Access.REGION) & _member_q(user, field))
    return query


def may_manage(*, user: User | None, region_code: str) -> bool:
    if user is None or not user.is_authenticated:
        return False
    scope = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="code")
    if scope is None:
        return False

    return Region.objects.filter(scope, code=region_code).exists()


def asset_catalogue(
    *,
    user: User | None,
    query: str = "",
    tag: str = "",
    region_code: str = "",
    kind: str = "",
    since: date | None = None,
    until: date | None = None,
    include_unready: bool = False,
) -> QuerySet[Asset]:
    """Assets the user may watch (ready ones), plus, with include_unready, every asset the user may
    manage whatever its state; filtered by words, tag, region subtree, type and creation date."""
    visible = watch_q(user) & Q(state=AssetState.READY)
    if include_unready and user is not None and user.is_authenticated:
        manage = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="owner_region_id")
        if manage is not None:
            visible |= manage
    assets = Asset.objects.filter(visible).select_related("owner_region")
    if query:
        assets = assets.filter(Q(title__icontains=query) | Q(description__icontains=query) | Q(uid=query))
    if tag:
        assets = assets.filter(tags__icontains=f",{tag.strip()},")
    if region_code:
        region = region_get(code=region_code)
        assets = assets.filter(subtree_q(region.prefix, "owner_region_id"))
    if kind:
        assets = assets.filter(kind=kind)
    if since:
        assets = assets.filter(created_at__date__gte=since)
    if until:
        assets = assets.filter(created_at__date__lte=until)
    return assets.order_by("-created_at")


def access_asset(*, user: User | None, uid: str, manage: bool = False) -> Asset:
    """An asset the user may watch (or, with manage, change), else NotFound."""
    assets = asset_catalogue(user=user, include_unready=True)
    if manage:
        scope = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="owner_region_id") if user else None
        assets = (
            Asset.objects.filter(scope).select_related("owner_region") if scope is not None else Asset.objects.none()
        )
    asset = assets.filter(uid=uid).first()
    if asset is None:
        raise NotFound(_("No media asset %(uid)s that you may see.") % {"uid": uid})
    return asset


def asset_jobs(*, asset: Asset) -> QuerySet[Job]:
    return Job.objects.filter(asset=asset).order_by("-created_at")


def job_list(*, user: User) -> QuerySet[Job]:
    scope = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="asset__owner_region_id")
    live_scope = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="live_event__owner_region_id")
    if scope is None or live_scope is None:
        return Job.objects.none()
    return Job.objects.filter(scope | live_scope).select_related("asset", "live_event").order_by("-created_at")


def access_job(*, user: User, job_id: int) -> Job:
    job = job_list(user=user).filter(pk=job_id).first()
    if job is None:
        raise NotFound(_("No such job in your regions."))
    return job


def live_list(*, user: User | None) -> QuerySet[LiveEvent]:
    """Lives the user may watch (region-restricted ones: people of one of its audience regions)
    or manage."""
    visible = watch_q(user, field="audience")
    if user is not None and user.is_authenticated:
        manage = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="owner_region_id")
        if manage is not None:
            visible |= manage
    ids = LiveEvent.objects.filter(visible).values("pk")
    return LiveEvent.objects.filter(pk__in=ids).select_related("owner_region", "replay").order_by("-starts_at")


def access_live(*, user: User | None, uid: str) -> LiveEvent:
    event = live_list(user=user).filter(uid=uid).first()
    if event is None:
        raise NotFound(_("No live %(uid)s that you may see.") % {"uid": uid})
    return event


def live_viewer_count(*, event: LiveEvent) -> int:
    if event.status != LiveStatus.LIVE:
        return 0
    return LiveViewer.objects.filter(event=event, last_seen__gte=timezone.now() - VIEWER_WINDOW).count()


def _collections_visible(user: User | None) -> QuerySet[Collection]:
    """Collections a user may see: those holding an asset the user may watch, and those owned
    where the user edits content (to fill a new, still empty one). Others are not even named."""
    visible = Q(items__asset__in=asset_catalogue(user=user).values("pk"))
    if user is not None and user.is_authenticated:
        manage = action_scope_q(user=user, action=Action.CONTENT_EDIT, field="owner_region_id")
        if manage is not None:
            visible |= manage
    return Collection.objects.filter(pk__in=Collection.objects.filter(visible).values("pk"))


def collection_list(*, user: User | None) -> QuerySet[Collection]:
    return _collections_visible(user).select_related("owner_region").annotate(size=Count("items")).order_by("title")


def access_collection(*, uid: str, user: User | None) -> Collection:
    collection = _collections_visible(user).select_related("owner_region").filter(uid=uid).first()
    if collection is None:
        raise NotFound(_("No such collection."))
    return collection


def collection_assets(*, user: User | None, collection: Collection) -> list[Asset]:
    """The collection's assets in order, only those the user may watch."""
    visible = set(
        asset_catalogue(user=user).filter(pk__in=collection.items.values("asset")).values_list("pk", flat=True)
    )
    return [
        item.asset
        for item in collection.items.select_related("asset", "asset__owner_region")
        if item.asset_id in visible
    ]
