"""Status reports (docs/protocols.md §7): what a terminal tells the platform about itself.

A report is a JSON object on `rc/v1/up/<id>/status`; every member but `online` is optional, so a
device sends what its hardware can measure. `StatusProbe` reads what a Linux device can read
without vendor code (free storage, CPU temperature, uptime) and, when the provisioning file names a
`probe` command, merges the JSON object that command prints (amplifier and speaker self-checks,
audio-line level, signal strength: vendor-specific). The agent adds what it knows itself (volume,
firmware, last playback, consecutive playback failures).
"""

from __future__ import annotations

import contextlib
import json
import logging
import shutil
import subprocess
import time
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

# Members a report may carry, with their JSON types (the platform ignores anything else).
FIELDS: dict[str, tuple[type, ...]] = {
    "volume": (int,),
    "amplifier": (str,),  # "ok" | "fault"
    "speaker": (str,),  # "ok" | "fault"
    "line_level_db": (int, float),
    "temperature_c": (int, float),
    "signal_dbm": (int,),
    "storage_free_mb": (int,),
    "firmware": (str,),
    "uptime_s": (int,),
    "playback_failures": (int,),
}
THERMAL_ZONE = Path("/sys/class/thermal/thermal_zone0/temp")
PROBE_TIMEOUT = 5.0


def status_bytes(report: dict[str, Any]) -> bytes:
    return json.dumps(report, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class StatusProbe:
    """Readings of the device itself; `command` (argv) prints a JSON object of vendor readings."""

    def __init__(self, *, storage: Path, command: list[str] | None = None) -> None:
        self.storage = storage
        self.command = command
        self.started = time.monotonic()

    def read(self) -> dict[str, Any]:
        readings: dict[str, Any] = {"uptime_s": int(time.monotonic() - self.started)}
        with contextlib.suppress(OSError):
            readings["storage_free_mb"] = shutil.disk_usage(self.storage).free // (1024 * 1024)
        with contextlib.suppress(OSError, ValueError):
            readings["temperature_c"] = round(int(THERMAL_ZONE.read_text().strip()) / 1000, 1)
        if self.command:
            readings.update(self._vendor())
        return readings

    def _vendor(self) -> dict[str, Any]:
        try:
            done = subprocess.run(self.command or [], capture_output=True, timeout=PROBE_TIMEOUT, check=True, text=True)
            data = json.loads(done.stdout)
        except (OSError, subprocess.SubprocessError, ValueError) as exc:
            log.warning("status probe %s failed: %s", self.command, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {k: v for k, v in data.items() if k in FIELDS and isinstance(v, FIELDS[k]) and not isinstance(v, bool)}
