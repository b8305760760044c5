"""Signing keys through their life: generate, rotate, revoke; where the private half lives; the audit."""

import json
import os
import stat
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone
from ruralcast_terminal.crypto import ALG_ED25519, ALG_SM2
from ruralcast_terminal.protocol import Rejected, TrustList, envelope_decode, envelope_verify, open_envelope

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from ruralcast.messaging.handlers import outbox_handler
from ruralcast.messaging.models import OutboxMessage
from ruralcast.signing import services
from ruralcast.signing.errors import KeyStoreError, NoActiveKey
from ruralcast.signing.keystore import FileKeyStore
from ruralcast.signing.models import SigningKey
from ruralcast.signing.selectors import signing_key_active, trust_list_build
from ruralcast.signing.services import (
    payload_sign,
    signing_key_generate,
    signing_key_revoke,
    signing_key_rotate,
)
from ruralcast.signing.trust import TRUST_OUTBOX_KIND, TRUST_TOPIC

pytestmark = pytest.mark.django_db

Status = SigningKey.Status


def alert(**changes: Any) -> dict[str, Any]:
    now = timezone.now()
    payload = {
        "kind": "alert",
        "ebm_id": "45226320000000101010101202611270001",
        "sent": now.isoformat(),
        "expires": (now + timedelta(hours=6)).isoformat(),
        "msg_type": "Alert",
        "areas": ["522632000000"],
        "title": "山洪预警",
        "text": "榕江县应急广播：请注意防范山洪。",
    }
    payload.update(changes)
    return payload


def reason_of(call: Any, *args: Any) -> str:
    with pytest.raises(Rejected) as caught:
        call(*args)
    return caught.value.reason


# ---------------------------------------------------------------------------- where keys live


def test_the_first_key_becomes_active_with_its_private_half_in_a_0600_file_not_in_the_database(
    keys_dir: Path,
) -> None:
    key = signing_key_generate(actor=None, alg=ALG_SM2)
    assert key.status == Status.ACTIVE and key.activated_at is not None
    assert len(key.serial) == 12 and key.serial.isdigit()
    assert key.serial.startswith(timezone.localdate().strftime("%Y%m%d"))
    assert len(key.public_key_bytes) == 65

    path = keys_dir / f"{key.serial}.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys_dir.stat().st_mode) == 0o700
    private_b64 = json.loads(path.read_text())["private_key"]
    row = SigningKey.objects.filter(pk=key.pk).values().get()
    assert private_b64 not in json.dumps(row, default=str)
    assert {field.name for field in SigningKey._meta.get_fields()}.isdisjoint({"private_key", "secret"})


def test_the_key_store_never_overwrites_a_key_file(keys_dir: Path) -> None:
    store = FileKeyStore(keys_dir)
    store.create(serial="202611270001", alg=ALG_ED25519)
    with pytest.raises(FileExistsError):
        store.create(serial="202611270001", alg=ALG_ED25519)


