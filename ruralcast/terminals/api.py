"""Terminal fleet API: the registry (list, register, change, import, export, revoke).

The same services and selectors as the console, scoped by the caller's grants.
"""

from datetime import date, datetime
from decimal import Decimal
from typing import TypedDict

from django.http import HttpResponse
from django.utils.translation import gettext as _
from ninja import Field, File, Form, Query, Router, Schema, Status, UploadedFile
from ninja.pagination import paginate

from ruralcast.accounts.models import User
from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ValidationError
from ruralcast.core.pagination import BoundedLimitOffsetPagination
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.terminals import importer, selectors, services
from ruralcast.terminals.commands import command_counts, command_send, regions_for_command
from ruralcast.terminals.firmware import selectors as firmware_selectors
from ruralcast.terminals.firmware import services as firmware_services
from ruralcast.terminals.models import Command, FirmwareRelease, Terminal, TerminalKind, Transport
from ruralcast.terminals.provisioning import provisioning_document

router = Router(tags=["terminals"])

_KINDS = ", ".join(TerminalKind.values)
_TRANSPORTS = ", ".join(Transport.values)


class StateOut(Schema):
    online: bool
    since: datetime | None
    last_seen_at: datetime | None
    faults: list[str]
    volume: int | None
    amplifier: str
    speaker: str
    temperature_c: float | None
    signal_dbm: int | None
    firmware: str


class TerminalOut(Schema):
    code: str
    name: str
    village: str = Field(..., alias="village_id")
    kind: str
    model: str
    firmware: str
    transport: str
    installed_on: date | None
    latitude: Decimal | None
    longitude: Decimal | None
    owner_station: str
    maintainer: str | None
    languages: list[str] = Field(..., description="Languages it plays, most preferred first; empty: the deployment's")
    provisioned: bool
    revoked_at: datetime | None
    state: StateOut | None

    @staticmethod
    def resolve_maintainer(terminal: Terminal) -> str | None:
        return terminal.maintainer.username if terminal.maintainer_id and terminal.maintainer else None

    @staticmethod
    def resolve_provisioned(terminal: Terminal) -> bool:
        return terminal.is_provisioned

    @staticmethod
    def resolve_state(terminal: Terminal) -> dict[str, object] | None:
        state = getattr(terminal, "state", None) if terminal.revoked_at is None else None
        if state is None:
            return None
        return {
            "online": state.online,
            "since": state.since,
            "last_seen_at": state.last_seen_at,
            "faults": state.fault_list,
            "volume": state.volume,
            "amplifier": state.amplifier,
            "speaker": state.speaker,
            "temperature_c": state.temperature_c,
            "signal_dbm": state.signal_dbm,
            "firmware": state.firmware,
        }


class TerminalFilters(TypedDict):
    """The list's filters, as `selectors.terminal_list` takes them."""

    query: str
    region: Region | None
    kind: str
    transport: str
    status: str


class TerminalQuery(Schema):
    q: str = Field("", max_length=50, description="Code prefix, or part of the name, model or owner station")
    region: str = Field("", max_length=12, description="12-digit code: only terminals below this region")
    kind: str = Field("", max_length=20, description=f"One of {_KINDS}")
    transport: str = Field("", max_length=20, description=f"One of {_TRANSPORTS}")
    status: str = Field(
        "",
        max_length=20,
        description="online, offline, fault, uncommissioned (never connected), unprovisioned or revoked",
    )

    def filters(self) -> TerminalFilters:
        return {
            "query": self.q,
            "region": region_get(code=self.region) if self.region else None,
            "kind": self.kind if self.kind in TerminalKind.values else "",
            "transport": self.transport if self.transport in Transport.values else "",
            "status": self.status if self.status in selectors.STATUS_FILTERS else "",
        }


