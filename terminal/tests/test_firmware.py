"""The terminal's firmware checks (ruralcast_terminal.firmware): manifest, model, region, expiry,
URL, file; the agent answers `rejected` for a refused manifest, `failed` for a bad file."""

from __future__ import annotations

import base64
import hashlib
import http.server
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from typing import Any

import pytest
from ruralcast_terminal import firmware, protocol
from ruralcast_terminal.firmware import FirmwareFailed, FirmwareRefused, file_check, manifest_check
from ruralcast_terminal.protocol import TrustList

from conftest import PlatformKey

CST = timezone(timedelta(hours=8))
NOW = datetime(2026, 11, 27, 14, 0, tzinfo=CST)
VILLAGE = "522632100201"  # a village of 古州镇, 榕江县
IMAGE = b"\x7fELF firmware image " * 50
SHA = hashlib.sha256(IMAGE).hexdigest()

ALERTS = PlatformKey()
FIRMWARE = PlatformKey(serial="202611270009", usage=protocol.USAGE_FIRMWARE)
TRUST = TrustList([ALERTS.trusted(), FIRMWARE.trusted()])


def params(*, key: PlatformKey = FIRMWARE, url: str | None = None, **changes: Any) -> dict[str, Any]:
    manifest = {
        "kind": "firmware",
        "release": 7,
        "version": "2.0.1",
        "sha256": SHA,
        "size": len(IMAGE),
        "models": ["RC-IP-100"],
        "areas": ["522632000000"],
        "expires": (NOW + timedelta(days=30)).isoformat(),
        **changes,
    }
    return {
        "version": "2.0.1",
        "sha256": SHA,
        "size": len(IMAGE),
        "url": url or f"https://broadcast.example-county.gov.cn/terminals/firmware/{SHA}.bin",
        "manifest": base64.b64encode(key.seal(manifest)).decode(),
    }


def check(p: dict[str, Any], *, model: str = "RC-IP-100", village: str = VILLAGE) -> firmware.Manifest:
    return manifest_check(p, trust=TRUST, model=model, village_code=village, now=NOW)


def test_a_manifest_signed_by_the_firmware_key_for_this_model_and_region_is_accepted() -> None:
    checked = check(params())
    assert (checked.version, checked.sha256, checked.size) == ("2.0.1", SHA, len(IMAGE))
    assert check(params(), model="  rc-ip-100 ").models == ("RC-IP-100",)  # as the registry spells it


@pytest.mark.parametrize(
    ("p", "model", "village", "says"),
    [
        (params(key=ALERTS), "RC-IP-100", VILLAGE, "key_usage"),
        (params(models=["RC-4G-200"]), "RC-IP-100", VILLAGE, "this terminal is RC-IP-100"),
        (params(), "", VILLAGE, "does not know its model"),
        (params(areas=["522633000000"]), "RC-IP-100", VILLAGE, "not village"),
        (params(expires=(NOW - timedelta(seconds=1)).isoformat()), "RC-IP-100", VILLAGE, "expired"),
        (params(expires="2026-12-01T00:00:00"), "RC-IP-100", VILLAGE, "no UTC offset"),
        (params(sha256="b" * 64), "RC-IP-100", VILLAGE, "different files"),
        (params(key=ALERTS, kind="alert"), "RC-IP-100", VILLAGE, "not a firmware manifest"),  # an alert replayed
        (params(models=[]), "RC-IP-100", VILLAGE, "lacks"),
        (params(url=f"http://169.254.169.254/latest/{SHA}.bin"), "RC-IP-100", VILLAGE, "169.254.169.254"),
        (params(url="http://platform.example/other.bin"), "RC-IP-100", VILLAGE, "by its SHA-256"),
        (params(url=f"file:///etc/{SHA}.bin"), "RC-IP-100", VILLAGE, "not http"),
    ],
    ids=[
        "alert-key", "other-model", "no-model", "other-region", "expired", "naive-expiry", "other-file",
        "not-firmware", "no-models", "metadata-address", "unnamed-file", "file-url",
    ],
)  # fmt: skip
def test_a_manifest_the_terminal_may_not_install_is_refused_saying_why(
    p: dict[str, Any], model: str, village: str, says: str
) -> None:
    with pytest.raises(FirmwareRefused, match=says):
        check(p, model=model, village=village)


def test_the_command_cannot_swap_the_file_of_a_signed_manifest() -> None:
    other = b"another image"
    with pytest.raises(FirmwareRefused, match="different files"):
        check({**params(), "sha256": hashlib.sha256(other).hexdigest(), "size": len(other)})
    with pytest.raises(FirmwareRefused, match="not base64"):
        check({**params(), "manifest": "%%%"})


@pytest.fixture
def served() -> Iterator[dict[str, bytes]]:
    files: dict[str, bytes] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = files.get(self.path)
            self.send_response(200 if body is not None else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    files["base"] = f"http://127.0.0.1:{server.server_address[1]}".encode()
    yield files
    server.shutdown()


def test_the_download_is_bounded_by_the_manifest_and_must_match_it(served: dict[str, bytes]) -> None:
    path = f"/terminals/firmware/{SHA}.bin"
    url = served["base"].decode() + path
    checked = check(params(url=url))
    served[path] = IMAGE
    assert firmware.download(checked) == IMAGE
    served[path] = IMAGE + b"more"
    with pytest.raises(FirmwareFailed, match="bytes"):
        firmware.download(checked)
    served[path] = b"x" * len(IMAGE)
    with pytest.raises(FirmwareFailed, match="SHA-256"):
        firmware.download(checked)
    with pytest.raises(FirmwareFailed, match="SHA-256"):
        file_check(b"y" * len(IMAGE), checked)
