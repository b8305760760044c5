"""Designation lists imported from CSV: matching rows to regions, reporting the rest, scope and safety."""

from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.regions.models import Designation, DesignationMember
from ruralcast.regions.selectors import designation_regions
from ruralcast.regions.services import (
    DesignationImportReport,
    designation_csv_parse,
    designation_delete,
    designation_import,
)
from ruralcast.regions.tests.division_csv import codes_named

pytestmark = pytest.mark.django_db


@contextmanager
def nothing_written() -> Iterator[None]:
    counts = (Designation.objects.count(), DesignationMember.objects.count(), AuditEvent.objects.count())
    yield
    assert (Designation.objects.count(), DesignationMember.objects.count(), AuditEvent.objects.count()) == counts


def member_codes(key: str) -> set[str]:
    return set(designation_regions(designation=Designation.objects.get(key=key)).values_list("code", flat=True))


def problems_by_line(report: DesignationImportReport) -> dict[int, str]:
    return {row.line: row.problem for row in report.unmatched}


# ---------------------------------------------------------------------------- matching


def test_import_by_codes_creates_the_list(platform_admin: User) -> None:
    report = designation_import(
        actor=platform_admin,
        key="poverty-county-2014",
        name="国家扶贫开发工作重点县",
        csv_text="code\n522632000000\n522633000000\n",
        source="国务院扶贫办 2014",
    )
    assert report.written
    assert [(r.region_code, r.region_name) for r in report.matched] == [
        ("522632000000", "榕江县"),
        ("522633000000", "从江县"),
    ]
    assert member_codes("poverty-county-2014") == {"522632000000", "522633000000"}
    designation = Designation.objects.get(key="poverty-county-2014")
    assert (designation.name, designation.source, designation.created_by) == (
        "国家扶贫开发工作重点县",
        "国务院扶贫办 2014",
        platform_admin,
    )


def test_short_codes_are_padded_to_twelve_digits(platform_admin: User) -> None:
    report = designation_csv_parse(csv_text="code\n522632\n522632100\n")
    assert [r.region_code for r in report.matched] == ["522632000000", "522632100000"]


def test_header_case_spaces_and_a_byte_order_mark_are_tolerated(platform_admin: User) -> None:
    report = designation_csv_parse(csv_text="\ufeff CODE ,note\n 522632000000 ,中文备注\n")
    assert [r.region_code for r in report.matched] == ["522632000000"]


def test_import_by_names_with_parent_columns(platform_admin: User) -> None:
    report = designation_csv_parse(csv_text="name,province,county\n榕江县,贵州,\n古州镇,贵州省,榕江县\n")
    assert [r.region_code for r in report.matched] == ["522632000000", "522632100000"]
    assert report.unmatched == []


def test_a_parent_column_resolves_an_otherwise_ambiguous_name(platform_admin: User) -> None:
    longchang = codes_named("龙场镇", prefix="52")
    assert len(longchang) > 1  # several townships in Guizhou carry this name
    report = designation_csv_parse(csv_text="name,county\n龙场镇,织金县\n")
    [row] = report.matched
    assert row.region_code[:9] in longchang
    assert row.region_code.startswith("520524")  # 织金县


def test_unmatched_rows_are_reported_with_their_line_and_reason(english: None, platform_admin: User) -> None:
    ambiguous = codes_named("龙场镇", prefix="52")
    csv_text = (
        "code,name\n"
        "522632000000,\n"  # line 2: fine
        "52263X,\n"  # line 3: not a code
        "5226320000001,\n"  # line 4: too long
        "529999000000,\n"  # line 5: well-formed, no such region
        ",不存在县\n"  # line 6: unknown name
        ",龙场镇\n"  # line 7: ambiguous name
        ",\n"  # line 8: neither
        ",从江县\n"  # line 9: fine
    )
    report = designation_csv_parse(csv_text=csv_text)

    assert [(r.line, r.region_code) for r in report.matched] == [(2, "522632000000"), (9, "522633000000")]
    problems = problems_by_line(report)
    assert sorted(problems) == [3, 4, 5, 6, 7, 8]
    assert "not a division code" in problems[3]
    assert "not a division code" in problems[4]
    assert "No region has code 529999000000" in problems[5]
    assert "No region named “不存在县”" in problems[6]
    assert "ambiguous" in problems[7]
    assert f"{len(ambiguous)} regions" in problems[7]
    assert "neither a code nor a name" in problems[8]


def test_an_unknown_name_under_given_parents_says_where_it_looked(english: None, platform_admin: User) -> None:
    report = designation_csv_parse(csv_text="name,county\n古州镇,从江县\n")
    [row] = report.unmatched
    assert "under 从江县" in row.problem


def test_the_import_writes_matched_rows_and_reports_the_others(platform_admin: User) -> None:
    report = designation_import(
        actor=platform_admin, key="partial", name="部分匹配", csv_text="code\n522632000000\n529999000000\n"
    )
    assert report.written
    assert (len(report.matched), len(report.unmatched)) == (1, 1)
    assert member_codes("partial") == {"522632000000"}


# ---------------------------------------------------------------------------- unusable files


@pytest.mark.parametrize(
    "csv_text",
    [
        "",  # empty
        "   \n\n",  # blank
        "\ufeff",  # only a byte order mark
        "county_code,label\n522632000000,榕江县\n",  # no code or name column
        "522632000000\n522633000000\n",  # no header row: the first code is taken as the header
        "code\n" + "1" * 200_000 + "\n",  # a field beyond the csv module's limit
    ],
    ids=["empty", "blank", "bom-only", "wrong-header", "no-header", "huge-field"],
)
def test_an_unusable_file_is_refused_and_nothing_written(platform_admin: User, csv_text: str) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        designation_import(actor=platform_admin, key="broken", name="坏文件", csv_text=csv_text)
    assert "file" in caught.value.fields


