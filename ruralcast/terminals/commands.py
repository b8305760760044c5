"""Remote control: commands to terminals, their acknowledgements and timeouts (protocols.md §8).

`command_send` checks `terminal.control` over every target, validates the parameters of the
command's kind, records the command and one `CommandTarget` per terminal (waiting), and queues one
outbox row: the dispatcher signs the command once and publishes it **once per target region topic**
(`rc/v1/down/r/<region>/cmd-<id>`, the broker fans out) or once per terminal topic for commands to
named terminals, QoS 1, not retained. Each terminal answers on `rc/v1/up/<id>/ack`; the ingest
worker writes answers in batches (`acks_write`), and `fleet_watch` marks the targets that have not
answered by the deadline as timed out (`commands_time_out`).

`command_send` is the service (access over every target, audit record and outbox row in one
transaction). `acks_write` (the ingest worker's, per batch) and `commands_time_out` (the fleet
watcher's) are deliberate bulk writers outside services: they record what terminals answered, or
that they did not, on the targets of a command already audited; one UPDATE per answer group, no
actor, no per-target audit (CONTRIBUTING.md).
"""

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require_all
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import ValidationError
from ruralcast.messaging.handlers import Outgoing, register_outbox_handler, register_uplink_handler
from ruralcast.messaging.services import outbox_enqueue
from ruralcast.messaging.topics import ACK
from ruralcast.regions.codes import Level
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.terminals.firmware.services import firmware_params_clean
from ruralcast.terminals.importer import _common_region
from ruralcast.terminals.models import AckState, Command, CommandKind, CommandTarget, Terminal
from ruralcast.terminals.selectors import terminals_in_regions

OUTBOX_COMMAND = "terminal.command"
TIMEOUT_DEFAULT = 120
TIMEOUT_RANGE = (10, 86_400)
# What a terminal may answer (anything else is stored as failed).
ANSWERS = {AckState.DONE, AckState.FAILED, AckState.REJECTED}


def _int(params: dict[str, Any], name: str, low: int, high: int, *, required: bool = True) -> int | None:
    value = params.get(name)
    if value is None and not required:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ValidationError(
            _("%(name)s must be a whole number from %(low)d to %(high)d.") % {"name": name, "low": low, "high": high},
            fields={f"params.{name}": [_("Out of range.")]},
        )
    return value


