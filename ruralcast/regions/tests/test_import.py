"""Importing the division tree, and reading it: lookup, subtrees by code range, ancestors, search.

Expected numbers and names come from the CSV files read line by line (division_csv), never from
the importer under test.
"""

import lzma
from pathlib import Path

import pytest

from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import NotFound, ValidationError
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import (
    region_ancestors,
    region_children,
    region_get,
    region_path_label,
    region_search,
    region_subtree,
)
from ruralcast.regions.services import regions_import
from ruralcast.regions.tests.division_csv import FILES, name_of, rows_by_file, rows_under

pytestmark = pytest.mark.django_db

LEVEL_OF_FILE = {
    "provinces.csv": Level.PROVINCE,
    "cities.csv": Level.CITY,
    "areas.csv": Level.COUNTY,
    "streets.csv": Level.TOWNSHIP,
    "villages.csv.xz": Level.VILLAGE,
}


# ---------------------------------------------------------------------------- import


@pytest.mark.slow
def test_importing_guizhou_again_changes_nothing(national: Region) -> None:
    # The session already imported Guizhou into this test database: this is the second run.
    before = Region.objects.count()
    expected = {str(LEVEL_OF_FILE[name]): count for name, count in rows_by_file("52").items()}
    expected[str(Level.NATIONAL)] = 1

    counts = regions_import(province="52")

    assert counts.by_level == expected
    assert Region.objects.count() == before == 1 + sum(rows_by_file("52").values())
    for name, count in rows_by_file("52").items():
        assert Region.objects.filter(level=LEVEL_OF_FILE[name]).count() == count


def test_the_imported_tree_has_parents_levels_and_pinyin(rongjiang: Region, guzhou: Region, dashizi: Region) -> None:
    assert (rongjiang.name, rongjiang.level, rongjiang.parent_id) == ("榕江县", Level.COUNTY, "522600000000")
    assert (rongjiang.pinyin, rongjiang.initials) == ("rongjiangxian", "rjx")
    assert (guzhou.level, guzhou.parent_id) == (Level.TOWNSHIP, rongjiang.code)
    assert (dashizi.name, dashizi.level, dashizi.parent_id) == (name_of("522632100001"), Level.VILLAGE, guzhou.code)
    assert region_get(code="520000000000").parent_id == "000000000000"
    assert region_get(code="000000000000").parent_id is None


def test_every_imported_region_but_the_root_has_its_parent_in_the_tree(db: None) -> None:
    orphans = Region.objects.exclude(code="000000000000").filter(parent__isnull=True)
    assert not orphans.exists()
    parent_codes = set(Region.objects.values_list("parent_id", flat=True).distinct()) - {None}
    assert parent_codes <= set(Region.objects.filter(code__in=parent_codes).values_list("code", flat=True))


@pytest.mark.parametrize("province", ["99", "5", "520", "", "guizhou"])
def test_an_unknown_province_code_is_refused_and_nothing_written(db: None, province: str) -> None:
    regions, events = Region.objects.count(), AuditEvent.objects.count()
    with pytest.raises(ValidationError) as caught:
        regions_import(province=province)
    assert "province" in caught.value.fields
    assert (Region.objects.count(), AuditEvent.objects.count()) == (regions, events)


def write_division_files(directory: Path, *, county_name: str) -> Path:
    """A miniature province 99 in the same file layout as data/divisions."""
    files = {
        "provinces.csv": 'code,name\n99,"测试省"\n',
        "cities.csv": 'code,name,provinceCode\n9901,"测试市",99\n',
        "areas.csv": f'code,name,cityCode,provinceCode\n990101,"{county_name}",9901,99\n',
        "streets.csv": 'code,name,areaCode,provinceCode,cityCode\n990101100,"测试镇",990101,99,9901\n',
    }
    for name, text in files.items():
        (directory / name).write_text(text, encoding="utf-8")
    villages = (
        "code,name,streetCode,provinceCode,cityCode,areaCode\n"
        '990101100001,"测试村",990101100,99,9901,990101\n'
        '990101100002,"第二村",990101100,99,9901,990101\n'
    )
    with lzma.open(directory / "villages.csv.xz", "wt", encoding="utf-8") as handle:
        handle.write(villages)
    return directory


def test_a_later_edition_renames_regions_in_place(db: None, tmp_path: Path) -> None:
    regions_import(province="99", data_dir=write_division_files(tmp_path, county_name="旧县"))
    total = Region.objects.count()

    counts = regions_import(province="99", data_dir=write_division_files(tmp_path, county_name="新县"))

    county = region_get(code="990101000000")
    assert (county.name, county.pinyin, county.initials) == ("新县", "xinxian", "xx")
    assert Region.objects.count() == total
    assert counts.by_level == {"0": 1, "1": 1, "2": 1, "3": 1, "4": 1, "5": 2}  # the root, then one row per file line
    assert region_get(code="990101100002").parent_id == "990101100000"


