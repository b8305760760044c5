"""Writes to the terminal registry: register, change, issue credentials (provision), revoke.

Every write checks `terminal.control` on the terminal's village, validates, writes in one
transaction with its audit record, and (for credentials) brings the broker up to date when the
transaction commits. The bulk import (`terminals.importer`) uses the same checks row by row.
"""

from dataclasses import asdict, dataclass, field, replace
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.core.languages import language_list_problems
from ruralcast.messaging.credentials import mosquitto_password_hash
from ruralcast.messaging.services import broker_credentials_sync
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.terminals.credentials import new_device_password
from ruralcast.terminals.models import KIND_TRANSPORT, Terminal, TerminalKind, TerminalState, Transport
from ruralcast.terminals.status import states_create

# Type, subtype, system serial and sub-resource of a village loudspeaker terminal (protocols.md §1).
TERMINAL_TYPE_DIGITS = "03140104"
# Where terminals can stand: mainland China, Hainan and the South China Sea islands, with margin.
LATITUDE_RANGE = (Decimal("3.0"), Decimal("54.0"))
LONGITUDE_RANGE = (Decimal("73.0"), Decimal("136.0"))


def terminal_code(*, village: Region, serial: int) -> str:
    """The 23-digit resource code of the `serial`-th terminal of a village."""
    if not 1 <= serial <= 99:
        raise ValidationError(_("A village has terminal serials 1 to 99."))
    return f"6{village.code}{TERMINAL_TYPE_DIGITS}{serial:02d}"


def terminal_code_problem(*, code: str, village: Region | None = None) -> str:
    """Why `code` cannot be a terminal's resource code ("" when it can)."""
    if len(code) != 23 or not code.isascii() or not code.isdigit():
        return _("A resource code has 23 digits.")
    if code[0] != "6":
        return _("A terminal's resource code starts with 6 (village level).")
    if village is not None and code[1:13] != village.code:
        return _("Digits 2–13 of the resource code must be the village code %(code)s.") % {"code": village.code}
    return ""


@dataclass
class TerminalDetails:
    """What the registry keeps about a terminal besides its identity and village."""

    name: str = ""
    kind: str = TerminalKind.IP_LOUDSPEAKER
    model: str = ""
    firmware: str = ""
    transport: str = ""  # empty: the usual transport of the kind
    installed_on: date | None = None
    latitude: Decimal | None = None
    longitude: Decimal | None = None
    owner_station: str = ""
    maintainer: User | None = field(default=None, compare=False)
    languages: list[str] = field(default_factory=list)  # most preferred first; empty: the deployment's

    @classmethod
    def of(cls, terminal: Terminal) -> "TerminalDetails":
        return cls(
            name=terminal.name,
            kind=terminal.kind,
            model=terminal.model,
            firmware=terminal.firmware,
            transport=terminal.transport,
            installed_on=terminal.installed_on,
            latitude=terminal.latitude,
            longitude=terminal.longitude,
            owner_station=terminal.owner_station,
            maintainer=terminal.maintainer,
            languages=list(terminal.languages or []),
        )

    def as_audit(self) -> dict[str, Any]:
        data = asdict(replace(self, maintainer=None))
        data["maintainer"] = self.maintainer.username if self.maintainer is not None else ""
        data["installed_on"] = self.installed_on.isoformat() if self.installed_on else None
        for name in ("latitude", "longitude"):
            data[name] = str(data[name]) if data[name] is not None else None
        return data


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        raise ValueError(value) from None
    if not number.is_finite():
        raise ValueError(value)
    return number.quantize(Decimal("0.000001"))


