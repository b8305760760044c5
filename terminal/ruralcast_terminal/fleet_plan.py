"""Who the simulator's virtual terminals are: ids, villages and credentials, deterministically.

The same plan in every run: terminal ids follow the platform's scheme (`6` + village + `03140104` +
serial, as ruralcast.terminals.services gives them), spread round-robin over the villages named (or
made up below a region), or read from the platform's password export.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from ruralcast_terminal import protocol

TERMINAL_TYPE_DIGITS = "03140104"  # as ruralcast.terminals.services: transmission / loudspeaker / terminal


@dataclass(frozen=True)
class TerminalSpec:
    terminal_id: str
    village_code: str
    username: str | None = None
    password: str | None = None
    languages: tuple[str, ...] = ("zho",)  # provisioned preference (languages.py), as a device's


def terminal_id_for(village_code: str, serial: int) -> str:
    """The 23-digit resource code the platform gives the `serial`-th terminal of a village."""
    if not 1 <= serial <= 99:
        raise ValueError("a village has terminal serials 1 to 99")
    return f"6{village_code}{TERMINAL_TYPE_DIGITS}{serial:02d}"


# Values per level when villages are made up below a region.
_SYNTHETIC_GROUPS = {2: range(11, 66), 4: range(1, 21), 6: range(1, 21), 9: range(1, 31), 12: range(1, 1000)}
_GROUP_BOUNDS = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))


def synthetic_villages(region: str) -> Iterator[str]:
    """Deterministic, well-formed village codes below `region` (for a broker test without a platform)."""
    prefix = protocol.code_prefix(region)
    groups = [(start, end) for start, end in _GROUP_BOUNDS if start >= len(prefix)]
    if not groups:
        yield region
        return
    # The village number varies slowest, so the first codes spread over every township, county …
    # (many distinct region topics, as in a real fleet) before a township gets a second village.
    ranges = [_SYNTHETIC_GROUPS[end] for _, end in reversed(groups)]
    for values in itertools.product(*ranges):
        yield prefix + "".join(
            str(v).zfill(end - start) for v, (start, end) in zip(reversed(values), groups, strict=True)
        )


def read_villages(path: Path) -> list[str]:
    codes = []
    for line in path.read_text("utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            protocol.covering_codes(line)  # ValueError on a bad code
            codes.append(line)
    return codes


def read_password_file(path: Path) -> list[tuple[str, str]]:
    """`<terminal id>:<password>` per line (the provisioning export), `#` comments allowed."""
    pairs = []
    for number, line in enumerate(path.read_text("utf-8").splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        tid, sep, password = line.partition(":")
        if not sep or len(tid) != 23 or not tid.isdigit():
            raise ValueError(f"{path}:{number}: expected <23-digit terminal id>:<password>")
        pairs.append((tid, password))
    return pairs


def plan_terminals(
    *,
    count: int,
    region: str,
    villages: Sequence[str] = (),
    password_file: Path | None = None,
    username_prefix: str | None = None,
    password: str | None = None,
) -> list[TerminalSpec]:
    """`count` terminals below `region`, deterministically.

    From a password file: its terminals (the village is digits 2–13 of the id). Otherwise spread
    round-robin over `villages` (or made-up villages below the region, one terminal each), with
    the platform's id scheme; user name `username_prefix + id` when a prefix is given (else the
    broker must allow anonymous clients), all with `password`.
    """
    if count < 1:
        raise ValueError("count is at least 1")
    prefix = protocol.code_prefix(region)
    if password_file is not None:
        pairs = [(tid, pw) for tid, pw in read_password_file(password_file) if tid[1:13].startswith(prefix)]
        if len(pairs) < count:
            raise ValueError(f"{password_file} lists {len(pairs)} terminals below {region}, fewer than {count}")
        return [TerminalSpec(tid, tid[1:13], tid, pw) for tid, pw in pairs[:count]]
    pool = (
        [v for v in villages if v.startswith(prefix)]
        if villages
        else list(itertools.islice(synthetic_villages(region), count))
    )
    if not pool:
        raise ValueError(f"no villages below {region}")
    if math.ceil(count / len(pool)) > 99:
        raise ValueError(f"{count} terminals over {len(pool)} villages exceeds 99 per village")
    specs = []
    for i in range(count):
        village = pool[i % len(pool)]
        tid = terminal_id_for(village, i // len(pool) + 1)
        specs.append(TerminalSpec(tid, village, None if username_prefix is None else username_prefix + tid, password))
    return specs
