"""Emergency broadcasting API: the same rules as the console, through the same services."""

from datetime import datetime
from typing import Any, Literal

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.alerts import lifecycle, selectors, services
from ruralcast.alerts.events import event_types
from ruralcast.alerts.feeds import selectors as feed_selectors
from ruralcast.alerts.feeds.api import FeedDetailOut, FeedOut
from ruralcast.alerts.formats.cap import alert_to_cap, cap_import
from ruralcast.alerts.formats.common import MAX_IMPORT_BYTES
from ruralcast.alerts.formats.ebm import alert_to_ebm, ebm_import
from ruralcast.alerts.models import Alert, AlertTranslation, ImportedMessage, MsgType, Receipt
from ruralcast.alerts.payload import content_version
from ruralcast.alerts.translations import TranslationFields
from ruralcast.core.api_types import UtcDatetime
from ruralcast.core.errors import ValidationError
from ruralcast.regions.selectors import region_get

router = Router(tags=["alerts"])


class ImportedOut(Schema):
    """Where an imported message came from, and what an operator must still decide."""

    format: str
    sender: str = Field(..., description="the file's own sender, identifier and sent (CAP)")
    identifier: str
    sent: str
    effective: datetime | None
    history: bool = Field(..., description="already expired when imported: a record, never dispatchable")
    unclassified: bool = Field(..., description="no event code could be mapped: choose one before submitting")
    needs_targets: bool = Field(..., description="areas given as polygons/circles only: choose the target regions")
    event_mapping: str = Field(..., description="what decided the event code (or what was tried)")
    areas: list[dict[str, Any]]
    other_infos: list[dict[str, Any]] = Field(
        ..., description="info blocks not read as translations (unknown language, no description)"
    )

    @staticmethod
    def resolve_needs_targets(record: ImportedMessage) -> bool:
        return not record.alert.targets.exists()


class TranslationOut(Schema):
    language: str
    title: str
    text: str
    audio_sha256: str
    audio_seconds: float


class TranslationIn(Schema):
    language: str = Field(..., max_length=8, description="ISO 639 code: iii, zho, eng (or zh-CN)")
    title: str = Field(..., max_length=200)
    text: str = Field(..., max_length=1500)


class AlertOut(Schema):
    ebm_id: str
    cap_id: str
    sender_code: str
    sender_name: str
    issuer_region: str = Field(..., alias="issuer_region_id")
    status: str
    msg_type: str
    references: str | None = None
    scope: str
    event_code: str
    severity: int
    urgency: str
    certainty: str
    onset: datetime
    expires: datetime
    sent_at: datetime | None
    targets: list[str]
    language: str = Field(..., description="the primary language (of `title`, `text` and the audio)")
    title: str
    text: str
    translations: list[TranslationOut] = Field(
        ..., description="the message in further languages, in order; approved with the rest"
    )
    audio_sha256: str
    audio_bytes: int
    audio_seconds: float
    volume: int
    repeat: int
    state: str
    rejection_reason: str
    targeted_terminals: int
    content_version: str = Field(
        ...,
        description="SHA-256 of the signed content and audio: send it back as `version` to approve exactly this",
    )
    imported: ImportedOut | None = Field(None, description="set when the message was imported from a file")

    @staticmethod
    def resolve_imported(alert: Alert) -> ImportedMessage | None:
        try:
            return alert.imported
        except ImportedMessage.DoesNotExist:
            return None

    @staticmethod
    def resolve_translations(alert: Alert) -> list[AlertTranslation]:
        return list(alert.translations.all())  # prefetched by alert_list

    @staticmethod
    def resolve_content_version(alert: Alert) -> str:
        return content_version(alert)

    @staticmethod
    def resolve_targets(alert: Alert) -> list[str]:
        return sorted(region.code for region in alert.targets.all())  # prefetched by alert_list

    @staticmethod
    def resolve_references(alert: Alert) -> str | None:
        return alert.references.ebm_id if alert.references_id and alert.references else None


class AlertIn(Schema):
    issuer_region: str = Field(..., max_length=12, description="12-digit code of the issuing platform's region")
    status: str = Field(..., description="Actual, Exercise, System or Test")
    event_code: str = Field(..., max_length=5)
    severity: int = Field(..., ge=1, le=4)
    urgency: str = "Immediate"
    certainty: str = "Observed"
    scope: str = "Public"
    onset: UtcDatetime
    expires: UtcDatetime
    targets: list[str] = Field(..., min_length=1, max_length=200)
    title: str = Field(..., max_length=200)
    text: str = Field(..., max_length=1500)
    language: str = Field("zho", max_length=8, description="the primary language of title and text")
    translations: list[TranslationIn] | None = Field(
        None, max_length=8, description="the message in further languages; omitted on an edit: unchanged"
    )
    volume: int = Field(80, ge=0, le=100)
    repeat: int = Field(2, ge=1, le=10)

    def fields(self) -> services.AlertFields:
        return services.AlertFields(
            status=self.status,
            event_code=self.event_code,
            severity=self.severity,
            title=self.title,
            text=self.text,
            onset=self.onset,
            expires=self.expires,
            targets=[region_get(code=code) for code in self.targets],
            urgency=self.urgency,
            certainty=self.certainty,
            scope=self.scope,
            language=self.language,
            volume=self.volume,
            repeat=self.repeat,
            translations=None
            if self.translations is None
            else [TranslationFields(language=t.language, title=t.title, text=t.text) for t in self.translations],
        )