class TerminalDetailsIn(Schema):
    name: str = Field("", max_length=100)
    kind: str = Field(TerminalKind.IP_LOUDSPEAKER, max_length=20, description=f"One of {_KINDS}")
    model: str = Field("", max_length=100)
    firmware: str = Field("", max_length=50)
    transport: str = Field("", max_length=20, description=f"One of {_TRANSPORTS}; empty: the kind's usual one")
    installed_on: date | None = None
    latitude: Decimal | None = Field(None, max_digits=9, decimal_places=6)
    longitude: Decimal | None = Field(None, max_digits=9, decimal_places=6)
    owner_station: str = Field("", max_length=100)
    maintainer: str = Field("", max_length=150, description="User name of the responsible maintainer")
    languages: list[str] = Field(
        default_factory=list,
        max_length=20,
        description='Language codes it plays, most preferred first (e.g. ["iii", "zho"]); empty: the deployment\'s',
    )

    def details(self) -> services.TerminalDetails:
        maintainer = None
        if self.maintainer:
            maintainer = User.objects.filter(username=self.maintainer, is_active=True).first()
            if maintainer is None:
                raise ValidationError(_("No active user with this name."), fields={"maintainer": [_("Unknown user.")]})
        return services.TerminalDetails(
            name=self.name,
            kind=self.kind,
            model=self.model,
            firmware=self.firmware,
            transport=self.transport,
            installed_on=self.installed_on,
            latitude=self.latitude,
            longitude=self.longitude,
            owner_station=self.owner_station,
            maintainer=maintainer,
            languages=list(self.languages),
        )


class TerminalIn(TerminalDetailsIn):
    village: str = Field(..., max_length=12, description="12-digit code of the village")
    code: str = Field("", max_length=23, description="The device's 23-digit resource code; empty: next free serial")


@router.get("/", response=list[TerminalOut], summary="Terminals in my regions")
@paginate(BoundedLimitOffsetPagination)
def terminal_list(request: AuthenticatedHttpRequest, params: Query[TerminalQuery]) -> object:
    return selectors.terminal_list(user=request.user, **params.filters())


@router.post("/", response={201: TerminalOut}, summary="Register a terminal (credentials come with provisioning)")
def terminal_create(request: AuthenticatedHttpRequest, payload: TerminalIn) -> Status[Terminal]:
    registration = services.terminal_register(
        actor=request.user,
        village=region_get(code=payload.village, field="village"),
        code=payload.code,
        details=payload.details(),
        issue_credentials=False,
    )
    return Status(201, registration.terminal)


class ImportRowOut(Schema):
    line: int
    code: str
    village_code: str
    action: str
    errors: list[str]


class ImportOut(Schema):
    written: bool
    valid: int
    invalid: int
    created: list[str]
    updated: list[str]
    rows: list[ImportRowOut]


class ImportIn(Schema):
    valid_only: bool = Field(False, description="Import the valid rows even if others are wrong")
    dry_run: bool = Field(False, description="Only check the file")


@router.post(
    "/import",
    response={200: ImportOut, 400: ImportOut},
    summary="Import terminals from CSV or xlsx (nothing is written while a row is wrong, unless valid_only)",
)
def terminal_import(
    request: AuthenticatedHttpRequest, file: File[UploadedFile], payload: Form[ImportIn]
) -> Status[dict[str, object]]:
    if (file.size or 0) > importer.MAX_BYTES:
        raise ValidationError(_("The file is larger than 20 MB; split it."), fields={"file": [_("Too large.")]})
    report = importer.terminals_import(
        actor=request.user,
        filename=file.name or "",
        data=file.read(),
        valid_only=payload.valid_only,
        dry_run=payload.dry_run,
    )
    body = {
        "written": report.written,
        "valid": len(report.valid),
        "invalid": len(report.invalid),
        "created": report.created,
        "updated": report.updated,
        "rows": [
            {"line": r.line, "code": r.code, "village_code": r.village_code, "action": r.action, "errors": r.errors}
            for r in report.rows
        ],
    }
    return Status(400 if report.invalid and not report.written else 200, body)


_EXPORT = {
    "responses": {
        200: {
            "description": "The registry in the import format",
            "content": {"text/csv": {"schema": {"type": "string"}}},
        }
    }
}