def details_problems(*, details: TerminalDetails, village: Region) -> dict[str, list[str]]:
    """Field → what is wrong, for the registry fields of a terminal in `village` (empty: fine).

    Normalises `details` in place (trimmed text, the kind's usual transport, rounded coordinates).
    """
    problems: dict[str, list[str]] = {}

    def bad(name: str, message: str) -> None:
        problems.setdefault(name, []).append(message)

    details.name = (details.name or "").strip()
    details.model = (details.model or "").strip()
    details.firmware = (details.firmware or "").strip()
    details.owner_station = (details.owner_station or "").strip()
    for name, limit in (("name", 100), ("model", 100), ("firmware", 50), ("owner_station", 100)):
        if len(getattr(details, name)) > limit:
            bad(name, _("At most %(n)d characters.") % {"n": limit})
    if details.kind not in TerminalKind.values:
        bad("kind", _("Unknown kind; use one of %(kinds)s.") % {"kinds": ", ".join(TerminalKind.values)})
    elif not details.transport:
        details.transport = KIND_TRANSPORT[TerminalKind(details.kind)]
    if details.transport not in Transport.values:
        bad("transport", _("Unknown transport; use one of %(t)s.") % {"t": ", ".join(Transport.values)})
    for name, (low, high) in (("latitude", LATITUDE_RANGE), ("longitude", LONGITUDE_RANGE)):
        try:
            value = _decimal(getattr(details, name))
        except ValueError:
            bad(name, _("Not a number."))
            continue
        setattr(details, name, value)
        if value is not None and not low <= value <= high:
            bad(name, _("Must lie between %(low)s and %(high)s (China).") % {"low": low, "high": high})
    if (details.latitude is None) != (details.longitude is None) and not problems.keys() & {"latitude", "longitude"}:
        bad("latitude" if details.latitude is None else "longitude", _("Give both latitude and longitude, or neither."))
    details.languages = [code.strip() if isinstance(code, str) else code for code in details.languages or []]
    for message in language_list_problems(details.languages):
        bad("languages", message)
    if details.installed_on is not None and details.installed_on > timezone.localdate():
        bad("installed_on", _("The installation date is in the future."))
    if details.maintainer is not None and not access_check(
        user=details.maintainer, action=Action.TERMINAL_MAINTAIN, region=village
    ):
        bad(
            "maintainer",
            _("%(user)s does not maintain terminals in %(village)s (needs the maintainer role there).")
            % {"user": details.maintainer.username, "village": village.name},
        )
    return problems


def _require_village(village: Region) -> None:
    if village.level != Level.VILLAGE:
        raise ValidationError(
            _("Terminals are installed in villages; %(name)s is not a village.") % {"name": village.name},
            fields={"village": [_("Choose a village.")]},
        )


def next_serial(*, village: Region) -> int:
    """The smallest free serial in a village (0 when all 99 are used)."""
    used = {int(code[-2:]) for code in Terminal.objects.filter(village=village).values_list("code", flat=True)}
    return next((n for n in range(1, 100) if n not in used), 0)


@dataclass(frozen=True)
class Registration:
    terminal: Terminal
    password: str  # shown once, in the provisioning file ("" when no credentials were issued)


def terminal_register(
    *,
    actor: User | None,
    village: Region,
    kind: str = TerminalKind.IP_LOUDSPEAKER,
    name: str = "",
    serial: int | None = None,
    code: str = "",
    details: TerminalDetails | None = None,
    issue_credentials: bool = True,
) -> Registration:
    """Register a terminal in a village; with `issue_credentials`, issue its own broker password.

    `actor` needs `terminal.control` on the village (None: the system, e.g. the demo set-up).
    `details` (kind, model, position, …) overrides `kind` and `name`. `code` registers a resource
    code the installer already has on the device; otherwise the next free serial is used.
    """
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=village)
    _require_village(village)
    details = details or TerminalDetails(kind=kind, name=name)
    problems = details_problems(details=details, village=village)
    if problems:
        raise ValidationError(_("Check the terminal's details."), fields=problems)
    if code:
        problem = terminal_code_problem(code=code, village=village)
        if problem:
            raise ValidationError(problem, fields={"code": [problem]})
    else:
        if serial is None:
            serial = next_serial(village=village)
            if not serial:
                raise Conflict(_("This village already has 99 terminals."))
        code = terminal_code(village=village, serial=serial)
    if Terminal.objects.filter(code=code).exists():
        raise Conflict(_("Terminal %(code)s already exists.") % {"code": code}, fields={"code": [_("Taken.")]})
    password = new_device_password() if issue_credentials else ""
    with transaction.atomic():
        terminal = Terminal.objects.create(
            code=code,
            village=village,
            broker_password_hash=mosquitto_password_hash(password) if password else "",
            provisioned_at=timezone.now() if password else None,
            **_detail_fields(details, village=village, serial=int(code[-2:])),
        )
        _state_create([terminal])
        audit_record(
            actor=actor,
            verb="terminal.register",
            obj=terminal,
            region_code=village.code,
            after={"code": code, "village": village.code, **details.as_audit()},
        )
    return Registration(terminal=terminal, password=password)


