"""The portal registry: what apps add to the villagers' portal (用电视, issue 17), without the portal
importing them or them importing the portal.

Four things an app registers, from its `AppConfig.ready()`:

- a **tile type**: how one tile of a kind renders (a template given `tile`) and where OK takes the
  viewer (`target(tile)`, a URL, usually one of the app's own portal pages);
- a **rail**: a titled row of tiles on the home screen, computed for the screen's region (its
  paired village, or the deployment's top region for an unpaired screen); `order` places it among
  the other apps' rails;
- **pages**: the URL patterns the app contributes, mounted by the portal under
  `/portal/<prefix>/` in the namespace `portal-<prefix>`;
- **bar links**: a link in the home screen's bar (beside read aloud) to one of the app's pages,
  with a rule saying for which screens it is shown (the villagers app offers "Pair this screen"
  only to a screen that is not paired yet).

    # ruralcast/broadcasting/portal.py
    def today_tiles(*, screen: Screen, limit: int) -> list[Tile]:
        return [Tile(type="broadcasting.programme", key=str(e.pk), title=e.title) for e in ...][:limit]

    TILE_TYPES = [TileType("broadcasting.programme", "broadcasting/portal/tile.html",
                           target=lambda tile: reverse("portal-broadcasting:item", args=[tile.key]))]
    RAILS = [Rail("broadcasting.today", _("Today on the loudspeakers"), order=20, tiles=today_tiles)]
    PAGES = [Pages("broadcasting", patterns=[path("item/<int:pk>/", views.portal_item, name="item")])]

    # ruralcast/broadcasting/apps.py, in ready()
    for tile_type in portal.TILE_TYPES:
        register_tile_type(tile_type)
    ...

The portal reads `rails()`, `rail_tiles(...)`, `tile_type(code)`, `bar_links(screen=...)` and
`portal_urlpatterns()`. Every
screen is driven by five keys (arrows and OK): a tile is one focusable thing with one target. Tile
titles are shown in large type and may be read aloud, so keep them short and in plain words.
"""

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from django.urls import URLPattern, URLResolver, include, path

# "<app>.<name>": the app that registers it, then a name of its own ("media.replays").
_CODE = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
_PREFIX = re.compile(r"^[a-z][a-z0-9-]*$")


@dataclass(frozen=True)
class Screen:
    """The screen a rail is computed for.

    `region_code` is the 12-digit code of the screen's village, or of the deployment's top region
    for an unpaired screen (rails then show province-wide content only); `household` is the paired
    household's id, when the pairing names one; `paired` says whether the screen is paired to a
    village now (a revoked or never-paired screen is not).
    """

    region_code: str
    household: int | None = None
    paired: bool = False


@dataclass(frozen=True)
class Tile:
    """One tile of a rail: a thing the viewer can focus and open with OK.

    `type` names a registered tile type, `key` the item within it (what `target` needs);
    `data` is whatever else the tile type's template shows (a duration, a start time, a picture).
    """

    type: str
    key: str
    title: str
    subtitle: str = ""
    image_url: str = ""
    data: Mapping[str, Any] = field(default_factory=dict)


class RailTiles(Protocol):
    def __call__(self, *, screen: Screen, limit: int) -> Sequence[Tile]: ...


@dataclass(frozen=True)
class TileType:
    """How tiles of one kind render (`template`, given `tile`) and where OK takes the viewer."""

    code: str
    template: str
    target: Callable[[Tile], str]


@dataclass(frozen=True)
class Rail:
    """A titled row of tiles on the home screen; `tiles` answers for one screen, at most `limit`."""

    code: str
    title: Any  # str or lazy translation
    order: int
    tiles: RailTiles


@dataclass(frozen=True)
class Pages:
    """URL patterns an app contributes, mounted under /portal/<prefix>/ as namespace portal-<prefix>."""

    prefix: str
    patterns: Sequence[URLPattern | URLResolver]


def _always(screen: Screen) -> bool:
    return True


