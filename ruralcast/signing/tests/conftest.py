"""Every signing test keeps its private keys in its own temporary RUN_DIR/keys."""

from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(autouse=True)
def run_dir(settings: Any, tmp_path: Path) -> Path:
    settings.RUN_DIR = tmp_path
    return tmp_path


@pytest.fixture
def keys_dir(run_dir: Path) -> Path:
    return run_dir / "keys"
