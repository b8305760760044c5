"""The administrative region tree and designations.

- `Region`: one row per division (national root, 31 provinces … 620,573 villages), keyed by its
  12-digit statistical code. Name search works in Chinese, in full pinyin and in pinyin initials.
- `Designation`: a named list of regions that policy treats specially ("national poverty county
  2014–2020", "national key county for rural revitalization", "revolutionary old area"). Which
  counties are on such a list is data, never code: the lists change with policy.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.codes import Level, ancestor_codes, prefix_of


class Region(models.Model):
    code = models.CharField(_("code"), max_length=12, primary_key=True)
    name = models.CharField(_("name"), max_length=100, db_index=True)
    level = models.PositiveSmallIntegerField(_("level"), choices=Level.choices, db_index=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children", db_index=True
    )
    pinyin = models.CharField(_("pinyin"), max_length=400, db_index=True, blank=True)
    initials = models.CharField(_("pinyin initials"), max_length=100, db_index=True, blank=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("region")
        verbose_name_plural = _("regions")

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def prefix(self) -> str:
        """The code prefix shared by this region's whole subtree."""
        return prefix_of(self.code, self.level)

    @property
    def ancestor_codes(self) -> list[str]:
        return ancestor_codes(self.code, self.level)

    def contains(self, other: "Region") -> bool:
        """True when `other` is this region or lies in its subtree."""
        return other.code.startswith(self.prefix) and other.level >= self.level


class Designation(models.Model):
    key = models.SlugField(_("key"), max_length=80, unique=True)
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"), blank=True)
    source = models.TextField(_("source"), blank=True, help_text=_("Where the list comes from."))
    regions: "models.ManyToManyField[Region, DesignationMember]" = models.ManyToManyField(
        Region, through="DesignationMember", related_name="designations"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        verbose_name = _("designation")
        verbose_name_plural = _("designations")

    def __str__(self) -> str:
        return self.name


class DesignationMember(models.Model):
    designation = models.ForeignKey(Designation, on_delete=models.CASCADE, related_name="members")
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["designation", "region"], name="designation_member_unique")]

    def __str__(self) -> str:
        return f"{self.designation_id}:{self.region_id}"