@dataclass(frozen=True)
class BarLink:
    """A link in the home screen's bar to one of an app's pages.

    `url()` answers the address (called per request, so it may `reverse` the app's portal pages);
    `shown(screen)` says whether this screen gets the link (by default every screen); `order`
    places it among the other apps' links (ties by code). The label is shown large on a tile of the
    bar, so it is a few plain words.
    """

    code: str
    label: Any  # str or lazy translation
    url: Callable[[], str]
    order: int
    shown: Callable[[Screen], bool] = _always


_TILE_TYPES: dict[str, TileType] = {}
_RAILS: dict[str, Rail] = {}
_PAGES: dict[str, Pages] = {}
_BAR_LINKS: dict[str, BarLink] = {}


def _check_code(kind: str, code: str) -> None:
    if not _CODE.match(code):
        raise ValueError(f"a {kind} code is '<app>.<name>' in lower case, not {code!r}")


def register_tile_type(tile_type: TileType) -> TileType:
    """Say how tiles of `tile_type.code` render and open. Registering a code again replaces it."""
    _check_code("tile type", tile_type.code)
    _TILE_TYPES[tile_type.code] = tile_type
    return tile_type


def register_rail(rail: Rail) -> Rail:
    """Add a rail to the home screen. Registering a code again replaces it."""
    _check_code("rail", rail.code)
    _RAILS[rail.code] = rail
    return rail


def register_pages(pages: Pages) -> Pages:
    """Mount an app's portal pages under /portal/<prefix>/. Registering a prefix again replaces it."""
    if not _PREFIX.match(pages.prefix):
        raise ValueError(f"a pages prefix is a lower-case URL segment such as 'broadcasting', not {pages.prefix!r}")
    _PAGES[pages.prefix] = pages
    return pages


def register_bar_link(link: BarLink) -> BarLink:
    """Add a link to the home screen's bar. Registering a code again replaces it."""
    _check_code("bar link", link.code)
    _BAR_LINKS[link.code] = link
    return link


def unregister_tile_type(code: str) -> None:
    _TILE_TYPES.pop(code, None)


def unregister_rail(code: str) -> None:
    _RAILS.pop(code, None)


def unregister_pages(prefix: str) -> None:
    _PAGES.pop(prefix, None)


def unregister_bar_link(code: str) -> None:
    _BAR_LINKS.pop(code, None)


def tile_type(code: str) -> TileType | None:
    return _TILE_TYPES.get(code)


def rails() -> list[Rail]:
    """The registered rails in their order on the home screen (ties by code)."""
    return sorted(_RAILS.values(), key=lambda rail: (rail.order, rail.code))


def rail_tiles(*, rail: Rail, screen: Screen, limit: int = 12) -> list[Tile]:
    """The rail's tiles for `screen`, at most `limit`.

    Raises LookupError naming the tile type when the rail returns a tile of a type nobody
    registered: a tile the portal cannot draw or open must fail where it is made, not on a screen.
    """
    tiles = list(rail.tiles(screen=screen, limit=limit))[:limit]
    for tile in tiles:
        if tile.type not in _TILE_TYPES:
            raise LookupError(f"rail {rail.code!r} returned a tile of type {tile.type!r}, which is not registered")
    return tiles


def bar_links(*, screen: Screen) -> list[BarLink]:
    """The bar links `screen` is shown, in their order (ties by code)."""
    ordered = sorted(_BAR_LINKS.values(), key=lambda link: (link.order, link.code))
    return [link for link in ordered if link.shown(screen)]


def portal_urlpatterns() -> list[URLResolver]:
    """Every app's portal pages, for the portal's URL configuration: `prefix/` → namespace
    `portal-<prefix>` (reverse("portal-broadcasting:item", args=[…]))."""
    return [
        path(f"{pages.prefix}/", include((list(pages.patterns), f"portal-{pages.prefix}")))
        for pages in sorted(_PAGES.values(), key=lambda pages: pages.prefix)
    ]
