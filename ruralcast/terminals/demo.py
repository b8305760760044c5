"""The demo county's terminals: registered like real ones, simulated by `ruralcast-terminal simulate`.

`demo_terminals_register` registers terminals in the villages of a county (through the normal
service: each gets its own broker password), writes the simulator's files under RUN_DIR/sim/
(`terminals.passwords` with `<id>:<password>` lines, mode 600, as a device would keep its own
credential; `trust.json`, the public keys terminals trust) and syncs the broker's password file.

A believable year: each demo terminal is dated as installed (and registered) on a day of the past
year, spread by its village code, so past periods have terminals installed and the online rate,
build progress and coverage of the dashboard, pivot and circulars read as a county building out.
"""

import hashlib
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from ruralcast.messaging.services import broker_credentials_sync
from ruralcast.regions.codes import Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.signing.selectors import trust_list_build
from ruralcast.terminals.models import EventKind, Terminal, TerminalEvent
from ruralcast.terminals.services import TerminalDetails, terminal_register, terminal_update

# The demo county's extent (榕江县, about 108.15–108.90°E, 25.60–26.30°N) for made-up positions.
DEMO_BOX = (Decimal("25.62"), Decimal("26.28"), Decimal("108.18"), Decimal("108.86"))


def _spread(text: str) -> tuple[Decimal, Decimal]:
    digest = hashlib.sha256(text.encode()).digest()
    return Decimal(digest[0] * 256 + digest[1]) / 65536, Decimal(digest[2] * 256 + digest[3]) / 65536


def demo_position(village_code: str, serial: int = 1) -> tuple[Decimal, Decimal]:
    """A made-up but stable position: townships spread over the county's box, villages within
    ~4 km of their township's point (the demo has no real coordinates; documented as such)."""
    south, north, west, east = DEMO_BOX
    a, b = _spread(village_code[:9])
    c, d = _spread(f"{village_code}:{serial}")
    latitude = (
        south + (north - south) * (Decimal("0.08") + a * Decimal("0.84")) + (c - Decimal("0.5")) * Decimal("0.07")
    )
    longitude = west + (east - west) * (Decimal("0.08") + b * Decimal("0.84")) + (d - Decimal("0.5")) * Decimal("0.08")
    return latitude.quantize(Decimal("0.000001")), longitude.quantize(Decimal("0.000001"))


@dataclass(frozen=True)
class SimulatorFiles:
    folder: Path
    passwords: Path
    trust: Path
    count: int


def demo_installed_on(village_code: str, serial: int = 1, *, today: date | None = None) -> date:
    """A day in the 360 days before `today`, the same for the same terminal on every run."""
    digest = hashlib.sha256(f"installed/{village_code}/{serial}".encode()).digest()
    return (today or timezone.localdate()) - timedelta(days=1 + (digest[0] * 256 + digest[1]) % 360)


def _backdate(terminal: Terminal, day: date) -> None:
    """Date the registration with the installation: the registry's `created_at` is when a terminal
    entered the registry, which for the demo's made-up history is the day it was installed. A demo
    seed's own write (no service records history that never happened)."""
    moment = timezone.make_aware(datetime.combine(day, time(10)))
    Terminal.objects.filter(pk=terminal.pk).update(created_at=moment)
    # ...and it came online that day: the first `online` event is what makes a terminal
    # commissioned for the periods after it (terminals.selectors.commissioned_by).
    if not TerminalEvent.objects.filter(terminal_code=terminal.code, kind=EventKind.ONLINE).exists():
        TerminalEvent.objects.create(terminal_code=terminal.code, at=moment, kind=EventKind.ONLINE)


def simulator_files() -> SimulatorFiles:
    folder = Path(settings.RUN_DIR) / "sim"
    passwords = folder / "terminals.passwords"
    count = sum(1 for line in passwords.read_text().splitlines() if line.strip()) if passwords.exists() else 0
    return SimulatorFiles(folder=folder, passwords=passwords, trust=folder / "trust.json", count=count)


def trust_file_write() -> Path:
    files = simulator_files()
    files.folder.mkdir(parents=True, exist_ok=True)
    files.trust.write_bytes(trust_list_build().to_json())
    return files.trust


def demo_terminals_register(*, county: Region, per_village: int = 1) -> SimulatorFiles:
    """Register `per_village` terminals in every village of `county` that has none yet."""
    files = simulator_files()
    files.folder.mkdir(parents=True, exist_ok=True)
    villages = Region.objects.filter(subtree_q(county.prefix), level=Level.VILLAGE).order_by("code")
    equipped = set(Terminal.objects.filter(subtree_q(county.prefix, "village_id")).values_list("village_id", flat=True))
    lines: list[str] = []
    with transaction.atomic():
        for village in villages:
            if village.code in equipped:
                continue
            for serial in range(1, per_village + 1):
                latitude, longitude = demo_position(village.code, serial)
                installed_on = demo_installed_on(village.code, serial)
                details = TerminalDetails(
                    model="RC-IPS30",
                    firmware="1.0.0",
                    installed_on=installed_on,
                    latitude=latitude,
                    longitude=longitude,
                    owner_station="榕江县融媒体中心",
                )
                registration = terminal_register(actor=None, village=village, details=details)
                _backdate(registration.terminal, installed_on)
                lines.append(f"{registration.terminal.code}:{registration.password}")
        # Demo terminals registered before positions existed get theirs once.
        for terminal in Terminal.objects.filter(subtree_q(county.prefix, "village_id"), latitude__isnull=True):
            details = TerminalDetails.of(terminal)
            details.latitude, details.longitude = demo_position(terminal.village_id, int(terminal.code[-2:]))
            terminal_update(actor=None, terminal=terminal, details=details)
        # Demo terminals registered "today" by an earlier demo get their year of history once.
        for terminal in Terminal.objects.filter(subtree_q(county.prefix, "village_id"), installed_on__isnull=True):
            details = TerminalDetails.of(terminal)
            details.installed_on = demo_installed_on(terminal.village_id, int(terminal.code[-2:]))
            terminal_update(actor=None, terminal=terminal, details=details)
            _backdate(terminal, details.installed_on)
    if lines:
        with files.passwords.open("a") as handle:
            handle.write("\n".join(lines) + "\n")
        files.passwords.chmod(0o600)
    trust_file_write()

    broker_credentials_sync()
    return simulator_files()
