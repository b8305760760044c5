"""Live voice API: list, start, stop and the status of sessions, through the same services.

Audio itself does not travel through this API: after `POST /live/` a browser opens the WebSocket
`/ws/live/<id>/` (docs/live.md), a line-in is fed by `manage.py live_feed`.
"""

from datetime import datetime
from typing import Literal

from django.db import transaction
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.live import selectors, services
from ruralcast.live.models import LiveSession
from ruralcast.live.runtime import broadcast_finish
from ruralcast.regions.selectors import region_get

router = Router(tags=["live"])


class LiveSessionOut(Schema):
    id: int
    operator: str = Field(..., alias="operator.username")
    target: str = Field(..., alias="target_id")
    target_name: str = Field(..., alias="target.name")
    tier: int
    source: str
    state: str
    started_at: datetime
    ended_at: datetime | None
    end_reason: str
    chunks: int
    audio_seconds: float
    recording: int | None = Field(None, alias="recording_id")
    websocket: str

    @staticmethod
    def resolve_websocket(session: LiveSession) -> str:
        return f"/ws/live/{session.pk}/"


class LiveStartIn(Schema):
    target: str = Field(..., min_length=12, max_length=12, description="12-digit code of the region spoken to")
    source: Literal["microphone", "line_in"] = "microphone"


class LiveStatusOut(Schema):
    session: LiveSessionOut
    playing: list[str]
    started: int
    stopped: int
    stop_reasons: dict[str, int]


class LiveQuery(Schema):
    state: Literal["", "live", "ended"] = ""


@router.get("/", response=list[LiveSessionOut], summary="Live sessions in my regions, newest first")
@paginate
def live_list(request: AuthenticatedHttpRequest, params: Query[LiveQuery]) -> object:
    return selectors.session_list(user=request.user, state=params.state)


@router.post("/", response={201: LiveSessionOut}, summary="Start a live session (then speak into its WebSocket)")
def live_start(request: AuthenticatedHttpRequest, payload: LiveStartIn) -> Status[LiveSession]:
    session = services.live_session_start(
        actor=request.user,
        target=region_get(code=payload.target, field="target"),
        source=payload.source,
    )
    return Status(201, selectors.access_live_session(user=request.user, session_id=session.pk))


@router.get("/{session_id}", response=LiveStatusOut, summary="A session and which terminals play it")
def live_status(request: AuthenticatedHttpRequest, session_id: int) -> dict[str, object]:
    session = selectors.access_live_session(user=request.user, session_id=session_id)
    status = selectors.session_status(session=session)
    return {"session": session, **status.__dict__}


@router.post("/{session_id}/stop", response=LiveSessionOut, summary="Stop a live session")
def live_stop(request: AuthenticatedHttpRequest, session_id: int) -> LiveSession:
    session = selectors.access_live_session(user=request.user, session_id=session_id)
    services.live_session_stop(actor=request.user, session=session)
    transaction.on_commit(lambda: _finish_here(session.pk))
    return selectors.access_live_session(user=request.user, session_id=session_id)


def _finish_here(session_id: int) -> None:
    """If this process holds the broadcast, take it off the air now (else its owner notices)."""
    broadcast_finish(session_id)
