"""Reads of the terminal registry, scoped by the reader's `terminal.view` grants."""

import datetime
from dataclasses import dataclass

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet
from django.db.models.functions import Substr
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require, action_prefixes, action_scope_q
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import NotFound, PermissionDenied
from ruralcast.regions.codes import NATIONAL_CODE, PREFIX_LENGTH, Level, pad, subtree_q
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.terminals.models import (
    AckState,
    Command,
    CommandKind,
    CommandTarget,
    EventKind,
    Terminal,
    TerminalEvent,
    TerminalState,
)


def terminals_active() -> QuerySet[Terminal]:
    return Terminal.objects.filter(revoked_at__isnull=True)


def commissioned_q(field: str = "") -> Q:
    """Terminals that have connected at least once: *commissioned*. One imported (or provisioned)
    that never reported is "not commissioned" (未调试): it is counted apart and left out of the online
    rate, alert coverage and the silence rule, since nothing is wrong with a device not yet put up.
    `field` is the path to the terminal from the queried model ("" for Terminal itself)."""
    return Q(**{f"{field}state__last_seen_at__isnull": False})


def commissioned_by(moment: datetime.datetime, *, code_field: str = "code") -> Exists:
    """The same, at a past `moment`: the terminal had come online (its first `online` event)
    before it. Reporting's figures and alert coverage use this one, so a past period is not
    changed by a terminal commissioned later. `code_field`: the outer column holding its code."""
    return Exists(
        TerminalEvent.objects.filter(terminal_code=OuterRef(code_field), kind=EventKind.ONLINE, at__lt=moment)
    )


def terminals_in_regions(*, regions: list[Region]) -> QuerySet[Terminal]:
    """Active terminals whose village lies in the subtree of any of `regions`."""
    if not regions:
        return Terminal.objects.none()
    query = subtree_q(regions[0].prefix, "village_id")
    for region in regions[1:]:
        query |= subtree_q(region.prefix, "village_id")
    return terminals_active().filter(query)


# Filters of the console list and the API ("status").
STATUS_FILTERS = ("online", "offline", "fault", "uncommissioned", "unprovisioned", "revoked")


def terminal_list(
    *,
    user: User,
    action: str = Action.TERMINAL_VIEW,
    query: str = "",
    region: Region | None = None,
    kind: str = "",
    transport: str = "",
    status: str = "",
) -> QuerySet[Terminal]:
    """Terminals in the regions where the user may do `action`, filtered; revoked ones only on request.

    `query`: a code prefix (digits), or part of the name, model or owner station.
    """
    scope = action_scope_q(user=user, action=action, field="village_id")
    if scope is None:
        return Terminal.objects.none()
    terminals = Terminal.objects.filter(scope).select_related("village", "maintainer", "state")
    if region is not None:
        terminals = terminals.filter(subtree_q(region.prefix, "village_id"))
    query = (query or "").strip()
    if query:
        if query.isascii() and query.isdigit():
            terminals = terminals.filter(code__startswith=query)
        else:
            terminals = terminals.filter(
                Q(name__icontains=query) | Q(model__icontains=query) | Q(owner_station__icontains=query)
            )
    if kind:
        terminals = terminals.filter(kind=kind)
    if transport:
        terminals = terminals.filter(transport=transport)
    if status == "revoked":
        return terminals.filter(revoked_at__isnull=False)
    terminals = terminals.filter(revoked_at__isnull=True)
    if status == "online":
        terminals = terminals.filter(state__online=True)
    elif status == "offline":  # commissioned and not online now; the never connected are apart
        terminals = terminals.filter(commissioned_q(), state__online=False)
    elif status == "uncommissioned":
        terminals = terminals.exclude(commissioned_q())
    elif status == "fault":
        terminals = terminals.exclude(state__faults="")
    elif status == "unprovisioned":
        terminals = terminals.filter(broker_password_hash="")
    return terminals.order_by("code")


