"""Forged traffic made visible: security events, counted per region, day and kind.

A county that is attacked sees it the day it starts: a terminal publishing where the broker's ACL
refuses it, terminals rejecting messages with a bad signature or an unknown or revoked key,
receipts naming messages the platform never sent, logins refused. Each event is counted
(`SecurityCount`, one row per region, hour and kind, so the panel and the Prometheus metric read a
few rows, not the events) and kept (`SecurityEvent`, with the terminal or user where known) up to
`EVENTS_KEPT_PER_HOUR` per row of counts: a flood is counted in full without filling the disk. `SecurityAlarm` marks the (county, day) whose total reached the threshold: its duty
roster is paged once per window.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class SecurityKind(models.TextChoices):
    REFUSED_PUBLISH = "refused_publish", _("Publishes refused by the broker")
    BAD_SIGNATURE = "bad_signature", _("Bad signatures reported by terminals")
    UNKNOWN_KEY = "unknown_key", _("Unknown or revoked keys reported by terminals")
    UNKNOWN_RECEIPT = "unknown_receipt", _("Receipts for unknown messages")
    LOGIN_REFUSED = "login_refused", _("Logins refused")


class SecurityEvent(models.Model):
    at = models.DateTimeField(_("time"), db_index=True)
    kind = models.CharField(_("kind"), max_length=32, choices=SecurityKind.choices)
    # The village (terminals) or the person's home region; "" when nobody is known (an unknown user).
    region_code = models.CharField(_("region"), max_length=12, blank=True)
    terminal_code = models.CharField(_("terminal"), max_length=23, blank=True)
    username = models.CharField(_("user"), max_length=150, blank=True)
    detail = models.CharField(_("detail"), max_length=200, blank=True)

    class Meta:
        ordering = ["-at", "-id"]
        indexes = [models.Index(fields=["region_code", "at"], name="security_event_region_at")]

    def __str__(self) -> str:
        return f"{self.kind} {self.region_code} {self.at:%Y-%m-%d %H:%M:%S}"


class SecurityCount(models.Model):
    region_code = models.CharField(max_length=12, blank=True)
    hour = models.DateTimeField()  # the start of the hour (UTC) the events were received in
    kind = models.CharField(max_length=32, choices=SecurityKind.choices)
    count = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region_code", "hour", "kind"], name="security_count_once")]
        indexes = [models.Index(fields=["hour", "region_code"], name="security_count_hour_region")]

    def __str__(self) -> str:
        return f"{self.region_code} {self.hour:%Y-%m-%d %H}h {self.kind}: {self.count}"


class SecurityAlarm(models.Model):
    """The county's events of `day` reached the threshold; its duty roster was paged (once)."""

    region_code = models.CharField(max_length=12)
    day = models.DateField()
    total = models.PositiveIntegerField()
    raised_at = models.DateTimeField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["region_code", "day"], name="security_alarm_once")]

    def __str__(self) -> str:
        return f"{self.region_code} {self.day}"
