"""Audit API: read the trail within one's regions, verify the chain."""

from datetime import datetime

from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from ruralcast.accounts.access import access_require
from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.accounts.roles import Action
from ruralcast.audit.selectors import AuditFilter, audit_chain_verify, audit_event_list
from ruralcast.core.api_types import UtcDatetime
from ruralcast.regions.codes import is_valid_code, level_of_code, prefix_of
from ruralcast.regions.selectors import region_root

router = Router(tags=["audit"])


class AuditEventOut(Schema):
    seq: int
    created_at: datetime
    actor: str = Field(..., alias="actor_label")
    verb: str
    object_type: str
    object_id: str
    object_label: str
    region_code: str
    before: dict[str, object] | None
    after: dict[str, object] | None
    hash: str


class AuditQuery(Schema):
    verb: str = Field("", max_length=64)
    actor: str = Field("", max_length=150)
    region: str = Field("", max_length=12, pattern=r"^[0-9]*$")
    text: str = Field("", max_length=100)
    since: UtcDatetime | None = None
    until: UtcDatetime | None = None


@router.get("/events", response=list[AuditEventOut], summary="Audit events in my regions, newest first")
@paginate
def event_list(request: AuthenticatedHttpRequest, params: Query[AuditQuery]) -> object:
    filters = AuditFilter(
        verb=params.verb,
        actor=params.actor,
        region_prefix=_region_prefix(params.region),
        text=params.text,
        since=params.since,
        until=params.until,
    )
    return audit_event_list(user=request.user, filters=filters)


def _region_prefix(code: str) -> str:
    """A full 12-digit code filters its subtree; fewer digits are taken as a code prefix."""
    return prefix_of(code, level_of_code(code)) if is_valid_code(code) else code


class VerifyOut(Schema):
    ok: bool
    checked: int
    problems: list[str]


@router.get("/verify", response=VerifyOut, summary="Verify the whole hash chain (national auditors)")
def verify(request: AuthenticatedHttpRequest) -> dict[str, object]:
    access_require(user=request.user, action=Action.AUDIT_VIEW, region=region_root())
    report = audit_chain_verify()
    return {"ok": report.ok, "checked": report.checked, "problems": report.problems}