def access_terminal(*, user: User, code: str, action: str = Action.TERMINAL_VIEW) -> Terminal:
    """A terminal (revoked ones included) in the user's scope for `action`, or NotFound (whether it
    exists elsewhere or not: a neighbour's device codes are not confirmed)."""
    scope = action_scope_q(user=user, action=action, field="village_id")
    terminal = (
        None
        if scope is None
        else Terminal.objects.filter(scope, code=code).select_related("village", "maintainer", "state").first()
    )
    if terminal is None:
        raise NotFound(_("No terminal %(code)s in your regions.") % {"code": code})
    return terminal


# ---------------------------------------------------------------------------- the fleet, live


@dataclass
class RegionRate:
    """Terminals of one region's subtree: how many, how many online, how many with a fault."""

    code: str
    name: str
    total: int = 0
    online: int = 0
    faults: int = 0
    never: int = 0  # never reported since registration: not commissioned (`commissioned_q`)

    @property
    def commissioned(self) -> int:
        return self.total - self.never

    @property
    def offline(self) -> int:
        """Commissioned terminals not online now (the not commissioned are counted apart)."""
        return self.commissioned - self.online

    @property
    def rate(self) -> float | None:
        """Online share of the commissioned terminals, in percent (None without any)."""
        return round(100 * self.online / self.commissioned, 1) if self.commissioned else None


def _child_length(region: Region) -> int:
    return PREFIX_LENGTH[min(region.level + 1, Level.VILLAGE)]


def online_rates(*, region: Region) -> tuple[RegionRate, list[RegionRate]]:
    """The region's online rate and each child region's (one grouped query over the state table).

    Reads `TerminalState` alone (one row per active terminal, index on village code and online):
    a range scan of the subtree grouped by the children's code prefix.
    """
    length = _child_length(region)
    rows = (
        TerminalState.objects.filter(subtree_q(region.prefix, "village_code"))
        .annotate(key=Substr("village_code", 1, length))
        .values("key")
        .annotate(
            total=Count("pk"),
            online=Count("pk", filter=Q(online=True)),
            faults=Count("pk", filter=~Q(faults="")),
            never=Count("pk", filter=Q(last_seen_at__isnull=True)),
        )
        .order_by("key")
    )
    children = [
        RegionRate(
            code=pad(row["key"]),
            name="",
            total=row["total"],
            online=row["online"],
            faults=row["faults"],
            never=row["never"],
        )
        for row in rows
    ]
    names = dict(Region.objects.filter(code__in=[c.code for c in children]).values_list("code", "name"))
    for child in children:
        child.name = names.get(child.code, child.code)
    total = RegionRate(
        code=region.code,
        name=region.name,
        total=sum(c.total for c in children),
        online=sum(c.online for c in children),
        faults=sum(c.faults for c in children),
        never=sum(c.never for c in children),
    )
    if region.level == Level.VILLAGE:
        children = []
    return total, children


def fleet_region(*, user: User, code: str = "") -> Region:
    """The region a fleet page shows: `code` if the user may view terminals there, else the
    user's widest `terminal.view` region."""
    if code:
        region = region_get(code=code)
        access_require(user=user, action=Action.TERMINAL_VIEW, region=region)
        return region
    prefixes = action_prefixes(user=user, action=Action.TERMINAL_VIEW)
    if not prefixes:
        raise PermissionDenied(_("Your roles do not allow viewing terminals in any region."))
    return region_get(code=pad(prefixes[0]) if prefixes[0] else NATIONAL_CODE)


@dataclass
class MapPoint:
    code: str
    name: str
    latitude: float
    longitude: float
    status: str  # online | offline | fault | never


@dataclass
class MapBox:
    code: str
    name: str
    south: float
    north: float
    west: float
    east: float


@dataclass
class FleetMap:
    points: list[MapPoint]
    boxes: list[MapBox]
    without_position: int
    truncated: bool


MAP_POINTS_MAX = 20_000


