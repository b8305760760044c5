"""SM2-SM3 is the optional `sm2` extra of the agent package: a device without tongsuopy still
imports, signs and verifies Ed25519, and every SM2 operation says which extra to install.

The missing library is simulated by refusing the import of tongsuopy (in this process through
`builtins.__import__`, in a child interpreter by blocking the module before anything loads it):
the platform's own environment always has tongsuopy installed.
"""

from __future__ import annotations

import builtins
import json
import re
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import pytest
from ruralcast_terminal import crypto
from ruralcast_terminal.crypto import ALG_ED25519, ALG_SM2, SM2_EXTRA, SM2Unavailable


def _clear_caches() -> None:
    for cached in (crypto._sm2, crypto._sm2_private, crypto._sm2_public):
        cached.cache_clear()


@pytest.fixture
def without_tongsuopy(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    real_import = builtins.__import__

    def refusing_import(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "tongsuopy" or name.startswith("tongsuopy."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return real_import(name, *args, **kwargs)

    _clear_caches()
    monkeypatch.setattr(builtins, "__import__", refusing_import)
    yield
    monkeypatch.undo()
    _clear_caches()


def test_the_platform_has_sm2() -> None:
    assert crypto.sm2_available()
    assert crypto.available_algorithms() == (ALG_ED25519, ALG_SM2)


def test_without_the_extra_every_sm2_operation_names_the_extra(without_tongsuopy: None) -> None:
    assert not crypto.sm2_available()
    ed_private = crypto.generate_private_key(ALG_ED25519)
    for operation in (
        lambda: crypto.generate_private_key(ALG_SM2),
        lambda: crypto.public_key_of(ALG_SM2, b"\x01" * 32),
        lambda: crypto.sign(ALG_SM2, b"\x01" * 32, b"alert"),
        lambda: crypto.verify(ALG_SM2, b"\x04" + b"\x01" * 64, b"alert", b"\x01" * 64),
    ):
        with pytest.raises(SM2Unavailable, match=re.escape(f"pip install '{SM2_EXTRA}'")):
            operation()
    signature = crypto.sign(ALG_ED25519, ed_private, b"alert")
    assert crypto.verify(ALG_ED25519, crypto.public_key_of(ALG_ED25519, ed_private), b"alert", signature)


def test_without_the_extra_the_warm_up_warms_ed25519_only(without_tongsuopy: None) -> None:
    assert crypto.available_algorithms() == (ALG_ED25519,)
    crypto.warm_up()  # raises if it tried SM2


def test_an_ed25519_only_device_imports_the_agent_package_without_tongsuopy() -> None:
    """A fresh interpreter where tongsuopy cannot be imported at all (as on a device without it)."""
    script = """
import json, sys
sys.modules["tongsuopy"] = None  # any import of tongsuopy or its submodules now fails
from ruralcast_terminal import crypto, protocol
private = crypto.generate_private_key(crypto.ALG_ED25519)
public = crypto.public_key_of(crypto.ALG_ED25519, private)
ok = crypto.verify(crypto.ALG_ED25519, public, b"x", crypto.sign(crypto.ALG_ED25519, private, b"x"))
try:
    crypto.sign(crypto.ALG_SM2, b"\\x01" * 32, b"x")
    error = ""
except crypto.SM2Unavailable as exc:
    error = str(exc)
print(json.dumps({"ok": ok, "error": error, "loaded": sorted(m for m in sys.modules if m.startswith("tongsuopy"))}))
"""
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    answer = json.loads(result.stdout)
    assert answer["ok"] is True
    assert SM2_EXTRA in answer["error"] and ALG_SM2 in answer["error"]
    assert answer["loaded"] == ["tongsuopy"], "only the blocked entry: nothing of tongsuopy was loaded"
