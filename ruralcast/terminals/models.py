"""Terminals: the devices in villages that play broadcasts (loudspeaker columns, 4G speakers, …).

This is the minimal registry the emergency-broadcasting flow needs (identity, village, broker
credentials, revocation); the fleet issue extends it with models, firmware, status and work orders.

A terminal is named by its 23-digit resource code (see docs/protocols.md §1), which is also its
MQTT client id, username and topic id.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TerminalKind(models.TextChoices):
    IP_LOUDSPEAKER = "ip_speaker", _("IP loudspeaker column")
    CELLULAR_LOUDSPEAKER = "4g_speaker", _("4G loudspeaker")
    FM_RDS = "fm_rds", _("FM-RDS receiver adapter")
    SET_TOP_BOX = "stb", _("Cable/satellite set-top box")
    SMART_SPEAKER = "smart_speaker", _("Smart speaker")


class Terminal(models.Model):
    code = models.CharField(_("resource code"), max_length=23, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=TerminalKind.choices, default=TerminalKind.IP_LOUDSPEAKER)
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    broker_password_hash = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("terminal")
        verbose_name_plural = _("terminals")

    def __str__(self) -> str:
        return self.code

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None
