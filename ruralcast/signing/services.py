"""Writes to signing keys (generate, rotate, revoke) and signing a payload with the active key.

Key management is a deployment-wide act: only a platform administrator may do it, or the system
itself (`actor=None`: the management commands, run by whoever holds the server). Every change is
audited in the same transaction.

Rolling a key over without a gap (docs/protocols.md §6):
1. `signing_key_generate` while a key is active makes the next key *pending*: it is in the trust
   list at once, so publish the list (signed by the active key, which terminals already trust);
2. once terminals have it, `signing_key_rotate` activates it and retires the old key, which stays
   trusted so that alerts it signed keep verifying until they expire.
`signing_key_rotate` without a pending key generates and activates one at once (first start,
emergencies); terminals then need the new trust list from provisioning, or signed by a key they
already trust.

Keys have a purpose (models.SigningKey.Purpose): every operation acts within one purpose, and
`payload_sign` picks the active key of the purpose the payload's kind needs (a firmware manifest:
the firmware key; anything else: the broadcast key), so the platform itself never signs across.
A terminal takes a firmware key only from its provisioning file (protocols.md §6): generate the
firmware key before provisioning the fleet, and keep it long (on a crypto card, say).
"""

import base64
import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from ruralcast_terminal import crypto
from ruralcast_terminal.protocol import handover_statement, seal_with, usage_for

from ruralcast.accounts.access import is_platform_admin
from ruralcast.accounts.models import User
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.messaging.services import outbox_prepare
from ruralcast.signing.errors import KeyStoreError
from ruralcast.signing.keystore import KeyStore, keystore_get
from ruralcast.signing.models import SigningKey
from ruralcast.signing.selectors import signing_key_active, signing_key_get
from ruralcast.signing.trust import trust_publish_enqueue

_SERIAL_ATTEMPTS = 100


def _require_key_manager(actor: User | None) -> None:
    if actor is not None and not is_platform_admin(actor):
        raise PermissionDenied(_("Only a platform administrator may manage signing keys."))


def _alg_or_default(alg: str | None) -> str:
    alg = alg or settings.RURALCAST_SIGNING_ALG
    if alg not in crypto.ALGORITHMS:
        raise ValidationError(
            _("Unknown signature algorithm “%(alg)s”: use Ed25519 or SM2-SM3.") % {"alg": alg},
            fields={"alg": [_("Unknown algorithm.")]},
        )
    return alg


def _purpose_or_default(purpose: str | None) -> str:
    purpose = purpose or SigningKey.Purpose.BROADCAST
    if purpose not in SigningKey.Purpose.values:
        raise ValidationError(
            _("Unknown key purpose “%(purpose)s”: use broadcast or firmware.") % {"purpose": purpose},
            fields={"purpose": [_("Unknown purpose.")]},
        )
    return purpose


def _summary(key: SigningKey) -> dict[str, Any]:
    """What the audit trail keeps of a key: its state and a fingerprint of its public key."""
    return {
        "serial": key.serial,
        "alg": key.alg,
        "purpose": key.purpose,
        "status": key.status,
        "public_key_sha256": hashlib.sha256(key.public_key_bytes).hexdigest(),
        "revoke_reason": key.revoke_reason,
    }


def _serial_new(store: KeyStore) -> str:
    """`YYYYMMDD` (local date) + 4 random digits, unused in the database and in the key store."""
    day = timezone.localdate().strftime("%Y%m%d")
    for _attempt in range(_SERIAL_ATTEMPTS):
        serial = f"{day}{secrets.randbelow(10_000):04d}"
        if not SigningKey.objects.filter(serial=serial).exists() and not store.exists(serial=serial):
            return serial
    raise Conflict(_("No free key serial is left for today; try again tomorrow."))


def _key_create(*, actor: User | None, alg: str, status: str, store: KeyStore, purpose: str) -> SigningKey:
    """A new key in `status`, its private half in `store`. Call inside a transaction."""
    serial = _serial_new(store)
    public = store.create(serial=serial, alg=alg)
    now = timezone.now()
    key = SigningKey(
        serial=serial,
        alg=alg,
        public_key=base64.b64encode(public).decode(),
        status=status,
        purpose=purpose,
        created_at=now,
        activated_at=now if status == SigningKey.Status.ACTIVE else None,
    )
    try:
        with transaction.atomic():
            key.save()
            audit_record(actor=actor, verb="signing_key.generate", obj=key, after=_summary(key))
    except BaseException:
        store.destroy(serial=serial)  # the key never existed: leave no orphan private key behind
        raise
    return key


