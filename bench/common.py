"""Shared helpers for benchmarks: machine description, medians, and recording to docs/benchmarks.md."""

import json
import os
import platform
import statistics
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCHMARKS_MD = Path(__file__).resolve().parent.parent / "docs" / "benchmarks.md"


def machine() -> str:
    cpu = "unknown cpu"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory_gib = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{os.cpu_count()} cores, {memory_gib:.0f} GiB, {cpu}, Python {platform.python_version()}"


def median(values: list[float]) -> float:
    return round(statistics.median(values), 4)


def record(name: str, figures: dict[str, Any]) -> dict[str, Any]:
    """Print one JSON line and append it, dated, to docs/benchmarks.md under 'Raw results'."""
    line = {"bench": name, "date": datetime.now(UTC).strftime("%Y-%m-%d"), "machine": machine(), **figures}
    text = json.dumps(line, ensure_ascii=False)
    print(text)
    if os.environ.get("BENCH_NO_RECORD") != "1":
        with BENCHMARKS_MD.open("a", encoding="utf-8") as handle:
            handle.write(f"- `{text}`\n")
    return line
