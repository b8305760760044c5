"""Work orders and maintenance figures through the API (same services and selectors as the console)."""

import datetime

from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from ruralcast.accounts.access import access_require
from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ValidationError
from ruralcast.core.pagination import BoundedLimitOffsetPagination
from ruralcast.maintenance import figures, selectors, services
from ruralcast.maintenance.models import WorkOrder
from ruralcast.regions.selectors import region_get

router = Router(tags=["maintenance"])


class WorkOrderOut(Schema):
    id: int
    terminal: str
    village: str = Field(..., alias="village_code")
    fault: str
    detail: str
    state: str
    auto: bool
    opened_at: datetime.datetime
    assignee: str | None
    due_at: datetime.datetime
    escalation_level: int
    resolved_at: datetime.datetime | None
    resolution: str

    @staticmethod
    def resolve_terminal(order: WorkOrder) -> str:
        return order.terminal.code

    @staticmethod
    def resolve_assignee(order: WorkOrder) -> str | None:
        return order.assignee.username if order.assignee_id and order.assignee else None


class OrderQuery(Schema):
    state: str = Field("open", max_length=10, description="open, overdue, resolved, mine or all")
    fault: str = Field("", max_length=20)
    region: str = Field("", max_length=12)


@router.get("/orders", response=list[WorkOrderOut], summary="Work orders in my regions")
@paginate(BoundedLimitOffsetPagination)
def order_list(request: AuthenticatedHttpRequest, params: Query[OrderQuery]) -> object:
    state = params.state if params.state in selectors.STATE_FILTERS else ""
    region = region_get(code=params.region) if params.region else None
    return selectors.work_order_list(user=request.user, region=region, state=state, fault=params.fault)


@router.get("/orders/{pk}", response=WorkOrderOut, summary="One work order")
def order_detail(request: AuthenticatedHttpRequest, pk: int) -> WorkOrder:
    return selectors.access_work_order(user=request.user, pk=pk)


class ResolveIn(Schema):
    resolution: str = Field(..., max_length=200)


@router.post("/orders/{pk}/resolve", response=WorkOrderOut, summary="Resolve a work order by hand")
def order_resolve(request: AuthenticatedHttpRequest, pk: int, payload: ResolveIn) -> WorkOrder:
    order = selectors.access_work_order(user=request.user, pk=pk)
    return services.work_order_resolve(actor=request.user, order=order, resolution=payload.resolution)


# Figures are over the platform's own records: nothing predates 1970, and dates near year 1 cannot
# even be moved into the deployment's time zone (a 500 the API fuzz found).
EARLIEST_FIGURE_DATE = datetime.date(1970, 1, 1)


class FiguresQuery(Schema):
    region: str = Field(..., max_length=12)
    start: datetime.date
    end: datetime.date


class FigureOut(Schema):
    code: str
    label: str
    value_type: str
    aggregation: str
    value: float | int | None


@router.get(
    "/figures",
    response=list[FigureOut],
    summary="Availability, repair time and work orders of a region's subtree over [start, end)",
)
def figure_values(request: AuthenticatedHttpRequest, params: Query[FiguresQuery]) -> list[dict[str, object]]:
    region = region_get(code=params.region)
    access_require(user=request.user, action=Action.TERMINAL_VIEW, region=region)
    if params.start < EARLIEST_FIGURE_DATE:
        raise ValidationError(
            _("start is a date from %(earliest)s on.") % {"earliest": EARLIEST_FIGURE_DATE.isoformat()},
            fields={"start": [_("Out of range.")]},
        )
    if not params.start < params.end or (params.end - params.start).days > 366:
        raise ValidationError(
            _("start comes before end, at most 366 days apart."), fields={"end": [_("Out of range.")]}
        )
    return [
        {
            "code": code,
            "label": str(label),
            "value_type": kind,
            "aggregation": aggregation,
            "value": fn(region_code=region.code, start=params.start, end=params.end),
        }
        for code, label, kind, aggregation, fn in figures.FIGURES
    ]