@router.get("/export.csv", summary="Export terminals (same filters as the list) as CSV", openapi_extra=_EXPORT)
def terminal_export(request: AuthenticatedHttpRequest, params: Query[TerminalQuery]) -> HttpResponse:
    listing = selectors.terminal_list(user=request.user, **params.filters())
    response = HttpResponse(importer.export_csv(listing), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = 'attachment; filename="terminals.csv"'
    return response


# ---------------------------------------------------------------------------- remote commands


class CommandIn(Schema):
    kind: str = Field(..., max_length=20, description="power, volume, reboot, time_sync, config or firmware")
    params: dict[str, object] = Field(
        default_factory=dict,
        description=(
            "volume: {volume}; power: {on}; config: {status_interval, volume}; "
            "firmware: {release} (an approved release; the platform adds file, manifest and URL)"
        ),
    )
    regions: list[str] = Field(
        default_factory=list, max_length=50, description="Region codes: every terminal below them"
    )
    terminals: list[str] = Field(default_factory=list, max_length=500, description="Or terminal codes")
    timeout_s: int = Field(120, ge=10, le=86_400, description="Seconds the terminals have to answer")


class CommandOut(Schema):
    id: str = Field(..., alias="key")
    kind: str
    params: dict[str, object]
    regions: list[str]
    terminals: list[str]
    created_at: datetime
    expires_at: datetime
    targeted: int
    waiting: int
    done: int
    failed: int
    rejected: int
    timeout: int


def _command_out(command: Command) -> dict[str, object]:
    counts = command_counts(command)
    params = {k: v for k, v in command.params.items() if k != "manifest"}
    return {
        "key": command.key,
        "kind": command.kind,
        "params": params,
        "regions": command.regions,
        "terminals": command.terminals,
        "created_at": command.created_at,
        "expires_at": command.expires_at,
        "targeted": counts.targeted,
        "waiting": counts.waiting,
        "done": counts.done,
        "failed": counts.failed,
        "rejected": counts.rejected,
        "timeout": counts.timeout,
    }


@router.post(
    "/commands", response={201: CommandOut}, summary="Send a command to terminals or to every terminal below regions"
)
def command_create(request: AuthenticatedHttpRequest, payload: CommandIn) -> Status[dict[str, object]]:
    terminals = [
        selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
        for code in payload.terminals
    ]
    command = command_send(
        actor=request.user,
        kind=payload.kind,
        params=payload.params,
        regions=regions_for_command(payload.regions),
        terminals=terminals,
        timeout_s=payload.timeout_s,
    )
    return Status(201, _command_out(command))


@router.get("/commands/{key}", response=CommandOut, summary="A command and its answers so far")
def command_detail(request: AuthenticatedHttpRequest, key: str) -> dict[str, object]:
    return _command_out(selectors.access_command(user=request.user, key=key))


# ---------------------------------------------------------------------------- firmware


class FirmwareIn(Schema):
    version: str = Field(..., max_length=50)
    models: str = Field(..., max_length=1000, description="Device models, comma-separated, as in the registry")
    regions: str = Field(..., max_length=700, description="Region codes, comma-separated: the release's targets")
    valid_days: int = Field(30, ge=1, le=90, description="Days the signed manifest stays valid")
    notes: str = Field("", max_length=2000)


class FirmwareOut(Schema):
    id: int
    version: str
    sha256: str
    size: int
    models: list[str] = Field(..., alias="device_models")
    regions: list[str]
    state: str = Field(..., description="pending (waiting for a second person), approved or rejected")
    uploaded_by: str = Field(..., alias="uploaded_by.username")
    uploaded_at: datetime
    expires_at: datetime
    decided_by: str | None = None
    decided_at: datetime | None
    signing_key: str

    @staticmethod
    def resolve_decided_by(release: FirmwareRelease) -> str | None:
        return release.decided_by.username if release.decided_by else None


class RejectIn(Schema):
    reason: str = Field(..., max_length=500)


@router.post(
    "/firmware",
    response={201: FirmwareOut},
    summary="Upload a firmware release (firmware.manage); a second person approves it before it can be sent",
)
def firmware_upload(
    request: AuthenticatedHttpRequest, file: File[UploadedFile], payload: Form[FirmwareIn]
) -> Status[FirmwareRelease]:
    if (file.size or 0) > firmware_services.MAX_BYTES:
        raise ValidationError(_("A firmware file is 1 byte to 64 MB."), fields={"file": [_("Wrong size.")]})
    codes = [code.strip() for code in payload.regions.split(",") if code.strip()]
    release = firmware_services.firmware_upload(
        actor=request.user,
        data=file.read(),
        version=payload.version,
        device_models=payload.models.split(","),
        regions=[region_get(code=code, field="regions") for code in codes[:50]],
        valid_days=payload.valid_days,
        notes=payload.notes,
    )
    return Status(201, release)


@router.get("/firmware", response=list[FirmwareOut], summary="Firmware releases of the regions I manage firmware in")
@paginate(BoundedLimitOffsetPagination)
def firmware_list(request: AuthenticatedHttpRequest) -> object:
    return firmware_selectors.firmware_release_list(user=request.user)


@router.get("/firmware/{release_id}", response=FirmwareOut, summary="One firmware release")
def firmware_detail(request: AuthenticatedHttpRequest, release_id: int) -> FirmwareRelease:
    return firmware_selectors.access_firmware_release(user=request.user, release_id=release_id)


@router.post(
    "/firmware/{release_id}/approve",
    response=FirmwareOut,
    summary="Approve a release (another person than the uploader): its manifest is signed with the firmware key",
)
def firmware_approve(request: AuthenticatedHttpRequest, release_id: int) -> FirmwareRelease:
    release = firmware_selectors.access_firmware_release(user=request.user, release_id=release_id)
    return firmware_services.firmware_approve(release=release, approver=request.user)


@router.post("/firmware/{release_id}/reject", response=FirmwareOut, summary="Reject (or withdraw) a waiting release")
def firmware_reject(request: AuthenticatedHttpRequest, release_id: int, payload: RejectIn) -> FirmwareRelease:
    release = firmware_selectors.access_firmware_release(user=request.user, release_id=release_id)
    return firmware_services.firmware_reject(release=release, actor=request.user, reason=payload.reason)


# ---------------------------------------------------------------------------- one terminal
# (registered last: `/{code}` would otherwise swallow `/firmware`, `/commands`)


@router.get("/{code}", response=TerminalOut, summary="One terminal")
def terminal_detail(request: AuthenticatedHttpRequest, code: str) -> Terminal:
    return selectors.access_terminal(user=request.user, code=code)


@router.put("/{code}", response=TerminalOut, summary="Change a terminal's registry fields")
def terminal_edit(request: AuthenticatedHttpRequest, code: str, payload: TerminalDetailsIn) -> Terminal:
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    return services.terminal_update(actor=request.user, terminal=terminal, details=payload.details())


@router.post("/{code}/revoke", response=TerminalOut, summary="Revoke a terminal: the broker cuts it off")
def terminal_revoke(request: AuthenticatedHttpRequest, code: str) -> Terminal:
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    return services.terminal_revoke(actor=request.user, terminal=terminal)


@router.post(
    "/{code}/provision",
    response=dict[str, object],
    summary="Issue new credentials: the provisioning file (the password appears here only)",
)
def terminal_provision(request: AuthenticatedHttpRequest, response: HttpResponse, code: str) -> dict[str, object]:
    """The answer carries the terminal's password: `Cache-Control: no-store`, like the console's page."""
    terminal = selectors.access_terminal(user=request.user, code=code, action=Action.TERMINAL_CONTROL)
    registration = services.terminal_credentials_issue(actor=request.user, terminal=terminal)
    response["Cache-Control"] = "no-store"
    return provisioning_document(registration=registration)
