"""Keys have a purpose (docs/protocols.md §6): broadcast keys sign what the dispatcher sends,
firmware keys sign firmware manifests only; each purpose has its own active key, and the platform
picks the key a payload's kind needs, so it never signs across."""

import json
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction
from ruralcast_terminal.protocol import KEY_USAGE, USAGE_FIRMWARE, Rejected, open_envelope

from ruralcast.signing.errors import NoActiveKey
from ruralcast.signing.models import SigningKey
from ruralcast.signing.selectors import signing_key_active, trust_list_build
from ruralcast.signing.services import payload_sign, signing_key_generate, signing_key_revoke, signing_key_rotate

pytestmark = pytest.mark.django_db

FIRMWARE = SigningKey.Purpose.FIRMWARE
MANIFEST = {"kind": "firmware", "version": "2.0.1", "sha256": "a" * 64, "size": 1, "models": ["M"], "areas": []}


def test_each_purpose_has_its_own_active_key_and_payloads_are_signed_by_the_one_their_kind_needs() -> None:
    broadcast = signing_key_generate(actor=None, alg="Ed25519")
    firmware = signing_key_generate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    assert (broadcast.status, firmware.status) == ("active", "active")  # each the first of its purpose
    trust = trust_list_build()
    assert trust.get(firmware.serial).usage == (USAGE_FIRMWARE,)  # type: ignore[union-attr]
    envelope, manifest = open_envelope(payload_sign(payload=MANIFEST), trust)
    assert envelope.serial == firmware.serial and manifest["kind"] == "firmware"
    envelope, _alert = open_envelope(payload_sign(payload={"kind": "alert", "x": 1}), trust)
    assert envelope.serial == broadcast.serial


def test_without_a_firmware_key_nothing_signs_a_manifest_and_the_error_says_how_to_make_one() -> None:
    signing_key_generate(actor=None, alg="Ed25519")
    with pytest.raises(NoActiveKey, match="--purpose firmware"):
        payload_sign(payload=MANIFEST)


def test_a_manifest_the_broadcast_key_signed_is_refused_by_the_terminal_library() -> None:
    """What the platform did before key usage: its one key signed manifests too."""
    from ruralcast_terminal.protocol import seal_with

    from ruralcast.signing.keystore import keystore_get

    key = signing_key_generate(actor=None, alg="Ed25519")
    signing_key_generate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    store = keystore_get()
    forged = seal_with(
        MANIFEST, alg=key.alg, serial=key.serial, sign=lambda d: store.sign(serial=key.serial, alg=key.alg, data=d)
    )
    with pytest.raises(Rejected) as caught:
        open_envelope(forged, trust_list_build())
    assert caught.value.reason == KEY_USAGE


def test_the_database_holds_one_active_key_per_purpose() -> None:
    signing_key_generate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    second = signing_key_generate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    assert second.status == "pending"
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.filter(pk=second.pk).update(status="active")


def test_rotating_or_revoking_firmware_keys_leaves_the_broadcast_key_alone() -> None:
    broadcast = signing_key_generate(actor=None, alg="Ed25519")
    first = signing_key_generate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    second = signing_key_rotate(actor=None, alg="Ed25519", purpose=FIRMWARE)
    assert second.purpose == FIRMWARE and signing_key_active(purpose=FIRMWARE) == second
    third = signing_key_revoke(actor=None, serial=second.serial, reason="card lost", rotate=True)
    assert third.status == "revoked"
    assert signing_key_active(purpose=FIRMWARE).serial not in (first.serial, second.serial)
    assert signing_key_active().serial == broadcast.serial


def test_the_commands_take_a_purpose_and_the_export_names_each_keys_usage() -> None:
    out = StringIO()
    call_command("signing_key_generate", "--alg", "Ed25519", stdout=out)
    call_command("signing_key_generate", "--alg", "Ed25519", "--purpose", "firmware", stdout=out)
    assert out.getvalue().split("\n")[1].endswith("purpose=firmware")
    exported = StringIO()
    call_command("trust_list_export", stdout=exported)
    assert sorted(entry["usage"] for entry in json.loads(exported.getvalue())) == [["broadcast"], ["firmware"]]
