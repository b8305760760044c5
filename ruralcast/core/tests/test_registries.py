"""The doors between apps: the figure registry and the portal registry (interfaces only; reporting
reads the first, the villagers' portal of issue 17 will read the second)."""

import datetime
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest
from django.http import HttpRequest, HttpResponse
from django.urls import NoReverseMatch, URLResolver, include, path, reverse
from django.urls.resolvers import RegexPattern

from ruralcast.core.registries import figures, portal
from ruralcast.core.registries.figures import FigureSource, register_figure_source, unregister_figure_source
from ruralcast.core.registries.portal import (
    BarLink,
    Pages,
    Rail,
    Screen,
    Tile,
    TileType,
    bar_links,
    portal_urlpatterns,
    rail_tiles,
    rails,
    register_bar_link,
    register_pages,
    register_rail,
    register_tile_type,
    tile_type,
    unregister_bar_link,
    unregister_rail,
)

DASHIZI = "522632100001"
GUIZHOU = "520000000000"


@pytest.fixture(autouse=True)
def _registries_restored() -> Iterator[None]:
    """Whatever a test registers is gone after it; the apps' own entries stay."""
    registries: list[dict[str, Any]] = [
        figures._SOURCES,
        portal._TILE_TYPES,
        portal._RAILS,
        portal._PAGES,
        portal._BAR_LINKS,
    ]
    saved = [dict(registry) for registry in registries]
    yield
    for registry, entries in zip(registries, saved, strict=True):
        registry.clear()
        registry.update(entries)


def _count(*, region_code: str, start: datetime.date, end: datetime.date) -> int:
    return 7 if region_code == DASHIZI else 0


# ---------------------------------------------------------------------------- figures


def test_a_figure_source_reads_as_a_plain_row_and_by_name() -> None:
    source = register_figure_source("test.count", "计数", "number", "sum", _count)
    code, label, value_type, aggregation, fn = source
    assert (code, label, value_type, aggregation) == ("test.count", "计数", "number", "sum")
    assert source.fn is fn is _count
    assert figures.figure_source("test.count") == source


def test_registering_a_figure_again_replaces_it_and_unregistering_withdraws_it() -> None:
    register_figure_source("test.count", "计数", "number", "sum", _count)
    register_figure_source("test.count", "计数", "number", "last", _count)
    assert figures.figure_sources()["test.count"].aggregation == "last"
    unregister_figure_source("test.count")
    assert figures.figure_source("test.count") is None


@pytest.mark.parametrize(("value_type", "aggregation"), [("text", "sum"), ("number", "median"), ("", "")])
def test_a_figure_of_an_unknown_kind_is_refused_with_what_is_allowed(value_type: str, aggregation: str) -> None:
    with pytest.raises(ValueError, match="must be"):
        register_figure_source("test.bad", "坏", value_type, aggregation, _count)
    assert figures.figure_source("test.bad") is None


def test_figure_rows_from_an_apps_list_register_unchanged() -> None:
    rows = [FigureSource("test.count", "计数", "number", "sum", _count)]
    for row in rows:
        register_figure_source(*row)
    assert figures.figure_sources()["test.count"] == rows[0]


# ---------------------------------------------------------------------------- portal


def _notices(*, screen: Screen, limit: int) -> list[Tile]:
    """A stand-in app's rail: one notice per region level the screen lies in."""
    notices = [Tile(type="test.notice", key=str(n), title=f"通知 {n}") for n in range(5)]
    return notices if screen.region_code == DASHIZI else notices[:1]


NOTICE = TileType("test.notice", "test/notice_tile.html", target=lambda tile: f"/portal/test/notice/{tile.key}/")


def test_rails_come_in_their_order_and_answer_for_the_screens_region() -> None:
    register_tile_type(NOTICE)
    register_rail(Rail("test.notices", "通知", order=30, tiles=_notices))
    register_rail(Rail("test.first", "首页", order=10, tiles=lambda *, screen, limit: []))
    ours = [rail.code for rail in rails() if rail.code.startswith("test.")]
    assert ours == ["test.first", "test.notices"]

    village = rail_tiles(rail=portal._RAILS["test.notices"], screen=Screen(region_code=DASHIZI), limit=3)
    assert [tile.title for tile in village] == ["通知 0", "通知 1", "通知 2"]
    unpaired = rail_tiles(rail=portal._RAILS["test.notices"], screen=Screen(region_code=GUIZHOU))
    assert len(unpaired) == 1