def params_clean(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    """The parameters a command of `kind` carries, checked; ValidationError naming the bad one."""
    if kind not in CommandKind.values:
        raise ValidationError(_("Unknown command."), fields={"kind": [_("Unknown command.")]})
    if not isinstance(params, dict):
        raise ValidationError(_("Parameters are an object."), fields={"params": [_("Not an object.")]})
    if kind == CommandKind.POWER:
        if not isinstance(params.get("on"), bool):
            raise ValidationError(_("Say on: true or false."), fields={"params.on": [_("Required.")]})
        return {"on": params["on"]}
    if kind == CommandKind.VOLUME:
        return {"volume": _int(params, "volume", 0, 100)}
    if kind == CommandKind.CONFIG:
        clean = {
            "status_interval": _int(params, "status_interval", 10, 3600, required=False),
            "volume": _int(params, "volume", 0, 100, required=False),
        }
        clean = {k: v for k, v in clean.items() if v is not None}
        if not clean:
            raise ValidationError(
                _("A configuration push sets status_interval or volume."), fields={"params": [_("Nothing to set.")]}
            )
        return clean
    if kind == CommandKind.FIRMWARE:
        return firmware_params_clean(params)  # {"release": id}; command_send builds the rest
    return {}  # reboot, time sync


@dataclass(frozen=True)
class CommandCounts:
    targeted: int
    waiting: int
    done: int
    failed: int
    rejected: int
    timeout: int

    @property
    def answered(self) -> int:
        return self.done + self.failed + self.rejected


def command_send(
    *,
    actor: User | None,
    kind: str,
    params: dict[str, Any] | None = None,
    regions: list[Region] | None = None,
    terminals: list[Terminal] | None = None,
    timeout_s: int = TIMEOUT_DEFAULT,
) -> Command:
    """Send a command to every active terminal below `regions`, or to `terminals`.

    `terminal.control` over every target; a firmware command needs `firmware.manage` instead and
    names an approved release, inside whose regions every target must lie (firmware.services).
    """
    regions, terminals = list(regions or []), list(terminals or [])
    if bool(regions) == bool(terminals):
        raise ValidationError(_("Choose regions or terminals."), fields={"regions": [_("Choose the targets.")]})
    if not TIMEOUT_RANGE[0] <= timeout_s <= TIMEOUT_RANGE[1]:
        raise ValidationError(
            _("The answer time is %(low)d to %(high)d seconds.") % {"low": TIMEOUT_RANGE[0], "high": TIMEOUT_RANGE[1]},
            fields={"timeout_s": [_("Out of range.")]},
        )
    clean = params_clean(kind, params or {})
    action = Action.FIRMWARE_MANAGE if kind == CommandKind.FIRMWARE else Action.TERMINAL_CONTROL
    if actor is not None:
        areas = [*regions, *(terminal.village for terminal in terminals)]
        access_require_all(user=actor, action=action, regions=areas)
    if any(t.revoked_at is not None for t in terminals):
        raise ValidationError(_("A revoked terminal cannot be commanded."), fields={"terminals": [_("Revoked.")]})
    # Nested regions: the outer one covers the inner ones (one message fewer, no duplicate).
    kept: list[Region] = []
    for region in sorted({r.code: r for r in regions}.values(), key=lambda r: (r.level, r.code)):
        if not any(region.code.startswith(outer.prefix) for outer in kept):
            kept.append(region)
    kept.sort(key=lambda r: r.code)
    codes = [r.code for r in kept]
    if kept:
        targets = list(terminals_in_regions(regions=kept).values_list("code", flat=True))
    else:
        targets = [t.code for t in terminals]
    if not targets:
        raise ValidationError(_("No active terminal in the chosen regions."), fields={"regions": [_("No terminals.")]})
    now = timezone.now()
    if kind == CommandKind.FIRMWARE:
        from ruralcast.terminals.firmware.services import firmware_command_params

        clean = firmware_command_params(actor=actor, params=clean, regions=kept, terminals=terminals, now=now)
    with transaction.atomic():
        command = Command.objects.create(
            key=secrets.token_hex(8),
            kind=kind,
            params=clean,
            regions=codes,
            terminals=[t.code for t in terminals],
            region_code=_common_region(codes or [t.village_id for t in terminals]),
            created_by=actor if actor is not None and actor.is_authenticated else None,
            expires_at=now + timedelta(seconds=timeout_s),
            targeted=len(targets),
        )
        CommandTarget.objects.bulk_create(
            [CommandTarget(command=command, terminal_code=code) for code in targets], batch_size=2000
        )
        outbox_enqueue(kind=OUTBOX_COMMAND, key=command.key)
        audit_record(
            actor=actor,
            verb="terminal.command",
            obj=command,
            region_code=command.region_code,
            after={
                "kind": kind,
                "params": {k: v for k, v in clean.items() if k != "manifest"},  # the release's, kept there
                "regions": codes,
                "terminals": command.terminals,
                "targeted": len(targets),
            },
        )
    return command


def command_payload(command: Command) -> dict[str, Any]:
    """The signed payload (§8)."""
    tz = timezone.get_current_timezone()
    payload: dict[str, Any] = {
        "kind": "command",
        "id": command.key,
        "command": command.kind,
        "params": command.params,
        "sent": command.created_at.astimezone(tz).isoformat(timespec="seconds"),
        "expires": command.expires_at.astimezone(tz).isoformat(timespec="seconds"),
    }
    if command.regions:
        payload["areas"] = command.regions
    else:
        payload["terminals"] = command.terminals
    return payload


def command_topics(command: Command) -> list[str]:
    from ruralcast.messaging.topics import command_topic, terminal_topic

    if command.regions:
        return [command_topic(code, command.key) for code in command.regions]
    return [terminal_topic(code) for code in command.terminals]


def _build(key: str) -> list[Any]:
    command = Command.objects.get(key=key)
    payload = command_payload(command)
    return [Outgoing(topic=topic, payload=payload, retain=False) for topic in command_topics(command)]


def connect() -> None:
    register_outbox_handler(OUTBOX_COMMAND, _build)
    register_uplink_handler(ACK, acks_write)


def acks_write(items: list[Any]) -> None:
    """Answers of terminals (`messaging.handlers.Uplink` on `…/ack`), grouped into few UPDATEs.

    Only a waiting target takes an answer (a repeated or late answer changes nothing).
    """
    groups: dict[tuple[str, str, str], list[str]] = {}
    for item in items:
        body = item.payload
        key, result = body.get("id"), body.get("result")
        if not isinstance(key, str) or len(key) > 32:
            continue
        state = result if result in ANSWERS else AckState.FAILED
        detail = body.get("detail") if isinstance(body.get("detail"), str) else ""
        groups.setdefault((key, state, detail[:200]), []).append(item.terminal)
    if not groups:
        return
    ids = dict(Command.objects.filter(key__in={k for k, _s, _d in groups}).values_list("key", "id"))
    now = timezone.now()
    for (key, state, detail), codes in groups.items():
        if key in ids:
            CommandTarget.objects.filter(command_id=ids[key], terminal_code__in=codes, state=AckState.PENDING).update(
                state=state, detail=detail, answered_at=now
            )


def commands_time_out(*, now: datetime | None = None) -> int:
    """Targets still waiting after their command's deadline: timed out. Returns how many."""
    now = now or timezone.now()
    expired = Command.objects.filter(expires_at__lt=now, targets__state=AckState.PENDING).values_list("id", flat=True)
    return CommandTarget.objects.filter(command_id__in=list(expired.distinct()[:1000]), state=AckState.PENDING).update(
        state=AckState.TIMEOUT
    )


def command_counts(command: Command) -> CommandCounts:
    counts = dict(command.targets.values_list("state").annotate(n=Count("id")).values_list("state", "n"))
    return CommandCounts(
        targeted=command.targeted,
        waiting=counts.get(AckState.PENDING, 0),
        done=counts.get(AckState.DONE, 0),
        failed=counts.get(AckState.FAILED, 0),
        rejected=counts.get(AckState.REJECTED, 0),
        timeout=counts.get(AckState.TIMEOUT, 0),
    )


def regions_for_command(codes: list[str]) -> list[Region]:
    """Regions from codes (each must exist and lie at village level or above)."""
    found = [region_get(code=code, field="regions") for code in codes]
    return [r for r in found if r.level <= Level.VILLAGE]
