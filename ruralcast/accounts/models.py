"""People, the roles they hold on region subtrees, and the tokens machines use.

- `User`: a person who logs in to the console (session) or whose token a script uses (API).
  `home_region` is where the person works; it is informative, permissions come from grants.
- `RoleGrant`: role R on region G for user U; covers G's whole subtree.
- `ApiToken`: a bearer token for machines. Only a SHA-256 of the secret is stored; the secret is
  shown once when the token is created.
"""

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.roles import Role


class User(AbstractUser):
    full_name = models.CharField(_("full name"), max_length=150, blank=True)
    home_region = models.ForeignKey(
        "regions.Region",
        verbose_name=_("home region"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    preferred_language = models.CharField(_("language"), max_length=10, blank=True)

    class Meta:
        verbose_name = _("user")
        verbose_name_plural = _("users")

    def __str__(self) -> str:
        return self.full_name or self.username


class RoleGrant(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("role"), max_length=32, choices=Role.choices)
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+")
    granted_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    granted_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["region_id", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role", "region"], name="role_grant_unique")]
        verbose_name = _("role grant")
        verbose_name_plural = _("role grants")

    def __str__(self) -> str:
        # Language-neutral: this label is frozen into the hash-chained audit trail.
        return f"{self.user.username} · {self.role} @ {self.region_id}"


class ApiToken(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(_("expires at"), null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"