def fleet_map(*, region: Region, limit: int = MAP_POINTS_MAX) -> FleetMap:
    """Positions and states of the region's terminals, and the bounding box of each child region."""
    terminals = terminals_active().filter(subtree_q(region.prefix, "village_id"))
    placed = terminals.filter(latitude__isnull=False, longitude__isnull=False)
    rows = list(
        placed.values_list(
            "code", "name", "latitude", "longitude", "state__online", "state__faults", "state__last_seen_at"
        ).order_by("code")[: limit + 1]
    )
    points = []
    for code, name, latitude, longitude, online, faults, seen in rows[:limit]:
        assert latitude is not None and longitude is not None
        status = "fault" if faults else "online" if online else "never" if seen is None else "offline"
        points.append(MapPoint(code, name, float(latitude), float(longitude), status))
    boxes = []
    if region.level < Level.VILLAGE:
        grouped = (
            placed.annotate(key=Substr("village_id", 1, _child_length(region)))
            .values("key")
            .annotate(south=Min("latitude"), north=Max("latitude"), west=Min("longitude"), east=Max("longitude"))
            .order_by("key")
        )
        found = list(grouped)
        names = dict(Region.objects.filter(code__in=[pad(g["key"]) for g in found]).values_list("code", "name"))
        boxes = [
            MapBox(
                pad(g["key"]),
                names.get(pad(g["key"]), pad(g["key"])),
                float(g["south"]),
                float(g["north"]),
                float(g["west"]),
                float(g["east"]),
            )
            for g in found
        ]
    return FleetMap(
        points=points,
        boxes=boxes,
        without_position=terminals.count() - placed.count(),
        truncated=len(rows) > limit,
    )


def command_list(*, user: User) -> QuerySet[Command]:
    """Commands sent in the regions where the user may view terminals, newest first.

    A command belongs to the most specific region covering all its targets (`region_code`)."""
    scope = action_scope_q(user=user, action=Action.TERMINAL_VIEW, field="region_code")
    if scope is None:
        return Command.objects.none()
    return Command.objects.filter(scope).select_related("created_by").order_by("-created_at")


def access_command(*, user: User, key: str) -> Command:
    """A command the user may see (`terminal.view` over its region), or NotFound."""
    command = command_list(user=user).filter(key=key).first()
    if command is None:
        raise NotFound(_("No such command."))
    return command


@dataclass(frozen=True)
class VolumeUnreflected:
    """The terminal acknowledged a volume it does not report (yet): `stale` when its last status
    came before the acknowledgement (the next one should say it), otherwise it reports another value."""

    commanded: int
    acknowledged_at: datetime.datetime
    reported: int | None
    stale: bool


def volume_unreflected(*, terminal: Terminal, state: TerminalState | None) -> VolumeUnreflected | None:
    """Whether the terminal page must say that an acknowledged volume command is not reflected in
    the reported volume (issue 16: "60" acknowledged, "80" reported). None when they agree, when no
    volume command was carried out, or when the terminal has no state (revoked)."""
    if state is None:
        return None
    done = (
        CommandTarget.objects.filter(
            terminal_code=terminal.code,
            state=AckState.DONE,
            command__kind__in=[CommandKind.VOLUME, CommandKind.CONFIG],
            command__params__has_key="volume",
            answered_at__isnull=False,
        )
        .select_related("command")
        .order_by("-answered_at")
        .first()
    )
    if done is None or done.answered_at is None:
        return None
    commanded = done.command.params.get("volume")
    if not isinstance(commanded, int) or commanded == state.volume:
        return None
    stale = state.last_seen_at is None or state.last_seen_at < done.answered_at
    return VolumeUnreflected(commanded=commanded, acknowledged_at=done.answered_at, reported=state.volume, stale=stale)


def terminal_command_history(*, terminal: Terminal) -> QuerySet[CommandTarget]:
    """The commands this terminal was sent (alone or with its region), newest first, with its answer."""
    return (
        CommandTarget.objects.filter(terminal_code=terminal.code)
        .select_related("command", "command__created_by")
        .order_by("-command__created_at", "-id")
    )


def terminal_status_history(*, terminal: Terminal) -> QuerySet[TerminalEvent]:
    """Its status changes (online, offline, faults, firmware), newest first."""
    return TerminalEvent.objects.filter(terminal_code=terminal.code).order_by("-at", "-id")