def test_a_tile_type_says_how_it_renders_and_where_ok_takes_the_viewer() -> None:
    register_tile_type(NOTICE)
    registered = tile_type("test.notice")
    assert registered is not None and registered.template == "test/notice_tile.html"
    assert registered.target(Tile(type="test.notice", key="4", title="通知")) == "/portal/test/notice/4/"
    assert tile_type("test.unknown") is None


def test_a_rail_returning_a_tile_nobody_can_draw_fails_where_it_is_made() -> None:
    rail = register_rail(
        Rail(
            "test.broken", "坏", order=1, tiles=lambda *, screen, limit: [Tile(type="test.nothing", key="1", title="?")]
        )
    )
    with pytest.raises(LookupError, match=r"test\.nothing"):
        rail_tiles(rail=rail, screen=Screen(region_code=DASHIZI))


def test_registering_a_rail_again_replaces_it_and_unregistering_removes_it() -> None:
    register_rail(Rail("test.notices", "通知", order=30, tiles=_notices))
    register_rail(Rail("test.notices", "公告", order=5, tiles=_notices))
    assert [rail.title for rail in rails() if rail.code == "test.notices"] == ["公告"]
    unregister_rail("test.notices")
    assert "test.notices" not in {rail.code for rail in rails()}


@pytest.mark.parametrize("code", ["notices", "Test.notices", "test.", "test.notices.extra", "test/notices"])
def test_codes_name_the_app_and_the_thing(code: str) -> None:
    with pytest.raises(ValueError, match=r"<app>\.<name>"):
        register_rail(Rail(code, "?", order=1, tiles=_notices))
    with pytest.raises(ValueError, match=r"<app>\.<name>"):
        register_tile_type(TileType(code, "x.html", target=lambda tile: "/"))


def _notice_page(request: HttpRequest, pk: int) -> HttpResponse:
    return HttpResponse(f"notice {pk}")


def test_an_apps_pages_are_mounted_under_its_prefix_and_namespace(monkeypatch: pytest.MonkeyPatch) -> None:
    register_pages(Pages("test", patterns=[path("notice/<int:pk>/", _notice_page, name="notice")]))
    resolver = URLResolver(RegexPattern(r"^/portal/"), portal_urlpatterns())
    match = resolver.resolve("/portal/test/notice/4/")
    assert (match.func, match.kwargs, match.namespace) == (_notice_page, {"pk": 4}, "portal-test")

    urlconf = ModuleType("portal_test_urls")  # the portal's URL configuration, as it will include them
    urlconf.urlpatterns = [path("portal/", include(portal_urlpatterns()))]  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, urlconf.__name__, urlconf)
    assert reverse("portal-test:notice", args=[4], urlconf=urlconf.__name__) == "/portal/test/notice/4/"
    with pytest.raises(NoReverseMatch):
        reverse("portal-other:notice", args=[4], urlconf=urlconf.__name__)


def test_a_pages_prefix_is_one_url_segment() -> None:
    with pytest.raises(ValueError, match="prefix"):
        register_pages(Pages("Test/pages", patterns=[]))


def test_a_bar_link_is_shown_to_the_screens_its_rule_accepts_in_its_order() -> None:
    for code in list(portal._BAR_LINKS):  # the apps' own links (villagers) are restored after the test
        unregister_bar_link(code)
    register_bar_link(BarLink("test.help", "帮助", url=lambda: "/portal/test/help/", order=20))
    register_bar_link(
        BarLink("test.pair", "配对", url=lambda: "/portal/test/pair/", order=10, shown=lambda screen: not screen.paired)
    )
    unpaired = bar_links(screen=Screen(region_code=GUIZHOU))
    assert [(link.code, link.url()) for link in unpaired] == [
        ("test.pair", "/portal/test/pair/"),
        ("test.help", "/portal/test/help/"),
    ]
    assert [link.code for link in bar_links(screen=Screen(region_code=DASHIZI, paired=True))] == ["test.help"]
    unregister_bar_link("test.help")
    assert bar_links(screen=Screen(region_code=DASHIZI, paired=True)) == []
    with pytest.raises(ValueError, match=r"<app>\.<name>"):
        register_bar_link(BarLink("help", "帮助", url=lambda: "/", order=1))
