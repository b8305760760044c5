"""The audit trail: an append-only, hash-chained record of every write made through services.

Each `AuditEvent` stores who did what to which object in which region, a summary of the object
before and after, and `hash = SHA-256(prev_hash ‖ canonical JSON of the event)`. Changing or
removing any past event breaks every hash after it, which `manage.py audit_verify` detects.
Database triggers (SQLite and PostgreSQL, see the migration) refuse UPDATE and DELETE on the table
so that even code that bypasses the ORM cannot rewrite history without dropping them first.

`AuditHead` is a single row holding the latest sequence number and hash; updating it first in
each transaction serialises writers so the chain never forks.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

GENESIS_HASH = "0" * 64


class AuditEvent(models.Model):
    seq = models.PositiveBigIntegerField(_("sequence"), unique=True)
    created_at = models.DateTimeField(_("time"), db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        db_constraint=False,
        related_name="+",
    )
    actor_label = models.CharField(_("actor"), max_length=150)
    verb = models.CharField(_("action"), max_length=64, db_index=True)
    object_type = models.CharField(_("object type"), max_length=64, blank=True)
    object_id = models.CharField(_("object id"), max_length=64, blank=True)
    object_label = models.CharField(_("object"), max_length=200, blank=True)
    region_code = models.CharField(_("region"), max_length=12, blank=True, db_index=True)
    before = models.JSONField(_("before"), null=True, blank=True)
    after = models.JSONField(_("after"), null=True, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        ordering = ["-seq"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")

    def __str__(self) -> str:
        return f"#{self.seq} {self.verb} {self.object_label}"

    def save(self, *args: object, **kwargs: object) -> None:
        if self.pk is not None:
            raise RuntimeError("audit events are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args: object, **kwargs: object) -> tuple[int, dict[str, int]]:
        raise RuntimeError("audit events are append-only")


class AuditHead(models.Model):
    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS_HASH)

    def __str__(self) -> str:
        return f"audit head #{self.seq}"
