"""Start-up cost: setting Django up must not load the heavy libraries only some requests need.

Every process that calls `django.setup()` pays for what the apps' `ready()` hooks import: the web
server, each worker (ingest, dispatcher, notifications), every management command and every child a
benchmark starts. The figure and portal registrations in those hooks reach `speech.engines` and
`terminals.importer`; pypinyin (its phrase dictionary), cn2an and openpyxl cost together about a
second of CPU and ~70 MiB per process there (docs/benchmarks.md, "Start-up cost"). They are imported
inside the functions that synthesise speech, read numbers aloud and read or write a workbook.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("pypinyin", "cn2an", "openpyxl")
ROOT = Path(__file__).resolve().parents[3]

_PROBE = f"import json, sys, django; django.setup(); print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"


@pytest.mark.parametrize("settings_module", ["config.django.test", "config.django.local"])
def test_django_setup_imports_none_of_the_heavy_libraries(settings_module: str, tmp_path: Path) -> None:
    environment = {**os.environ, "DJANGO_SETTINGS_MODULE": settings_module, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(
        [sys.executable, "-c", _PROBE], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stderr
    loaded = json.loads(result.stdout.strip().splitlines()[-1])
    assert loaded == [], f"django.setup() imported {loaded}: import them where they are used"


def test_the_lazily_loaded_paths_still_work() -> None:
    """The functions that now import the libraries themselves: speech input, numbers, a workbook."""
    from ruralcast.core.exports import xlsx_bytes
    from ruralcast.speech.engines import espeak_input
    from ruralcast.speech.normalize import read_integer

    assert espeak_input("你好。") == "ni2 hao3 。"
    assert read_integer("120") == "一百二十"
    assert xlsx_bytes(sheet="s", header=["a"], rows=[["=1"]])[:2] == b"PK"
