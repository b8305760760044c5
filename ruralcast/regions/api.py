"""Regions API: lookup, children, search for pickers, designations."""

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.regions import selectors
from ruralcast.regions.models import Designation, Region
from ruralcast.regions.services import DesignationImportReport, designation_import

router = Router(tags=["regions"])
designations_router = Router(tags=["designations"])


class RegionOut(Schema):
    code: str
    name: str
    level: int
    level_name: str = Field(..., alias="get_level_display")
    parent_code: str | None = Field(None, alias="parent_id")


class RegionDetailOut(RegionOut):
    path: str
    ancestors: list[RegionOut]


class RegionSearchQuery(Schema):
    q: str = Field("", max_length=50, description="Code prefix, Chinese name part, pinyin or initials.")
    within: str | None = Field(None, max_length=12, description="Only regions inside this 12-digit code.")
    limit: int = Field(20, ge=1, le=100)


@router.get("/search", response=list[RegionOut], summary="Search regions (picker)")
def region_search(request: AuthenticatedHttpRequest, params: Query[RegionSearchQuery]) -> list[Region]:
    within = selectors.region_get(code=params.within) if params.within else None
    return selectors.region_search(query=params.q, within=within, limit=params.limit)


@router.get("/{code}", response=RegionDetailOut, summary="One region with its ancestors")
def region_detail(request: AuthenticatedHttpRequest, code: str) -> dict[str, object]:
    region = selectors.region_get(code=code)
    return {
        "code": region.code,
        "name": region.name,
        "level": region.level,
        "get_level_display": region.get_level_display(),
        "parent_id": region.parent_id,
        "path": selectors.region_path_label(region=region),
        "ancestors": selectors.region_ancestors(region=region),
    }


@router.get("/{code}/children", response=list[RegionOut], summary="Direct children of a region")
@paginate
def region_children(request: AuthenticatedHttpRequest, code: str) -> object:
    return selectors.region_children(region=selectors.region_get(code=code))


class DesignationOut(Schema):
    key: str
    name: str
    description: str
    source: str
    region_count: int


class DesignationDetailOut(DesignationOut):
    regions: list[RegionOut]


def _designation_out(designation: Designation) -> dict[str, object]:
    return {
        "key": designation.key,
        "name": designation.name,
        "description": designation.description,
        "source": designation.source,
        "region_count": designation.members.count(),
    }


@designations_router.get("/", response=list[DesignationOut], summary="Designation lists")
def designation_list(request: AuthenticatedHttpRequest) -> list[dict[str, object]]:
    return [_designation_out(d) for d in selectors.designation_list()]


@designations_router.get("/{key}", response=DesignationDetailOut, summary="One designation with its regions")
def designation_detail(request: AuthenticatedHttpRequest, key: str) -> dict[str, object]:
    designation = selectors.designation_get(key=key)
    return {**_designation_out(designation), "regions": list(selectors.designation_regions(designation=designation))}


class DesignationImportIn(Schema):
    key: str = Field(..., max_length=80)
    name: str = Field(..., max_length=200)
    description: str = ""
    source: str = ""
    csv: str = Field(..., description="CSV text: a `code` column, or `name` with parent-name columns.")
    dry_run: bool = False
    replace: bool = False


class DesignationRowOut(Schema):
    line: int
    region_code: str
    region_name: str
    problem: str


class DesignationImportOut(Schema):
    written: bool
    matched: int
    unmatched: list[DesignationRowOut]


@designations_router.post("/", response=DesignationImportOut, summary="Import a designation from CSV")
def designation_import_endpoint(request: AuthenticatedHttpRequest, payload: DesignationImportIn) -> dict[str, object]:
    report: DesignationImportReport = designation_import(
        actor=request.user,
        key=payload.key,
        name=payload.name,
        description=payload.description,
        source=payload.source,
        csv_text=payload.csv,
        dry_run=payload.dry_run,
        replace=payload.replace,
    )
    return {"written": report.written, "matched": len(report.matched), "unmatched": report.unmatched}
