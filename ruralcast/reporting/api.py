"""Reporting API: metadata, values in and out, live aggregates, completeness and the approval
chain, scoped by region exactly like the console (same services and selectors)."""

from datetime import datetime
from typing import Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ValidationError
from ruralcast.regions.codes import Level
from ruralcast.reporting import selectors, services
from ruralcast.reporting.analytics import aggregate
from ruralcast.reporting.circulars import circular_content, circular_pdf
from ruralcast.reporting.models import Approval, Circular, DataElement, DataSet, Indicator
from ruralcast.reporting.periods import period_type_of

router = Router(tags=["reporting"])


class ElementOut(Schema):
    code: str
    name: str
    name_en: str
    line: int
    value_type: str
    aggregation: str
    unit: str
    source: str


class DataSetOut(Schema):
    code: str
    name: str
    line: int
    period_type: str
    entry_level: int
    due_days: int
    elements: list[str]

    @staticmethod
    def resolve_elements(data_set: DataSet) -> list[str]:
        return [m.element.code for m in data_set.members.all()]


class IndicatorOut(Schema):
    code: str
    name: str
    name_en: str
    line: int
    formula: str
    value_type: str


class MetadataOut(Schema):
    elements: list[ElementOut]
    data_sets: list[DataSetOut]
    indicators: list[IndicatorOut]


@router.get("/metadata", response=MetadataOut, summary="Data elements, data sets and indicators")
def metadata(request: AuthenticatedHttpRequest) -> dict[str, object]:
    access_require_somewhere(user=request.user, action=Action.REPORT_VIEW)
    return {
        "elements": list(DataElement.objects.all()),
        "data_sets": list(selectors.data_sets()),
        "indicators": list(Indicator.objects.all()),
    }


class ElementIn(Schema):
    code: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,59}$", description="Also the name used in formulas")
    name: str = Field(..., max_length=120)
    name_en: str = Field("", max_length=120)
    line: int = Field(..., ge=1, le=8)
    value_type: str = Field("number", max_length=10)
    aggregation: str = Field(..., max_length=10)
    unit: str = Field("", max_length=20)
    source: str = Field("", max_length=60)
    description: str = Field("", max_length=2000)


class DataSetIn(Schema):
    code: str = Field(..., pattern=r"^[a-z0-9][a-z0-9-]{0,59}$")
    name: str = Field(..., max_length=120)
    line: int = Field(..., ge=1, le=8)
    period_type: str = Field(..., max_length=10)
    entry_level: int = Field(3, ge=3, le=5)
    due_days: int = Field(10, ge=0, le=366)
    elements: list[str] = Field(..., max_length=200)


class RuleIn(Schema):
    data_set: str = Field(..., max_length=60)
    left: str = Field(..., max_length=300)
    operator: str = Field(..., max_length=2)
    right: str = Field(..., max_length=300)
    message: str = Field(..., max_length=200)


class IndicatorIn(Schema):
    code: str = Field(..., pattern=r"^[a-z][a-z0-9_]{0,59}$")
    name: str = Field(..., max_length=120)
    name_en: str = Field("", max_length=120)
    line: int = Field(..., ge=1, le=8)
    formula: str = Field(..., max_length=300)
    value_type: str = Field("percent", max_length=10)


class MetadataIn(Schema):
    elements: list[ElementIn] = Field([], max_length=500)
    data_sets: list[DataSetIn] = Field([], max_length=200)
    validation_rules: list[RuleIn] = Field([], max_length=500)
    indicators: list[IndicatorIn] = Field([], max_length=500)


@router.post("/metadata", response=dict[str, int], summary="Create or update metadata by code (national level)")
def metadata_write(request: AuthenticatedHttpRequest, payload: MetadataIn) -> dict[str, int]:
    return services.metadata_load(data=payload.model_dump(), actor=request.user)


class ValuesIn(Schema):
    region: str = Field(..., max_length=12, description="12-digit code of a region at the data set's entry level")
    period: str = Field(..., max_length=7, description="2026-03, 2026Q1 or 2026")
    values: dict[str, str | float | None] = Field(..., description="element code → value; empty or null clears")


class EntryOut(Schema):
    saved: int
    cleared: int


@router.post("/data-sets/{code}/values", response=EntryOut, summary="Enter values of one region and period")
def values_save(request: AuthenticatedHttpRequest, code: str, payload: ValuesIn) -> services.EntryResult:
    if len(payload.values) > 200:
        raise ValidationError(_("At most 200 values at a time."), fields={"values": [_("Too many.")]})
    return services.values_save(
        actor=request.user,
        data_set=selectors.access_data_set(code=code),
        period=payload.period,
        region=selectors.access_report_region(user=request.user, code=payload.region, action=Action.REPORT_ENTER),
        raw=payload.values,
    )


class ValuesQuery(Schema):
    region: str = Field(..., max_length=12)
    period: str = Field(..., max_length=7)


class StoredValueOut(Schema):
    element: str
    value: float | None
    text: str


@router.get("/data-sets/{code}/values", response=list[StoredValueOut], summary="Values one region entered")
def values_read(request: AuthenticatedHttpRequest, code: str, params: Query[ValuesQuery]) -> list[dict[str, object]]:
    data_set = selectors.access_data_set(code=code)
    region = selectors.access_report_region(user=request.user, code=params.region)
    period_type_of(params.period)
    stored = selectors.entry_values(data_set=data_set, period=params.period, region=region)
    return [{"element": c, "value": v.value, "text": v.text} for c, v in sorted(stored.items())]