def test_a_serial_whose_key_file_exists_is_never_reused(keys_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A key file left behind (a restored backup, a failed transaction) keeps its serial taken."""
    day = timezone.localdate().strftime("%Y%m%d")
    FileKeyStore(keys_dir).create(serial=f"{day}0001", alg=ALG_ED25519)
    draws = iter([1, 1, 2])
    monkeypatch.setattr(services.secrets, "randbelow", lambda _n: next(draws))
    assert signing_key_generate(actor=None, alg=ALG_ED25519).serial == f"{day}0002"


def test_serials_are_unique_across_many_keys() -> None:
    keys = [signing_key_generate(actor=None, alg=ALG_ED25519) for _ in range(20)]
    assert len({key.serial for key in keys}) == 20


def test_a_key_file_readable_by_others_is_refused(keys_dir: Path) -> None:
    key = signing_key_generate(actor=None, alg=ALG_ED25519)
    os.chmod(keys_dir / f"{key.serial}.key", 0o644)
    with pytest.raises(KeyStoreError, match="chmod 600"):
        payload_sign(payload=alert())


def test_a_missing_key_file_is_a_clear_error(keys_dir: Path) -> None:
    key = signing_key_generate(actor=None, alg=ALG_SM2)
    (keys_dir / f"{key.serial}.key").unlink()
    with pytest.raises(KeyStoreError, match=key.serial):
        payload_sign(payload=alert())


def test_a_key_file_that_does_not_match_the_public_key_never_signs(keys_dir: Path, english: None) -> None:
    key = signing_key_generate(actor=None, alg=ALG_ED25519)
    path = keys_dir / f"{key.serial}.key"
    path.unlink()
    FileKeyStore(keys_dir).create(serial=key.serial, alg=ALG_ED25519)  # someone else's key under that serial
    with pytest.raises(KeyStoreError, match="does not match"):
        payload_sign(payload=alert())


# ---------------------------------------------------------------------------- signing and verifying


@pytest.mark.parametrize("alg", [ALG_ED25519, ALG_SM2])
def test_a_payload_signed_by_the_platform_verifies_with_the_terminal_library(alg: str) -> None:
    key = signing_key_generate(actor=None, alg=alg)
    sealed = payload_sign(payload=alert())
    trust = TrustList.from_json(trust_list_build().to_json())  # what a terminal is provisioned with
    envelope, payload = open_envelope(sealed, trust)
    assert (envelope.alg, envelope.serial) == (alg, key.serial)
    assert payload == alert(sent=payload["sent"], expires=payload["expires"])


def test_signing_without_an_active_key_says_how_to_make_one() -> None:
    with pytest.raises(NoActiveKey, match="signing_key_generate"):
        payload_sign(payload=alert())


def test_the_deployment_algorithm_is_the_default(settings: Any) -> None:
    settings.RURALCAST_SIGNING_ALG = ALG_ED25519
    assert signing_key_generate(actor=None).alg == ALG_ED25519
    settings.RURALCAST_SIGNING_ALG = ALG_SM2
    assert signing_key_rotate(actor=None).alg == ALG_SM2


def test_an_unknown_algorithm_is_refused_naming_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        signing_key_generate(actor=None, alg="RSA")
    assert "alg" in caught.value.fields
    assert not SigningKey.objects.exists()


# ---------------------------------------------------------------------------- rotation


def test_a_second_key_waits_pending_and_is_trusted_before_it_signs() -> None:
    first = signing_key_generate(actor=None, alg=ALG_SM2)
    second = signing_key_generate(actor=None, alg=ALG_SM2)
    assert second.status == Status.PENDING
    assert signing_key_active() == first
    trusted = trust_list_build().get(second.serial)
    assert trusted is not None and not trusted.revoked


def test_rotation_activates_the_pending_key_and_the_retired_key_still_verifies() -> None:
    old = signing_key_generate(actor=None, alg=ALG_SM2)
    signed_before = payload_sign(payload=alert())
    pending = signing_key_generate(actor=None, alg=ALG_SM2)

    new = signing_key_rotate(actor=None)

    assert new == pending
    old.refresh_from_db()
    assert old.status == Status.RETIRED and old.retired_at is not None
    assert signing_key_active() == new
    trust = TrustList.from_json(trust_list_build().to_json())
    assert open_envelope(signed_before, trust)[0].serial == old.serial
    assert open_envelope(payload_sign(payload=alert()), trust)[0].serial == new.serial


def test_rotation_without_a_pending_key_makes_one_and_can_change_algorithm() -> None:
    old = signing_key_generate(actor=None, alg=ALG_SM2)
    new = signing_key_rotate(actor=None, alg=ALG_ED25519)
    assert (new.alg, new.status) == (ALG_ED25519, Status.ACTIVE)
    assert new.serial != old.serial
    assert SigningKey.objects.filter(status=Status.ACTIVE).count() == 1


def test_the_database_holds_at_most_one_active_key() -> None:
    key = signing_key_generate(actor=None, alg=ALG_ED25519)
    with pytest.raises(IntegrityError), transaction.atomic():
        SigningKey.objects.create(serial="209901010001", alg=ALG_ED25519, public_key=key.public_key, status="active")


# ---------------------------------------------------------------------------- revocation


def test_a_revoked_key_is_refused_by_terminals_using_the_exported_trust_list(
    keys_dir: Path, django_capture_on_commit_callbacks: Any
) -> None:
    old = signing_key_generate(actor=None, alg=ALG_ED25519)
    signed_by_old = payload_sign(payload=alert())
    signing_key_rotate(actor=None, alg=ALG_ED25519)

    with django_capture_on_commit_callbacks(execute=True):
        revoked = signing_key_revoke(actor=None, serial=old.serial, reason="key file copied to a lost laptop")

    assert (revoked.status, revoked.revoke_reason) == (Status.REVOKED, "key file copied to a lost laptop")
    assert revoked.revoked_at is not None
    trust = TrustList.from_json(trust_list_build().to_json())
    entry = trust.get(old.serial)
    assert entry is not None and entry.revoked
    assert reason_of(envelope_verify, envelope_decode(signed_by_old), trust) == "revoked_key"
    assert not (keys_dir / f"{old.serial}.key").exists()  # the private half is destroyed


def test_the_active_key_cannot_be_revoked_without_rotating(english: None) -> None:
    key = signing_key_generate(actor=None, alg=ALG_SM2)
    with pytest.raises(Conflict, match="rotate"):
        signing_key_revoke(actor=None, serial=key.serial, reason="compromised")
    key.refresh_from_db()
    assert key.status == Status.ACTIVE


def test_revoking_the_active_key_with_rotation_leaves_a_new_key_signing() -> None:
    old = signing_key_generate(actor=None, alg=ALG_SM2)
    signed_by_old = payload_sign(payload=alert())

    signing_key_revoke(actor=None, serial=old.serial, reason="compromised", rotate=True)

    new = signing_key_active()
    assert new.serial != old.serial
    trust = trust_list_build()
    assert reason_of(open_envelope, signed_by_old, trust) == "revoked_key"
    assert open_envelope(payload_sign(payload=alert()), trust)[0].serial == new.serial


def test_revocation_needs_a_reason_a_known_key_and_happens_once() -> None:
    signing_key_generate(actor=None, alg=ALG_ED25519)
    pending = signing_key_generate(actor=None, alg=ALG_ED25519)
    with pytest.raises(ValidationError):
        signing_key_revoke(actor=None, serial=pending.serial, reason="  ")
    with pytest.raises(NotFound):
        signing_key_revoke(actor=None, serial="209912319999", reason="typo")
    signing_key_revoke(actor=None, serial=pending.serial, reason="never used")
    with pytest.raises(Conflict):
        signing_key_revoke(actor=None, serial=pending.serial, reason="again")


# ---------------------------------------------------------------------------- who, and the audit trail


def test_only_a_platform_administrator_manages_keys(county_bureau_admin: User, platform_admin: User) -> None:
    with pytest.raises(PermissionDenied):
        signing_key_generate(actor=county_bureau_admin, alg=ALG_ED25519)
    key = signing_key_generate(actor=platform_admin, alg=ALG_ED25519)
    with pytest.raises(PermissionDenied):
        signing_key_rotate(actor=county_bureau_admin)
    with pytest.raises(PermissionDenied):
        signing_key_revoke(actor=county_bureau_admin, serial=key.serial, reason="not mine to revoke")
    assert SigningKey.objects.count() == 1


def test_the_audit_trail_records_each_key_operation(platform_admin: User) -> None:
    start = AuditEvent.objects.order_by("-seq").values_list("seq", flat=True).first() or 0
    first = signing_key_generate(actor=platform_admin, alg=ALG_SM2)
    second = signing_key_generate(actor=None, alg=ALG_SM2)
    signing_key_rotate(actor=platform_admin)
    signing_key_revoke(actor=None, serial=first.serial, reason="retired key no longer needed")

    events = list(
        AuditEvent.objects.filter(seq__gt=start, verb__startswith="signing_key.")
        .order_by("seq")
        .values_list("verb", "object_id", "actor_label", "object_label")
    )
    assert [(verb, label) for verb, _id, _actor, label in events] == [
        ("signing_key.generate", f"{first.serial} SM2-SM3"),
        ("signing_key.generate", f"{second.serial} SM2-SM3"),
        ("signing_key.retire", f"{first.serial} SM2-SM3"),
        ("signing_key.activate", f"{second.serial} SM2-SM3"),
        ("signing_key.revoke", f"{first.serial} SM2-SM3"),
    ]
    assert [actor for _verb, _id, actor, _label in events] == [
        platform_admin.username,
        "system",
        platform_admin.username,
        platform_admin.username,
        "system",
    ]
    revoke = AuditEvent.objects.get(seq__gt=start, verb="signing_key.revoke")
    assert revoke.before is not None and revoke.after is not None
    assert (revoke.before["status"], revoke.after["status"]) == ("retired", "revoked")
    assert revoke.after["revoke_reason"] == "retired key no longer needed"
    assert len(revoke.after["public_key_sha256"]) == 64


def test_a_refused_operation_leaves_no_key_and_no_audit_event(county_bureau_admin: User) -> None:
    before = AuditEvent.objects.count()
    with pytest.raises(PermissionDenied):
        signing_key_generate(actor=county_bureau_admin, alg=ALG_SM2)
    assert AuditEvent.objects.count() == before
    assert not SigningKey.objects.exists()


def test_timestamps_are_aware_utc_instants() -> None:
    key = signing_key_generate(actor=None, alg=ALG_ED25519)
    assert isinstance(key.created_at, datetime) and timezone.is_aware(key.created_at)


def test_key_changes_queue_a_signed_trust_list_update_for_terminals() -> None:
    """Generate (a successor), rotate and revoke each publish the whole list to every terminal."""
    first = signing_key_generate(actor=None, alg=ALG_ED25519)
    assert not OutboxMessage.objects.filter(kind=TRUST_OUTBOX_KIND).exists()  # provisioning covers the first key
    signing_key_generate(actor=None, alg=ALG_ED25519)
    signing_key_rotate(actor=None, alg=ALG_ED25519)
    signing_key_revoke(actor=None, serial=first.serial, reason="leaked")
    rows = list(OutboxMessage.objects.filter(kind=TRUST_OUTBOX_KIND).order_by("created_at"))
    assert len(rows) == 3
    handler = outbox_handler(TRUST_OUTBOX_KIND)
    assert handler is not None
    (message,) = handler.build(rows[-1].key)
    assert message.topic == TRUST_TOPIC and message.retain
    assert message.payload is not None and message.payload["kind"] == "trust"
    assert message.payload["keys"] == trust_list_build().to_list()
    assert any(k["serial"] == first.serial and k["revoked"] for k in message.payload["keys"])
