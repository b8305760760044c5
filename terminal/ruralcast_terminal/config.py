"""A terminal's provisioning: `AgentConfig`, read from the provisioning file (JSON or TOML).

Who the terminal is (23-digit id, village), where its broker is and with which credentials, whom it
trusts (the trust list it was provisioned with; later updates are kept in the cache dir), where it
keeps its state, how it plays (the sink) and how it reports. `ruralcast-terminal provision` writes
such a file from the platform's provisioning document (`provision.py`).
"""

from __future__ import annotations

import json
import ssl
import tomllib
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from ruralcast_terminal import protocol
from ruralcast_terminal.languages import DEFAULT_LANGUAGES, preference_of
from ruralcast_terminal.protocol import TrustList

# The freshness window (protocols.md §4, rule 5: an alert `sent` longer ago than this is `stale`):
# provisioning file `freshness_seconds`, default 24 h. At least 10 minutes (a delivery delayed by a
# reconnect must not be refused; the future tolerance alone is 5), at most 7 days (the longest an
# alert may run, so a terminal never takes a week-old copy for news).
FRESHNESS_MIN_SECONDS = 600
FRESHNESS_MAX_SECONDS = 7 * 24 * 3600


def freshness_of(value: Any) -> timedelta:
    """The provisioning file's `freshness_seconds`, checked against the bounds (ValueError)."""
    if value is None:
        return protocol.DEFAULT_FRESHNESS
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"freshness_seconds is a number of seconds, not {value!r}")
    if not FRESHNESS_MIN_SECONDS <= value <= FRESHNESS_MAX_SECONDS:
        raise ValueError(
            f"freshness_seconds {value} is outside {FRESHNESS_MIN_SECONDS}–{FRESHNESS_MAX_SECONDS} (10 minutes to 7 days)"
        )
    return timedelta(seconds=float(value))


@dataclass
class AgentConfig:
    """A terminal's provisioning: who it is, where the broker is, whom it trusts, how it plays."""

    terminal_id: str
    village_code: str
    trust: TrustList
    cache_dir: Path
    broker_host: str = "127.0.0.1"
    broker_port: int = 1883
    username: str | None = None
    password: str | None = None
    # TLS with CA pinning (tls.py): the PEM of the CA that signed the broker's certificate; None:
    # plain TCP (the platform's loopback listener only, or a plain listener an operator opted in to).
    broker_ca: str | None = None
    broker_server_name: str | None = None  # the name the certificate must carry (default: broker_host)
    sink: dict[str, Any] | str | None = None
    freshness: timedelta = protocol.DEFAULT_FRESHNESS
    keepalive: int = 60
    reconnect_base: float = 1.0
    reconnect_cap: float = 60.0
    status_interval: float = 60.0  # seconds between status reports (§7); 0: only on connect
    reboot_command: list[str] | None = None  # what `reboot` runs (default: reconnect only)
    firmware_command: list[str] | None = None  # installs a verified firmware file (its path is appended)
    probe: list[str] | None = None  # a vendor command printing a JSON object of readings
    firmware: str = ""
    model: str = ""  # the device model a firmware manifest must name (ruralcast_terminal.firmware)
    volume: int = 80
    # Seconds the device clock is off (tests and simulations inject a skew here, never into the
    # machine's clock); the signed time sync (protocols.md §11) corrects for it.
    clock_offset_seconds: float = 0.0
    # The languages this terminal plays, most preferred first (languages.py; protocols.md §4): e.g.
    # ["iii", "zho"] in a Yi village. Default: the deployment's language, Mandarin.
    languages: tuple[str, ...] = DEFAULT_LANGUAGES

    def __post_init__(self) -> None:
        protocol.covering_codes(self.village_code)  # raises ValueError for a bad code
        if not self.terminal_id or any(c in self.terminal_id for c in "/+#"):
            raise ValueError(f"terminal id {self.terminal_id!r} cannot be an MQTT topic level")
        if self.broker_ca is not None:
            self.tls_context()  # raises ValueError for a CA that is not a certificate

    def tls_context(self) -> ssl.SSLContext | None:
        """The TLS context pinning `broker_ca`, or None for plain TCP."""
        if self.broker_ca is None:
            return None
        from ruralcast_terminal.tls import client_context

        return client_context(self.broker_ca)

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, base: Path | None = None) -> AgentConfig:
        """Keys: terminal_id, village_code, broker ("host:port") or broker_host/broker_port,
        username, password, broker_ca (PEM: TLS pinned to this CA), broker_server_name, trust (the list itself) or trust_path, cache_dir, sink,
        freshness_seconds, keepalive, reconnect_base, reconnect_cap, status_interval, probe (argv),
        firmware, model, volume, clock_offset_seconds, languages (codes, most preferred first). Relative paths are read
        from `base` (the provisioning file's directory)."""
        base = base or Path.cwd()

        def path(value: str) -> Path:
            p = Path(value).expanduser()
            return p if p.is_absolute() else base / p

        missing = [k for k in ("terminal_id", "village_code", "cache_dir") if not data.get(k)]
        if missing:
            raise ValueError(f"provisioning file lacks {', '.join(missing)}")
        if "trust" in data and not isinstance(data["trust"], str):
            trust = TrustList.from_list(data["trust"])
        elif data.get("trust_path") or isinstance(data.get("trust"), str):
            trust = TrustList.from_json(path(data.get("trust_path") or data["trust"]).read_bytes())
        else:
            raise ValueError("provisioning file lacks trust (a list) or trust_path")
        host, port = data.get("broker_host", "127.0.0.1"), int(data.get("broker_port", 1883))
        if data.get("broker"):
            host, _, port_text = str(data["broker"]).rpartition(":")
            port = int(port_text)
        return cls(
            terminal_id=str(data["terminal_id"]),
            village_code=str(data["village_code"]),
            trust=trust,
            cache_dir=path(str(data["cache_dir"])),
            broker_host=host,
            broker_port=port,
            username=data.get("username"),
            password=data.get("password"),
            broker_ca=str(data["broker_ca"]) if data.get("broker_ca") else None,
            broker_server_name=str(data["broker_server_name"]) if data.get("broker_server_name") else None,
            sink=data.get("sink"),
            freshness=freshness_of(data.get("freshness_seconds")),
            keepalive=int(data.get("keepalive", 60)),
            reconnect_base=float(data.get("reconnect_base", 1.0)),
            reconnect_cap=float(data.get("reconnect_cap", 60.0)),
            status_interval=float(data.get("status_interval", 60.0)),
            probe=[str(part) for part in data["probe"]] if isinstance(data.get("probe"), list) else None,
            firmware=str(data.get("firmware", "")),
            model=str(data.get("model", "")),
            reboot_command=[str(p) for p in data["reboot_command"]]
            if isinstance(data.get("reboot_command"), list)
            else None,
            firmware_command=[str(p) for p in data["firmware_command"]]
            if isinstance(data.get("firmware_command"), list)
            else None,
            volume=int(data.get("volume", 80)),
            clock_offset_seconds=float(data.get("clock_offset_seconds", 0.0)),
            languages=preference_of(data.get("languages")),
        )

    @classmethod
    def load(cls, path: Path) -> AgentConfig:
        """Read a provisioning file: TOML if it ends in .toml, JSON otherwise."""
        text = path.read_bytes()
        data = tomllib.loads(text.decode("utf-8")) if path.suffix == ".toml" else json.loads(text)
        if not isinstance(data, dict):
            raise ValueError("a provisioning file holds one object")
        return cls.from_dict(data, base=path.parent)