class AggregateQuery(Schema):
    region: str = Field(..., max_length=12)
    items: str = Field(..., max_length=600, description="Comma-separated element or indicator codes")
    periods: str = Field(..., max_length=600, description="Comma-separated periods")
    level: int | None = Field(None, ge=0, le=5, description="Level of the rows (default: the children)")
    by_period: bool = False


class CellOut(Schema):
    region: str
    item: str
    period: str
    value: float | None


class AggregateOut(Schema):
    region: str
    rows: list[str]
    cells: list[CellOut]


@router.get("/aggregate", response=AggregateOut, summary="Live totals, averages and indicators")
def aggregate_read(request: AuthenticatedHttpRequest, params: Query[AggregateQuery]) -> dict[str, object]:
    region = selectors.access_report_region(user=request.user, code=params.region)
    codes = [c.strip() for c in params.items.split(",") if c.strip()][:20]
    periods = [p.strip() for p in params.periods.split(",") if p.strip()][:60]
    if not periods:
        raise ValidationError(_("Name at least one period."), fields={"periods": [_("Required.")]})
    for period in periods:
        period_type_of(period)
    items = selectors.items_by_codes(codes)
    if not items:
        raise ValidationError(_("Name at least one known element or indicator."), fields={"items": [_("Unknown.")]})
    if params.level == Level.VILLAGE and region.level < Level.COUNTY:
        raise ValidationError(_("Village rows only within one county."), fields={"level": [_("Too deep.")]})
    table = aggregate(items=items, periods=periods, region=region, level=params.level, by_period=params.by_period)
    return {
        "region": region.code,
        "rows": [r.code for r in table.rows],
        "cells": [{"region": r, "item": i, "period": p, "value": v} for (r, i, p), v in sorted(table.values.items())],
    }


class CompletenessOut(Schema):
    region: str
    deadline: str
    expected: int
    reported: int
    on_time: int
    missing: list[str]
    late: list[str]


@router.get("/data-sets/{code}/completeness", response=CompletenessOut, summary="Who reported, who was late")
def completeness_read(request: AuthenticatedHttpRequest, code: str, params: Query[ValuesQuery]) -> dict[str, object]:
    data_set = selectors.access_data_set(code=code)
    region = selectors.access_report_region(user=request.user, code=params.region)
    state = selectors.completeness(data_set=data_set, period=params.period, region=region)
    return {
        "region": region.code,
        "deadline": state.deadline.isoformat(),
        "expected": state.total.expected,
        "reported": state.total.reported,
        "on_time": state.total.on_time,
        "missing": [r.code for r in state.missing],
        "late": [r.code for r, _at in state.late],
    }


class ApprovalIn(Schema):
    region: str = Field(..., max_length=12)
    period: str = Field(..., max_length=7)
    step: Literal["advance", "accept", "revoke"] = Field(
        ..., description="advance: submit (county) or approve (city, province); accept: national; revoke: send back"
    )
    reason: str = Field("", max_length=500)


class ApprovalOut(Schema):
    region: str
    period: str
    state: str | None


@router.post("/data-sets/{code}/approval", response=ApprovalOut, summary="One step of the approval chain")
def approval_step(request: AuthenticatedHttpRequest, code: str, payload: ApprovalIn) -> dict[str, object]:
    data_set = selectors.access_data_set(code=code)
    region = selectors.access_report_region(user=request.user, code=payload.region)
    if payload.step == "advance":
        services.approval_advance(actor=request.user, data_set=data_set, period=payload.period, region=region)
    elif payload.step == "accept":
        services.approval_accept(actor=request.user, data_set=data_set, period=payload.period, province=region)
    else:
        services.approval_revoke(
            actor=request.user, data_set=data_set, period=payload.period, region=region, reason=payload.reason
        )
    state = Approval.objects.filter(data_set=data_set, period=payload.period, region=region).first()
    return {"region": region.code, "period": payload.period, "state": state.state if state else None}


class CircularOut(Schema):
    id: int
    region: str = Field(..., alias="region_id")
    period: str
    title: str
    body: str
    created_at: datetime


class CircularIn(Schema):
    region: str = Field(..., max_length=12)
    period: str = Field(..., max_length=7)
    title: str = Field(..., max_length=200)
    body: str = Field("", max_length=20000)


@router.get("/circulars", response=list[CircularOut], summary="Circulars of my regions, newest first")
@paginate
def circular_list(request: AuthenticatedHttpRequest) -> object:
    return selectors.circulars(user=request.user)


@router.post("/circulars", response={201: CircularOut}, summary="Write a circular (通报)")
def circular_create(request: AuthenticatedHttpRequest, payload: CircularIn) -> Status[Circular]:
    region = selectors.access_report_region(user=request.user, code=payload.region, action=Action.REPORT_APPROVE)
    circular = services.circular_create(
        actor=request.user, region=region, period=payload.period, title=payload.title, body=payload.body
    )
    return Status(201, circular)


_PDF = {"responses": {200: {"description": "PDF", "content": {"application/pdf": {"schema": {"type": "string"}}}}}}


@router.get("/circulars/{circular_id}.pdf", summary="A circular as PDF", openapi_extra=_PDF)
def circular_pdf_download(request: AuthenticatedHttpRequest, circular_id: int) -> HttpResponse:
    circular = selectors.access_circular(user=request.user, pk=circular_id)
    return HttpResponse(circular_pdf(content=circular_content(circular=circular)), content_type="application/pdf")