def test_the_import_is_audited(db: None, tmp_path: Path) -> None:
    regions_import(province="99", data_dir=write_division_files(tmp_path, county_name="测试县"))
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.verb, event.actor_id, event.region_code) == ("regions.import", None, "990000000000")
    assert event.after is not None
    assert (event.after["province"], event.after["total"]) == ("99", 7)


# ---------------------------------------------------------------------------- lookup and subtrees


@pytest.mark.parametrize("code", ["52263", "5226320000000", "52263200000a", "５２２６３２００００００", "", "   "])
def test_a_malformed_region_code_is_a_validation_error(db: None, code: str) -> None:
    with pytest.raises(ValidationError) as caught:
        region_get(code=code)
    assert "region" in caught.value.fields


def test_an_unknown_region_code_is_not_found(db: None) -> None:
    with pytest.raises(NotFound):
        region_get(code="529999000000")


def test_region_get_tolerates_surrounding_spaces(rongjiang: Region) -> None:
    assert region_get(code=" 522632000000 ") == rongjiang


@pytest.mark.parametrize("short_code", ["52", "5226", "522632", "522632100", "522632100001"])
def test_region_subtree_counts_match_the_csv_files(db: None, short_code: str) -> None:
    region = region_get(code=short_code.ljust(12, "0"))
    assert region_subtree(region=region).count() == rows_under(short_code)


def test_the_county_subtree_holds_its_townships_and_villages_and_nothing_else(rongjiang: Region) -> None:
    by_file = rows_by_file("522632")
    subtree = region_subtree(region=rongjiang)
    assert subtree.filter(level=Level.TOWNSHIP).count() == by_file["streets.csv"]
    assert subtree.filter(level=Level.VILLAGE).count() == by_file["villages.csv.xz"]
    assert not subtree.exclude(code__startswith="522632").exists()
    assert not subtree.filter(code__startswith="522633").exists()


def test_the_national_subtree_is_every_region(national: Region) -> None:
    assert region_subtree(region=national).count() == Region.objects.count()


def test_region_children_are_the_townships_of_a_county(rongjiang: Region) -> None:
    children = list(region_children(region=rongjiang))
    assert len(children) == rows_by_file("522632")["streets.csv"]
    assert {c.level for c in children} == {Level.TOWNSHIP}
    assert [c.code for c in children] == sorted(c.code for c in children)


def test_region_ancestors_run_from_the_root_to_the_parent(dashizi: Region) -> None:
    ancestors = region_ancestors(region=dashizi)
    assert [a.code for a in ancestors] == [
        "000000000000",
        "520000000000",
        "522600000000",
        "522632000000",
        "522632100000",
    ]


def test_region_path_label_names_each_level_from_the_province(rongjiang: Region) -> None:
    assert region_path_label(region=rongjiang) == " / ".join([name_of("52"), name_of("5226"), "榕江县"])


def test_region_ancestors_cost_one_query(dashizi: Region, django_assert_num_queries: object) -> None:
    with django_assert_num_queries(1):  # type: ignore[operator]
        region_ancestors(region=dashizi)


# ---------------------------------------------------------------------------- search


def codes(regions: list[Region]) -> list[str]:
    return [r.code for r in regions]


def test_search_by_chinese_name_puts_the_county_first(rongjiang: Region) -> None:
    results = region_search(query="榕江")
    assert results[0] == rongjiang
    assert all("榕江" in r.name for r in results)


def test_search_by_code_prefix_finds_the_subtree_from_the_top(rongjiang: Region) -> None:
    results = region_search(query="522632", limit=100)
    assert results[0] == rongjiang
    assert all(r.code.startswith("522632") for r in results)
    assert [r.level for r in results] == sorted(r.level for r in results)


@pytest.mark.parametrize("query", ["rongjiang", "RongJiang", "rong jiang", "rongjiangxian"])
def test_search_by_full_pinyin_finds_rongjiang(rongjiang: Region, query: str) -> None:
    assert rongjiang in region_search(query=query)


@pytest.mark.parametrize("query", ["rjx", "RJX"])
def test_search_by_pinyin_initials_finds_rongjiang(rongjiang: Region, query: str) -> None:
    results = region_search(query=query, limit=100)
    assert rongjiang in results
    assert all(r.initials.startswith("rjx") or r.pinyin.startswith("rjx") for r in results)


def test_search_within_a_region_stays_inside_it(rongjiang: Region, congjiang: Region, guzhou: Region) -> None:
    assert guzhou in region_search(query="古州", within=rongjiang)
    assert region_search(query="古州", within=congjiang) == []


def test_search_respects_the_limit(db: None) -> None:
    assert len(region_search(query="52", limit=7)) == 7


@pytest.mark.parametrize("query", ["", "   ", "5226320000001", "zzzzqqq", "不存在的地方"])
def test_search_for_nothing_or_nonsense_finds_nothing(db: None, query: str) -> None:
    assert region_search(query=query) == []


def test_every_csv_file_is_covered(db: None) -> None:
    # Guards the hand-written mapping above against a new file appearing in data/divisions.
    assert set(LEVEL_OF_FILE) == set(FILES)