def _detail_fields(details: TerminalDetails, *, village: Region, serial: int) -> dict[str, Any]:
    return {
        "name": details.name or f"{village.name} {serial:02d}",
        "kind": details.kind,
        "model": details.model,
        "firmware": details.firmware,
        "transport": details.transport,
        "installed_on": details.installed_on,
        "latitude": details.latitude,
        "longitude": details.longitude,
        "owner_station": details.owner_station,
        "maintainer": details.maintainer,
        "languages": details.languages,
    }


def _state_create(terminals: list[Terminal]) -> None:
    """Every terminal has its current-state row from the start (offline until it reports)."""
    states_create(terminals=terminals)


def terminal_update(*, actor: User | None, terminal: Terminal, details: TerminalDetails) -> Terminal:
    """Change a terminal's registry fields (identity, village and credentials stay)."""
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=terminal.village)
    problems = details_problems(details=details, village=terminal.village)
    if problems:
        raise ValidationError(_("Check the terminal's details."), fields=problems)
    before = TerminalDetails.of(terminal)
    if not details.name:
        details.name = terminal.name
    if before.as_audit() == details.as_audit():
        return terminal
    with transaction.atomic():
        for name, value in _detail_fields(details, village=terminal.village, serial=int(terminal.code[-2:])).items():
            setattr(terminal, name, value)
        terminal.save()
        audit_record(
            actor=actor,
            verb="terminal.update",
            obj=terminal,
            region_code=terminal.village_id,
            before=before.as_audit(),
            after=details.as_audit(),
        )
    return terminal


def terminal_credentials_issue(*, actor: User | None, terminal: Terminal, sync: bool = True) -> Registration:
    """Issue new broker credentials (the provisioning file carries the password, shown once).

    The previous password stops working when the broker reloads, right after the commit
    (`sync=False`: the caller syncs once for many, see `terminals_provision`).
    """
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=terminal.village)
    if terminal.revoked_at is not None:
        raise Conflict(_("Terminal %(code)s is revoked; register a new one.") % {"code": terminal.code})
    password = new_device_password()
    with transaction.atomic():
        terminal.broker_password_hash = mosquitto_password_hash(password)
        terminal.provisioned_at = timezone.now()
        terminal.save(update_fields=["broker_password_hash", "provisioned_at", "updated_at"])
        audit_record(actor=actor, verb="terminal.provision", obj=terminal, region_code=terminal.village_id)
        if sync:
            broker_credentials_sync()
    return Registration(terminal=terminal, password=password)


# At most this many provisioning files in one request (a county's installation batch).
PROVISION_BATCH_MAX = 5000


def terminals_provision(*, actor: User | None, terminals: list[Terminal]) -> list[Registration]:
    """Issue credentials to many terminals in one transaction and one broker reload."""
    if len(terminals) > PROVISION_BATCH_MAX:
        raise ValidationError(_("At most %(n)d terminals at a time; narrow the filter.") % {"n": PROVISION_BATCH_MAX})
    with transaction.atomic():
        issued = [terminal_credentials_issue(actor=actor, terminal=t, sync=False) for t in terminals]
        broker_credentials_sync()
    return issued


def terminal_revoke(*, actor: User | None, terminal: Terminal) -> Terminal:
    """Cut a terminal off: the broker drops its credentials (and its connection) after the commit."""
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=terminal.village)
    if terminal.revoked_at is not None:
        return terminal
    with transaction.atomic():
        terminal.revoked_at = timezone.now()
        terminal.save(update_fields=["revoked_at", "updated_at"])
        # A revoked terminal leaves the fleet: no state row, so no online rate or fault counts it.
        TerminalState.objects.filter(terminal_id=terminal.code).delete()
        audit_record(actor=actor, verb="terminal.revoke", obj=terminal, region_code=terminal.village_id)
        broker_credentials_sync()
    return terminal
