"""The demo county's terminals: registered like real ones, simulated by `ruralcast-terminal simulate`.

`demo_terminals_register` registers terminals in the villages of a county (through the normal
service: each gets its own broker password), writes the simulator's files under RUN_DIR/sim/
(`terminals.passwords` with `<id>:<password>` lines, mode 600, as a device would keep its own
credential; `trust.json`, the public keys terminals trust) and syncs the broker's password file.
"""

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.db import transaction

from ruralcast.regions.codes import Level, subtree_q
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.services import terminal_register


@dataclass(frozen=True)
class SimulatorFiles:
    folder: Path
    passwords: Path
    trust: Path
    count: int


def simulator_files() -> SimulatorFiles:
    folder = Path(settings.RUN_DIR) / "sim"
    passwords = folder / "terminals.passwords"
    count = sum(1 for line in passwords.read_text().splitlines() if line.strip()) if passwords.exists() else 0
    return SimulatorFiles(folder=folder, passwords=passwords, trust=folder / "trust.json", count=count)


def trust_file_write() -> Path:
    from ruralcast.signing.selectors import trust_list_build

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
            for _ in range(per_village):
                registration = terminal_register(actor=None, village=village)
                lines.append(f"{registration.terminal.code}:{registration.password}")
    if lines:
        with files.passwords.open("a") as handle:
            handle.write("\n".join(lines) + "\n")
        files.passwords.chmod(0o600)
    trust_file_write()
    from ruralcast.messaging.services import broker_credentials_sync

    broker_credentials_sync()
    return simulator_files()