def test_a_file_where_no_row_matches_is_refused_and_nothing_written(platform_admin: User) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        designation_import(actor=platform_admin, key="nothing", name="无匹配", csv_text="code\n529999000000\n")
    assert "file" in caught.value.fields


def test_a_header_only_file_is_refused_and_nothing_written(platform_admin: User) -> None:
    with nothing_written(), pytest.raises(ValidationError):
        designation_import(actor=platform_admin, key="header-only", name="只有表头", csv_text="code\n")


@pytest.mark.parametrize("key", ["", "  ", "has space", "中文键", "semi;colon"])
def test_a_bad_key_is_refused(platform_admin: User, key: str) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        designation_import(actor=platform_admin, key=key, name="名单", csv_text="code\n522632000000\n")
    assert "key" in caught.value.fields


def test_a_missing_name_is_refused(platform_admin: User) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        designation_import(actor=platform_admin, key="nameless", name="  ", csv_text="code\n522632000000\n")
    assert "name" in caught.value.fields


# ---------------------------------------------------------------------------- dry run, duplicates, replace


def test_a_dry_run_reports_but_writes_nothing(platform_admin: User) -> None:
    with nothing_written():
        report = designation_import(
            actor=platform_admin,
            key="trial",
            name="试运行",
            csv_text="code\n522632000000\n529999000000\n",
            dry_run=True,
        )
    assert not report.written
    assert [r.region_code for r in report.matched] == ["522632000000"]
    assert len(report.unmatched) == 1


def test_an_existing_key_is_a_conflict_without_replace(platform_admin: User) -> None:
    designation_import(actor=platform_admin, key="taken", name="原名单", csv_text="code\n522632000000\n")
    with nothing_written(), pytest.raises(Conflict) as caught:
        designation_import(actor=platform_admin, key="taken", name="新名单", csv_text="code\n522633000000\n")
    assert "key" in caught.value.fields
    assert member_codes("taken") == {"522632000000"}


def test_replace_refills_an_existing_list_and_records_what_it_held(platform_admin: User) -> None:
    designation_import(actor=platform_admin, key="refill", name="原名单", csv_text="code\n522632000000\n")
    designation_import(actor=platform_admin, key="refill", name="新名单", csv_text="code\n522633000000\n", replace=True)
    assert member_codes("refill") == {"522633000000"}
    assert Designation.objects.get(key="refill").name == "新名单"
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    assert (event.verb, event.before) == ("designation.replace", {"regions": ["522632000000"]})


def test_a_row_repeated_in_the_file_becomes_one_member(platform_admin: User) -> None:
    designation_import(
        actor=platform_admin, key="twice", name="重复行", csv_text="code,name\n522632000000,\n,榕江县\n522632,\n"
    )
    assert member_codes("twice") == {"522632000000"}


# ---------------------------------------------------------------------------- scope


def test_county_bureau_admin_designates_regions_in_the_county(county_bureau_admin: User) -> None:
    report = designation_import(
        actor=county_bureau_admin, key="rongjiang-key-villages", name="重点村", csv_text="code\n522632100001\n"
    )
    assert report.written


@pytest.mark.parametrize("dry_run", [False, True])
def test_county_bureau_admin_cannot_designate_a_region_outside_the_county(
    county_bureau_admin: User, dry_run: bool
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        designation_import(
            actor=county_bureau_admin,
            key="overreach",
            name="越权",
            csv_text="code\n522632000000\n522633000000\n",
            dry_run=dry_run,
        )


def test_station_operator_cannot_designate_even_in_own_county(county_station_operator: User) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        designation_import(actor=county_station_operator, key="mine", name="我的", csv_text="code\n522632000000\n")


def test_replace_also_needs_scope_over_the_new_regions(
    county_bureau_admin: User, neighbour_county_bureau_admin: User
) -> None:
    designation_import(actor=county_bureau_admin, key="shared", name="共享", csv_text="code\n522632000000\n")
    with nothing_written(), pytest.raises(PermissionDenied):
        designation_import(
            actor=neighbour_county_bureau_admin,
            key="shared",
            name="共享",
            csv_text="code\n522632100000\n",
            replace=True,
        )


def test_designation_delete_needs_scope_over_every_member(
    county_bureau_admin: User, neighbour_county_bureau_admin: User
) -> None:
    designation_import(actor=county_bureau_admin, key="ours", name="我们的", csv_text="code\n522632000000\n")
    designation = Designation.objects.get(key="ours")
    with nothing_written(), pytest.raises(PermissionDenied):
        designation_delete(actor=neighbour_county_bureau_admin, designation=designation)
    designation_delete(actor=county_bureau_admin, designation=designation)
    assert not Designation.objects.filter(key="ours").exists()
    assert not DesignationMember.objects.filter(region_id="522632000000").exists()


def test_replacing_a_list_keeps_the_members_outside_the_callers_scope(
    province_bureau_admin: User, county_bureau_admin: User
) -> None:
    """A county administrator refilling a provincial list changes only the county's entries (audit item 15)."""
    designation_import(
        actor=province_bureau_admin, key="provincial", name="省级名单", csv_text="code\n522632000000\n522633000000\n"
    )
    designation_import(
        actor=county_bureau_admin, key="provincial", name="省级名单", csv_text="code\n522632100000\n", replace=True
    )
    # 从江县 (522633) lies outside 榕江县's administrator's scope: it stays; 榕江县 itself is replaced.
    assert member_codes("provincial") == {"522633000000", "522632100000"}
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None and event.after is not None
    assert event.after["regions"] == ["522632100000", "522633000000"]