def _active_conflict() -> Conflict:
    return Conflict(_("Another signing key became active at the same moment; check the keys and try again."))


def signing_key_generate(*, actor: User | None, alg: str | None = None, purpose: str | None = None) -> SigningKey:
    """A new key of `alg` (default: settings.RURALCAST_SIGNING_ALG) for `purpose` (default broadcast).

    It is *active* when the deployment has no active key of that purpose (first start), otherwise
    *pending*: trusted at once, activated later by `signing_key_rotate`.
    """
    _require_key_manager(actor)
    alg = _alg_or_default(alg)
    purpose = _purpose_or_default(purpose)
    store = keystore_get()
    try:
        with transaction.atomic():
            has_active = SigningKey.objects.filter(status=SigningKey.Status.ACTIVE, purpose=purpose).exists()
            status = SigningKey.Status.PENDING if has_active else SigningKey.Status.ACTIVE
            key = _key_create(actor=actor, alg=alg, status=status, store=store, purpose=purpose)
            broadcasting = SigningKey.objects.filter(
                status=SigningKey.Status.ACTIVE, purpose=SigningKey.Purpose.BROADCAST
            ).exclude(pk=key.pk)
            if broadcasting.exists():  # terminals provisioned with the first key already trust it
                trust_publish_enqueue()
            return key
    except IntegrityError as error:
        raise _active_conflict() from error


def _rotate(*, actor: User | None, alg: str, store: KeyStore, purpose: str) -> SigningKey:
    """Activate the oldest pending key of `alg` and `purpose` (or a new one), retire the active key
    of that purpose. In a transaction."""
    now = timezone.now()
    successor = (
        SigningKey.objects.filter(status=SigningKey.Status.PENDING, alg=alg, purpose=purpose)
        .order_by("created_at", "serial")
        .first()
    )
    if successor is None:
        successor = _key_create(actor=actor, alg=alg, status=SigningKey.Status.PENDING, store=store, purpose=purpose)
    for old in SigningKey.objects.filter(status=SigningKey.Status.ACTIVE, purpose=purpose):
        before = _summary(old)
        old.status, old.retired_at = SigningKey.Status.RETIRED, now
        old.save(update_fields=["status", "retired_at"])
        audit_record(actor=actor, verb="signing_key.retire", obj=old, before=before, after=_summary(old))
    before = _summary(successor)
    successor.status, successor.activated_at = SigningKey.Status.ACTIVE, now
    successor.save(update_fields=["status", "activated_at"])
    audit_record(actor=actor, verb="signing_key.activate", obj=successor, before=before, after=_summary(successor))
    return successor


def signing_key_rotate(*, actor: User | None, alg: str | None = None, purpose: str | None = None) -> SigningKey:
    """Make the next key of `alg` (default: the setting) and `purpose` (default broadcast) active; the
    active key of that purpose becomes retired.

    The next key is the oldest pending key of that algorithm, or a new one. The retired key stays in
    the trust list, not revoked, so whatever it signed verifies until it expires. Returns the new
    active key.
    """
    _require_key_manager(actor)
    alg = _alg_or_default(alg)
    purpose = _purpose_or_default(purpose)
    store = keystore_get()
    try:
        with transaction.atomic():
            successor = _rotate(actor=actor, alg=alg, store=store, purpose=purpose)
            trust_publish_enqueue()
            return successor
    except IntegrityError as error:
        raise _active_conflict() from error


