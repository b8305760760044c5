"""Writes to the terminal registry: register (issuing credentials) and revoke."""

from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.terminals.credentials import mosquitto_password_hash, new_device_password
from ruralcast.terminals.models import Terminal, TerminalKind

# Type, subtype, system serial and sub-resource of a village loudspeaker terminal (protocols.md §1).
TERMINAL_TYPE_DIGITS = "03140104"


def terminal_code(*, village: Region, serial: int) -> str:
    """The 23-digit resource code of the `serial`-th terminal of a village."""
    if not 1 <= serial <= 99:
        raise ValidationError(_("A village has terminal serials 1 to 99."))
    return f"6{village.code}{TERMINAL_TYPE_DIGITS}{serial:02d}"


@dataclass(frozen=True)
class Registration:
    terminal: Terminal
    password: str  # shown once, in the provisioning file


def terminal_register(
    *, actor: Any, village: Region, kind: str = TerminalKind.IP_LOUDSPEAKER, name: str = "", serial: int | None = None
) -> Registration:
    """Register a terminal in a village and issue its own broker password.

    `actor` needs `terminal.control` on the village (None: the system, e.g. the demo set-up).
    """
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=village)
    if village.level != Level.VILLAGE:
        raise ValidationError(
            _("Terminals are installed in villages; %(name)s is not a village.") % {"name": village.name},
            fields={"village": [_("Choose a village.")]},
        )
    if kind not in TerminalKind.values:
        raise ValidationError(_("Unknown terminal kind."), fields={"kind": [_("Unknown kind.")]})
    if serial is None:
        used = {int(code[-2:]) for code in Terminal.objects.filter(village=village).values_list("code", flat=True)}
        serial = next((n for n in range(1, 100) if n not in used), 0)
        if not serial:
            raise Conflict(_("This village already has 99 terminals."))
    code = terminal_code(village=village, serial=serial)
    if Terminal.objects.filter(code=code).exists():
        raise Conflict(_("Terminal %(code)s already exists.") % {"code": code})
    password = new_device_password()
    with transaction.atomic():
        terminal = Terminal.objects.create(
            code=code,
            name=name or f"{village.name} {serial:02d}",
            kind=kind,
            village=village,
            broker_password_hash=mosquitto_password_hash(password),
        )
        audit_record(
            actor=actor,
            verb="terminal.register",
            obj=terminal,
            region_code=village.code,
            after={"code": code, "kind": kind, "village": village.code},
        )
    return Registration(terminal=terminal, password=password)


def terminal_revoke(*, actor: Any, terminal: Terminal) -> Terminal:
    """Cut a terminal off: its broker credentials are removed at the next broker sync."""
    if actor is not None:
        access_require(user=actor, action=Action.TERMINAL_CONTROL, region=terminal.village)
    if terminal.revoked_at is not None:
        return terminal
    with transaction.atomic():
        terminal.revoked_at = timezone.now()
        terminal.save(update_fields=["revoked_at"])
        audit_record(actor=actor, verb="terminal.revoke", obj=terminal, region_code=terminal.village_id)
    return terminal