class AlertQuery(Schema):
    q: str = Field("", max_length=50)
    state: str = Field("", max_length=12)


@router.get("/event-types", response=list[dict[str, object]], summary="The emergency event classification")
def event_type_list(request: AuthenticatedHttpRequest) -> list[dict[str, object]]:
    return [
        {"code": e.code, "category": e.category, "name_zh": e.name_zh, "name_en": e.name_en, "source": e.source}
        for e in event_types().values()
    ]


@router.get("/", response=list[AlertOut], summary="Messages in my regions, newest first")
@paginate
def alert_list(request: AuthenticatedHttpRequest, params: Query[AlertQuery]) -> object:
    return selectors.alert_list(user=request.user, query=params.q, state=params.state)


@router.post("/", response={201: AlertOut}, summary="Draft a message")
def alert_create(request: AuthenticatedHttpRequest, payload: AlertIn) -> Status[Alert]:
    alert = services.alert_create(
        actor=request.user,
        issuer_region=region_get(code=payload.issuer_region),
        fields=payload.fields(),
    )
    return Status(201, alert)


class ImportIn(Schema):
    issuer_region: str = Field(..., max_length=12, description="12-digit code of the issuing platform's region")
    format: Literal["cap", "ebm"] = Field(..., description="cap: CAP 1.2 XML; ebm: an EBD packet carrying an EBM")


# Registered before the /{ebm_id} routes, so that "import" is never read as an EBM id.
@router.post("/import", response={201: AlertOut}, summary="Draft a message from a CAP 1.2 or EBM XML file")
def alert_import(request: AuthenticatedHttpRequest, file: File[UploadedFile], payload: Form[ImportIn]) -> Status[Alert]:
    if (file.size or 0) > MAX_IMPORT_BYTES:
        raise ValidationError(
            _("The file is larger than 2 MB; a CAP or EBM message is far smaller."), fields={"file": [_("Too large.")]}
        )
    importer = cap_import if payload.format == "cap" else ebm_import
    alert = importer(actor=request.user, xml_bytes=file.read(), issuer_region=region_get(code=payload.issuer_region))
    return Status(201, alert)


# CAP feed subscriptions, read-only (registered in the console); before /{ebm_id} like "import".
@router.get("/feeds", response=list[FeedOut], summary="CAP feed subscriptions I manage")
def feed_list(request: AuthenticatedHttpRequest) -> object:
    return feed_selectors.feed_list(user=request.user)


@router.get("/feeds/{feed_id}", response=FeedDetailOut, summary="A CAP feed: its poll state and the messages it read")
def feed_detail(request: AuthenticatedHttpRequest, feed_id: int) -> object:
    return feed_selectors.access_feed(user=request.user, feed_id=feed_id)


@router.get("/{ebm_id}", response=AlertOut, summary="One message")
def alert_detail(request: AuthenticatedHttpRequest, ebm_id: str) -> Alert:
    return selectors.access_alert(user=request.user, ebm_id=ebm_id)


_XML_RESPONSE = {
    "responses": {200: {"description": "XML", "content": {"application/xml": {"schema": {"type": "string"}}}}}
}


