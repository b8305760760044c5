"""People, the roles they hold on region subtrees, and the tokens machines use.

- `User`: a person who logs in to the console (session) or whose token a script uses (API).
  `home_region` is where the person works; it is informative, permissions come from grants.
- `RoleGrant`: role R on region G for user U; covers G's whole subtree.
- `ApiToken`: a bearer token for machines. Only a SHA-256 of the secret is stored; the secret is
  shown once when the token is created.
- `LoginThrottle`: failed logins of one username from one address (`accounts.lockout`).
- `RecoveryCodeDevice` / `RecoveryCode`: hashed one-time codes beside the authenticator app
  (django-otp's `TOTPDevice`) for the second factor (`accounts.second_factor`).
- `WebAuthnCredential`: a security key or a built-in authenticator (WebAuthn) as a second factor
  (`accounts.security_keys`).
"""

import hashlib
from datetime import datetime

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from ruralcast.accounts.roles import Role


class User(AbstractUser):  # type: ignore[django-manager-missing]  # django-otp devices relate by a plain FK
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


class LoginThrottle(models.Model):
    """Failed attempts of one username from one client address, and how long that pair must wait.

    One row per (username as typed, address, step): password or second factor. Never per username
    alone, so failures from an attacker's address never keep the person out at their own
    (`accounts.lockout`). IPv6 addresses count per /64, the block one subscriber gets.
    """

    class Step(models.TextChoices):
        PASSWORD = "password", _("password")
        SECOND_FACTOR = "second_factor", _("second factor")

    username = models.CharField(max_length=150)
    address = models.CharField(max_length=64)
    step = models.CharField(max_length=16, choices=Step.choices, default=Step.PASSWORD)
    failures = models.PositiveIntegerField(default=0)
    last_failure_at = models.DateTimeField()
    locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["username", "address", "step"], name="login_throttle_unique"),
        ]
        indexes = [models.Index(fields=["last_failure_at"], name="login_throttle_last_failure")]

    def __str__(self) -> str:
        return f"{self.username} @ {self.address} ({self.step})"


RECOVERY_CODE_LENGTH = 16  # 16 of 31 symbols: 79 bits


def recovery_code_digest(code: str) -> str | None:
    """The stored form of a recovery code as typed (dashes, spaces and case ignored)."""
    cleaned = "".join(code.split()).replace("-", "").lower()
    if len(cleaned) != RECOVERY_CODE_LENGTH:
        return None
    return hashlib.sha256(cleaned.encode()).hexdigest()


class RecoveryCodeDevice(Device):
    """A person's one-time recovery codes, as one django-otp device (for a lost phone).

    Only a SHA-256 of each code is stored (codes carry 80 random bits, like API token secrets);
    a code works once. Verifying with it marks the session verified like the authenticator does.
    """

    class Meta:
        verbose_name = _("recovery codes")
        verbose_name_plural = _("recovery codes")

    def verify_token(self, token: str) -> bool:
        digest = recovery_code_digest(token)
        if digest is None:
            return False
        used = RecoveryCode.objects.filter(device=self, code_hash=digest, used_at__isnull=True).update(
            used_at=timezone.now()
        )
        return used == 1


class RecoveryCode(models.Model):
    device = models.ForeignKey(RecoveryCodeDevice, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["device", "code_hash"], name="recovery_code_unique")]

    def __str__(self) -> str:
        return f"recovery code {self.code_hash[:8]}… ({'used' if self.used_at else 'unused'})"


class WebAuthnCredential(Device):
    """A security key (USB/NFC) or a phone's or laptop's built-in authenticator, as a django-otp device.

    WebAuthn: at registration the authenticator makes a key pair for this site (`rp_id`, the host
    name) and gives us the public key; at each login it signs a fresh challenge with the private
    key, which never leaves it. A verified signature marks the session verified like a TOTP code
    (`otp_login`), so `SecondFactorMiddleware` treats both alike. `sign_count` is the authenticator's
    own use counter: a count that does not grow hints at a cloned key (`security_key_check`).
    """

    # Annotated by hand: django-otp ships no types, so the stubs do not see a model here.
    # base64url of up to 1023 bytes; the public key is the COSE_Key as the authenticator sent it.
    credential_id: "models.CharField[str, str]" = models.CharField(max_length=1400, unique=True)
    public_key: "models.BinaryField[bytes | memoryview, bytes | memoryview]" = models.BinaryField()
    sign_count: "models.PositiveBigIntegerField[int, int]" = models.PositiveBigIntegerField(default=0)
    rp_id: "models.CharField[str, str]" = models.CharField(max_length=253)
    # The authenticator's model (all zeros when it does not tell, as with "none" attestation).
    aaguid: "models.CharField[str, str]" = models.CharField(max_length=36, blank=True)
    transports: "models.JSONField[list[str], list[str]]" = models.JSONField(default=list, blank=True)
    created_at: "models.DateTimeField[datetime, datetime]" = models.DateTimeField(auto_now_add=True)
    last_used_at: "models.DateTimeField[datetime | None, datetime | None]" = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        verbose_name = _("security key")
        verbose_name_plural = _("security keys")
