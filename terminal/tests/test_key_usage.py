"""Key usage (docs/protocols.md §6): a key signs for one purpose, bound by the trust list, and a
signature made for one purpose never passes for the other."""

from __future__ import annotations

import json

import pytest
from ruralcast_terminal import protocol
from ruralcast_terminal.protocol import Rejected, TrustedKey, TrustList, open_envelope, trust_update_apply

from conftest import PlatformKey, alert_payload

NOW_MS = 1_800_000_000_000
BROADCAST, FIRMWARE = protocol.USAGE_BROADCAST, protocol.USAGE_FIRMWARE


def manifest() -> dict[str, object]:
    return {"kind": "firmware", "version": "2.0.1", "sha256": "a" * 64, "size": 10, "models": ["M"], "areas": []}


def test_an_alert_signed_by_a_firmware_key_is_refused_though_its_signature_verifies() -> None:
    firmware = PlatformKey(serial="202611270009", usage=FIRMWARE)
    with pytest.raises(Rejected) as caught:
        open_envelope(firmware.seal(alert_payload(1)), firmware.trust())
    assert caught.value.reason == protocol.KEY_USAGE


def test_a_firmware_manifest_signed_by_the_alert_key_is_refused_and_one_signed_by_the_firmware_key_opens() -> None:
    alerts, firmware = PlatformKey(), PlatformKey(serial="202611270009", usage=FIRMWARE)
    trust = TrustList([alerts.trusted(), firmware.trusted()])
    with pytest.raises(Rejected) as caught:
        open_envelope(alerts.seal(manifest()), trust)
    assert caught.value.reason == protocol.KEY_USAGE
    assert open_envelope(firmware.seal(manifest()), trust)[1]["kind"] == "firmware"
    assert open_envelope(alerts.seal(alert_payload(1)), trust)[1]["kind"] == "alert"


def test_the_trust_list_carries_usage_and_an_entry_without_it_is_a_broadcast_key() -> None:
    firmware = PlatformKey(serial="202611270009", usage=FIRMWARE)
    document = json.loads(TrustList([firmware.trusted()]).to_json())
    assert document[0]["usage"] == [FIRMWARE]
    del document[0]["usage"]  # a list written before key usage existed
    (old,) = TrustList.from_list(document).keys
    assert old.usage == (BROADCAST,)
    with pytest.raises(ValueError):
        TrustList.from_list([{**document[0], "usage": "firmware"}])


def test_an_update_signed_by_the_alert_key_never_makes_a_firmware_key_nor_revives_a_revoked_one() -> None:
    """A stolen broadcast key could sign a list naming its own firmware key: the terminal keeps it
    listed but not for firmware; firmware keys come from provisioning only."""
    alerts = PlatformKey()
    provisioned = PlatformKey(serial="202611270009", usage=FIRMWARE)
    planted = PlatformKey(serial="202611270666", usage=FIRMWARE)
    revoked = PlatformKey(serial="202611270005")
    current = TrustList([alerts.trusted(), provisioned.trusted(), revoked.trusted(revoked=True)])
    update = {
        "kind": "trust",
        "version": 2,
        "keys": TrustList([alerts.trusted(), provisioned.trusted(), planted.trusted(), revoked.trusted()]).to_list(),
    }
    adopted = trust_update_apply(update, current=current, current_version=1, signer=alerts.serial, now_ms=NOW_MS)
    assert adopted is not None
    trust, version = adopted
    assert version == 2
    assert trust.get(provisioned.serial) == provisioned.trusted()  # kept: it was provisioned
    assert trust.get(planted.serial) == TrustedKey(
        serial=planted.serial, alg=planted.alg, public_key=planted.public, usage=()
    )
    assert trust.get(revoked.serial) is not None and trust.get(revoked.serial).revoked  # type: ignore[union-attr]
    with pytest.raises(Rejected) as caught:
        open_envelope(planted.seal(manifest()), trust)
    assert caught.value.reason == protocol.KEY_USAGE