def _xml(data: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(data, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.get("/{ebm_id}/cap.xml", summary="The message as CAP 1.2 XML", openapi_extra=_XML_RESPONSE)
def alert_cap_xml(request: AuthenticatedHttpRequest, ebm_id: str) -> HttpResponse:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return _xml(alert_to_cap(alert), f"{alert.ebm_id}.cap.xml")


@router.get("/{ebm_id}/ebm.xml", summary="The message as an EBD packet carrying an EBM", openapi_extra=_XML_RESPONSE)
def alert_ebm_xml(request: AuthenticatedHttpRequest, ebm_id: str) -> HttpResponse:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return _xml(alert_to_ebm(alert), f"{alert.ebm_id}.ebm.xml")


@router.put("/{ebm_id}", response=AlertOut, summary="Change a draft")
def alert_edit(request: AuthenticatedHttpRequest, ebm_id: str, payload: AlertIn) -> Alert:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return services.alert_edit(actor=request.user, alert=alert, fields=payload.fields())


@router.post("/{ebm_id}/submit", response=AlertOut, summary="Submit a draft for approval")
def alert_submit(request: AuthenticatedHttpRequest, ebm_id: str) -> Alert:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return services.alert_submit(actor=request.user, alert=alert)


class ApproveIn(Schema):
    confirm_status: str = Field(..., description="Must equal the message's status (Hawaii rule)")
    version: str = Field(
        ...,
        max_length=64,
        description="The `content_version` of the message as the approver reviewed it; 409 if it changed since",
    )


@router.post("/{ebm_id}/approve", response=AlertOut, summary="Approve (a second person) and dispatch")
def alert_approve(request: AuthenticatedHttpRequest, ebm_id: str, payload: ApproveIn) -> Alert:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return services.alert_approve(
        approver=request.user,
        alert=alert,
        confirm_status=payload.confirm_status,
        version=payload.version,
    )


class RejectIn(Schema):
    reason: str = Field(..., max_length=500)


@router.post("/{ebm_id}/reject", response=AlertOut, summary="Send a submitted message back")
def alert_reject(request: AuthenticatedHttpRequest, ebm_id: str, payload: RejectIn) -> Alert:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return services.alert_reject(approver=request.user, alert=alert, reason=payload.reason)


@router.post("/{ebm_id}/dispatch", response=AlertOut, summary="Make sure an approved message is queued (idempotent)")
def alert_dispatch(request: AuthenticatedHttpRequest, ebm_id: str) -> Alert:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return services.alert_dispatch(actor=request.user, alert=alert)


@router.post(
    "/{ebm_id}/cancel",
    response={200: AlertOut, 201: AlertOut},
    summary="Stop a chain: withdraw what is not sent yet, prepare and submit the Cancel of what is on air",
    description=(
        "Any message of the chain may be named. 201: the Cancel (new, or the one under way), which a second "
        "person approves. 200: the message was stopped before any of it was sent (state `withdrawn`); "
        "no Cancel is needed."
    ),
)
def alert_cancel(request: AuthenticatedHttpRequest, ebm_id: str) -> Status[Alert]:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    result = lifecycle.alert_cancel(actor=request.user, alert=alert)
    return Status(201 if result.msg_type == MsgType.CANCEL else 200, result)


@router.post(
    "/{ebm_id}/update", response={201: AlertOut}, summary="Prepare an Update draft of the chain's message on air"
)
def alert_update(request: AuthenticatedHttpRequest, ebm_id: str) -> Status[Alert]:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return Status(201, lifecycle.alert_prepare_update(actor=request.user, alert=alert))


class TallyOut(Schema):
    region: str
    name: str
    targeted: int
    received: int
    played: int
    finished: int
    cancelled: int = Field(..., description="stopped by a Cancel (not counted as finished)")
    superseded: int = Field(..., description="stopped because an Update replaced the message")
    rejected: int
    failed: int
    silent: int


class StatusOut(Schema):
    totals: TallyOut
    by_region: list[TallyOut]
    rejection_reasons: dict[str, int]


def _tally_out(tally: selectors.RegionTally) -> dict[str, object]:
    return {
        "region": tally.region.code,
        "name": tally.region.name,
        "targeted": tally.targeted,
        "received": tally.received,
        "played": tally.played,
        "finished": tally.finished,
        "cancelled": tally.cancelled,
        "superseded": tally.superseded,
        "rejected": tally.rejected,
        "failed": tally.failed,
        "silent": tally.silent,
    }


@router.get(
    "/{ebm_id}/status",
    response=StatusOut,
    summary="Live broadcast status",
    description="Counts of the terminals the message was published to; `region` narrows the totals to that "
    "region's subtree and breaks them down by its children.",
)
def alert_status(request: AuthenticatedHttpRequest, ebm_id: str, region: str | None = None) -> dict[str, object]:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    status = selectors.broadcast_status(alert=alert, breakdown=region_get(code=region) if region else None)
    return {
        "totals": _tally_out(status.totals),
        "by_region": [_tally_out(t) for t in status.by_region],
        "rejection_reasons": status.rejection_reasons,
    }


class ReceiptOut(Schema):
    terminal: str = Field(..., alias="terminal_code")
    event: str
    reason: str
    device_at: datetime | None
    stored_at: datetime


@router.get("/{ebm_id}/receipts", response=list[ReceiptOut], summary="Receipts of a message")
@paginate
def alert_receipts(request: AuthenticatedHttpRequest, ebm_id: str) -> object:
    alert = selectors.access_alert(user=request.user, ebm_id=ebm_id)
    return Receipt.objects.filter(alert=alert).order_by("stored_at", "id")