def signing_key_revoke(*, actor: User | None, serial: str, reason: str, rotate: bool = False) -> SigningKey:
    """Revoke key `serial`: it stays in the trust list flagged revoked, and its private key is destroyed.

    The active key cannot simply be revoked (nothing could sign afterwards): rotate first, or pass
    `rotate=True` to activate the next key (as `signing_key_rotate` would) and revoke the old one in
    one transaction.
    """
    _require_key_manager(actor)
    reason = reason.strip()
    if not reason:
        raise ValidationError(
            _("Say why the key is revoked (it is kept in the audit trail)."), fields={"reason": [_("Required.")]}
        )
    store = keystore_get()
    successor: SigningKey | None = None
    try:
        with transaction.atomic():
            key = signing_key_get(serial=serial)
            if key.status == SigningKey.Status.REVOKED:
                raise Conflict(_("Signing key %(serial)s is already revoked.") % {"serial": serial})
            if key.status == SigningKey.Status.ACTIVE:
                if not rotate:
                    raise Conflict(
                        _(
                            "Signing key %(serial)s is the active key: rotate to a new key first, or revoke with rotation."
                        )
                        % {"serial": serial}
                    )
                successor = _rotate(actor=actor, alg=_alg_or_default(None), store=store, purpose=key.purpose)
                key.refresh_from_db()
            before = _summary(key)
            key.status, key.revoked_at, key.revoke_reason = SigningKey.Status.REVOKED, timezone.now(), reason
            key.save(update_fields=["status", "revoked_at", "revoke_reason"])
            audit_record(actor=actor, verb="signing_key.revoke", obj=key, before=before, after=_summary(key))
            row = trust_publish_enqueue()
            if successor is not None and key.purpose == SigningKey.Purpose.BROADCAST:
                # Cross-signed hand-over (protocols.md §6): the outgoing key, which terminals trust,
                # signs the list now, before its private half is destroyed; the successor signs the
                # hand-over. Stored as the row's bytes, so the dispatcher publishes exactly this.
                outbox_prepare(message=row, sign=_handover_signer(old=key, successor=successor, store=store))
                audit_record(
                    actor=actor,
                    verb="signing_key.handover",
                    obj=successor,
                    after={"from": key.serial, "to": successor.serial, "version": int(row.key)},
                )
            transaction.on_commit(lambda: store.destroy(serial=serial))
    except IntegrityError as error:
        raise _active_conflict() from error
    return key


def _handover_signer(*, old: SigningKey, successor: SigningKey, store: KeyStore) -> Callable[[dict[str, Any]], bytes]:
    """Seals a trust-list update as a hand-over from `old` to `successor`: the successor signs
    `handover_statement` (proving it holds its private key), `old` signs the whole list."""

    def sign(payload: dict[str, Any]) -> bytes:
        statement = handover_statement(from_serial=old.serial, to_serial=successor.serial, version=payload["version"])
        proof = store.sign(serial=successor.serial, alg=successor.alg, data=statement)
        payload = {**payload, "handover": {"to": successor.serial, "sig": base64.b64encode(proof).decode("ascii")}}
        return seal_with(
            payload,
            alg=old.alg,
            serial=old.serial,
            sign=lambda data: store.sign(serial=old.serial, alg=old.alg, data=data),
        )

    return sign


def _key_mismatch(key: SigningKey) -> KeyStoreError:
    return KeyStoreError(
        _("The key store's private key for %(serial)s does not match its public key: rotate the key.")
        % {"serial": key.serial}
    )


@dataclass(frozen=True)
class ActiveSigner:
    """The active key, read once, for many signatures in a row (live voice signs a chunk every
    180 ms): signing touches neither the database nor the key's checks again."""

    alg: str
    serial: str
    sign: Callable[[bytes], bytes]

    def seal(self, payload: dict[str, Any]) -> bytes:
        """The envelope bytes (protocols.md §3) of `payload`."""
        return seal_with(payload, alg=self.alg, serial=self.serial, sign=self.sign)


def signer_active() -> ActiveSigner:
    """A signer for the active broadcast key, checked once with a probe signature against its
    public key (live voice: it seals chunks of kind `live`, a broadcast usage).

    Raises NoActiveKey when there is none, KeyStoreError when the key store does not hold the key.
    """
    key = signing_key_active(purpose=SigningKey.Purpose.BROADCAST)
    store = keystore_get()
    probe = b"ruralcast key check"
    if not crypto.verify(key.alg, key.public_key_bytes, probe, store.sign(serial=key.serial, alg=key.alg, data=probe)):
        raise _key_mismatch(key)
    return ActiveSigner(key.alg, key.serial, lambda data: store.sign(serial=key.serial, alg=key.alg, data=data))


def payload_sign(*, payload: dict[str, Any]) -> bytes:
    """The envelope bytes (protocols.md §3) of `payload` signed by the active key of the purpose its
    `kind` needs (`protocol.usage_for`: a firmware manifest by the firmware key, all else by the
    broadcast key).

    Raises NoActiveKey when there is none. The signature is checked against the key's public key
    before it is returned, so a key store that does not hold the key it claims never gets a message
    onto the air that every terminal would refuse.
    """
    key = signing_key_active(purpose=usage_for(str(payload.get("kind"))))
    store = keystore_get()
    signed: list[tuple[bytes, bytes]] = []

    def sign(data: bytes) -> bytes:
        signature = store.sign(serial=key.serial, alg=key.alg, data=data)
        signed.append((data, signature))
        return signature

    envelope = seal_with(payload, alg=key.alg, serial=key.serial, sign=sign)
    data, signature = signed[0]
    if not crypto.verify(key.alg, key.public_key_bytes, data, signature):
        raise _key_mismatch(key)
    return envelope
