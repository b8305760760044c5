"""Remote commands (docs/protocols.md §8): checking one, and the acknowledgement a terminal sends.

A command arrives signed, like an alert, on a region topic (`rc/v1/down/r/<region>/cmd-<id>`) or the
terminal's own topic; its payload is `{"kind": "command", "id", "command", "params", "sent",
"expires", "areas" | "terminals"}`. A terminal acts on it once (by `id`), if it is meant for it and
not expired, and answers on `rc/v1/up/<terminal>/ack` with `{"terminal", "id", "result":
"done" | "failed" | "rejected", "detail", "at"}`.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from ruralcast_terminal import protocol

COMMAND_KIND = "command"
COMMANDS = ("power", "volume", "reboot", "time_sync", "config", "firmware")
DONE, FAILED, REJECTED = "done", "failed", "rejected"


class NotForMe(Exception):
    """The command names other terminals or regions: no answer."""


class Refused(Exception):
    """The command is for this terminal but cannot be carried out; answered `rejected`."""


def ack_bytes(*, terminal: str, command_id: str, result: str, detail: str = "", at: str) -> bytes:
    body = {"terminal": terminal, "id": command_id, "result": result, "detail": detail[:200], "at": at}
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def is_command(payload: dict[str, Any]) -> bool:
    return payload.get("kind") == COMMAND_KIND


def command_check(
    payload: dict[str, Any], *, terminal_id: str, village_code: str, now: datetime
) -> tuple[str, str, dict[str, Any]]:
    """(id, command, params) of a command meant for this terminal; NotForMe or Refused otherwise."""
    command_id, command, params = payload.get("id"), payload.get("command"), payload.get("params", {})
    if not isinstance(command_id, str) or not command_id or len(command_id) > 32:
        raise NotForMe("no usable id")
    areas, terminals = payload.get("areas"), payload.get("terminals")
    if isinstance(terminals, list):
        if terminal_id not in terminals:
            raise NotForMe("other terminals")
    elif isinstance(areas, list) and all(isinstance(a, str) and len(a) == 12 and a.isdigit() for a in areas):
        if not any(protocol.area_covers(area, village_code) for area in areas):
            raise NotForMe("other regions")
    else:
        raise NotForMe("no target")
    if command not in COMMANDS or not isinstance(params, dict):
        raise Refused(f"unknown command {command!r}")
    try:
        expires = datetime.fromisoformat(str(payload.get("expires")))
    except ValueError:
        raise Refused("expires is not a time") from None
    if expires.tzinfo is None:
        raise Refused("expires has no UTC offset")
    if now > expires:
        raise Refused("expired")
    return command_id, command, params
