"""The platform's signing keys (docs/protocols.md §3, §6).

A `SigningKey` is the public half and the life of one key; the private half never enters the
database: a `KeyStore` (keystore.py) keeps it, today a 0600 file under RUN_DIR/keys, in a GY/T 389
deployment a crypto card or USB key. Life of a key:

    pending ──rotate──▶ active ──rotate──▶ retired
       │                  │                  │
       └──────────────────┴─────revoke───────┴──▶ revoked

- *pending*: generated and already in the trust list (so terminals learn it before it signs).
- *active*: the one key that signs; at most one per deployment (a partial unique index).
- *retired*: signs no more, still trusted, so alerts it signed verify until they expire.
- *revoked*: in the trust list flagged `revoked`, so terminals refuse whatever it signed.

Every key has one **purpose** (protocols.md §6, key usage): *broadcast* keys sign what the
dispatcher, live voice and the trust list send (alerts, commands, schedules, live chunks, trust-list
updates); *firmware* keys sign firmware manifests and nothing else. The trust list carries the
purpose as each key's `usage` and terminals refuse a signature outside it, so neither kind of key
can stand in for the other. Each purpose has its own life cycle (at most one active key each).

Serials are 12 digits, `YYYYMMDD` of creation + 4 random digits, never reused (rows are never
deleted and a serial whose key file exists is skipped).
"""

import base64

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from ruralcast_terminal.crypto import ALG_ED25519, ALG_SM2
from ruralcast_terminal.protocol import USAGE_BROADCAST, USAGE_FIRMWARE


class SigningKey(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("signing key status", "Pending")
        ACTIVE = "active", pgettext_lazy("signing key status", "Active")
        RETIRED = "retired", pgettext_lazy("signing key status", "Retired")
        REVOKED = "revoked", pgettext_lazy("signing key status", "Revoked")

    class Purpose(models.TextChoices):
        # The values are the trust list's `usage` names (protocols.md §6).
        BROADCAST = USAGE_BROADCAST, pgettext_lazy("signing key purpose", "Broadcast")
        FIRMWARE = USAGE_FIRMWARE, pgettext_lazy("signing key purpose", "Firmware")

    class Alg(models.TextChoices):
        # Algorithm names are the wire names (protocols.md §3): not translated.
        ED25519 = ALG_ED25519, "Ed25519"
        SM2 = ALG_SM2, "SM2-SM3"

    serial = models.CharField(max_length=12, unique=True)
    alg = models.CharField(max_length=16, choices=Alg.choices)
    public_key = models.CharField(max_length=128, help_text="base64 of the raw public key (protocols.md §6)")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.BROADCAST)
    created_at = models.DateTimeField(default=timezone.now)
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoke_reason = models.TextField(blank=True)

    class Meta:
        ordering = ["created_at", "serial"]
        constraints = [
            models.UniqueConstraint(
                fields=["purpose"], condition=Q(status="active"), name="signing_key_one_active_per_purpose"
            ),
            models.CheckConstraint(condition=Q(alg__in=[ALG_ED25519, ALG_SM2]), name="signing_key_alg_known"),
            models.CheckConstraint(
                condition=Q(purpose__in=[USAGE_BROADCAST, USAGE_FIRMWARE]), name="signing_key_purpose_known"
            ),
        ]
        verbose_name = _("signing key")
        verbose_name_plural = _("signing keys")

    def __str__(self) -> str:
        # Language-neutral: this label is frozen into the hash-chained audit trail.
        return f"{self.serial} {self.alg}"

    @property
    def public_key_bytes(self) -> bytes:
        return base64.b64decode(self.public_key)

    @property
    def is_trusted(self) -> bool:
        """Whether terminals accept its signatures (every state but revoked)."""
        return self.status != self.Status.REVOKED
