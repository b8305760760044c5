"""The people ruralcast exists for, and the screens they watch (issue 17).

- `Household`: a home in a village (户): the village, an address as the village writes it, a
  label. Members are kept to the minimum the later lines need (orders, bookings, attendance).
- `Screen`: a household screen (a set-top box or smart-TV browser) driven by a remote with five
  keys. A screen that opens the portal for the first time gets a long-lived device token (kept
  here only as its SHA-256) and shows a short pairing code; the village's operator (console) or the
  household (phone) confirms the code, which ties the screen to a village and optionally a
  household. An unpaired screen sees the deployment's top region's content only. Revoking a
  screen makes its token worthless at once; the box starts over with a new code.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Household(models.Model):
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    label = models.CharField(_("name"), max_length=80, help_text=_("How the village knows the household, e.g. 张家."))
    address = models.CharField(_("address"), max_length=200, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["village_id", "label", "pk"]
        verbose_name = _("household")
        verbose_name_plural = _("households")

    def __str__(self) -> str:
        return self.label


class Screen(models.Model):
    label = models.CharField(_("name"), max_length=80, blank=True)
    # SHA-256 (hex) of the device token the box holds in its cookie; the token itself is never stored.
    token_hash = models.CharField(max_length=64, unique=True)
    pairing_code = models.CharField(_("pairing code"), max_length=8, blank=True, db_index=True)
    pairing_code_expires_at = models.DateTimeField(null=True, blank=True)
    village = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    household = models.ForeignKey(
        Household, null=True, blank=True, on_delete=models.SET_NULL, related_name="screens", verbose_name=_("household")
    )
    paired_at = models.DateTimeField(_("paired at"), null=True, blank=True)
    paired_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    revoked_at = models.DateTimeField(_("revoked at"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    user_agent = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(village__isnull=False) | Q(household__isnull=True), name="screen_household_needs_village"
            )
        ]
        verbose_name = _("screen")
        verbose_name_plural = _("screens")

    def __str__(self) -> str:
        return self.label or f"screen {self.pk}"

    @property
    def is_paired(self) -> bool:
        return self.village_id is not None and self.revoked_at is None
