"""The people ruralcast exists for, and the screens they watch (issue 17).

- `Household`: a home in a village (户): the village, an address as the village writes it, a
  label. Members are kept to the minimum the later lines need (orders, bookings, attendance).
- `Screen`: a household screen (a set-top box or smart-TV browser) driven by a remote with five
  keys. A screen that opens the portal for the first time gets a long-lived device token (kept
  here only as its SHA-256) and shows a short pairing code; the village's operator (console) or the
  household (phone) confirms the code, which ties the screen to a village and optionally a
  household. An unpaired screen sees the deployment's top region's content only. Revoking a
  screen makes its token worthless at once; the box starts over with a new code.
- `Villager`: a person on the phone, signed in with their phone number and a one-time code sent
  by SMS (`OneTimeCode`, kept only as a hash). A villager is *not* a console `User`: the console's
  login, grants and second factor never see them, so no villager session can reach a console page.
- `Consent`: what a villager agreed to be collected (PIPL): the purpose, the version of the notice
  they were shown, when, and when they withdrew it.
- `HouseholdMember`: a person of the household without an account (a child, an elderly parent);
  a minor is kept only with a guardian villager's consent record.
- `Attempt`: one counted try (a screen registered, a wrong pairing or one-time code, a code sent)
  for the throttles; pruned with the other short-lived rows by `manage.py villagers_prune`.

Nothing personal goes into the audit trail (it cannot be changed afterwards): villagers appear
there as "villager <id>", never by name or number.
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
    # When the household paired it from the phone (deleting the villager leaves the pairing, unnamed).
    paired_by_villager = models.ForeignKey(
        "villagers.Villager", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
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


class Villager(models.Model):
    """A villager with an account on the phone (phone number + one-time code)."""

    phone = models.CharField(_("phone number"), max_length=20, unique=True)
    display_name = models.CharField(_("name"), max_length=40, blank=True)
    household = models.ForeignKey(
        Household,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="villagers",
        verbose_name=_("household"),
    )
    village = models.ForeignKey(
        "regions.Region", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("village")
    )
    created_at = models.DateTimeField(default=timezone.now)
    last_login_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["pk"]
        verbose_name = _("villager")
        verbose_name_plural = _("villagers")

    def __str__(self) -> str:
        # What the audit trail shows: never the name or the number (see the module docstring).
        return f"villager {self.pk}"


class ConsentPurpose(models.TextChoices):
    ACCOUNT = "account", _("An account: phone number and name, to sign in and be reached")
    HOUSEHOLD = "household", _("The household: its village, address and screens")
    MINOR = "minor", _("A minor in the household, agreed by a guardian")


class Consent(models.Model):
    villager = models.ForeignKey(Villager, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=ConsentPurpose.choices)
    notice_version = models.CharField(_("notice version"), max_length=20)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        ordering = ["villager_id", "given_at", "pk"]
        verbose_name = _("consent")
        verbose_name_plural = _("consents")

    def __str__(self) -> str:
        return f"consent {self.pk} ({self.purpose})"


class HouseholdMember(models.Model):
    """A household member without an account. A minor needs a guardian's consent record."""

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="members")
    display_name = models.CharField(_("name"), max_length=40)
    is_minor = models.BooleanField(_("minor"), default=False)
    guardian = models.ForeignKey(
        Villager, null=True, blank=True, on_delete=models.CASCADE, related_name="wards", verbose_name=_("guardian")
    )
    guardian_consent = models.ForeignKey(Consent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["household_id", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(is_minor=False) | (Q(guardian__isnull=False) & Q(guardian_consent__isnull=False)),
                name="household_minor_needs_guardian_consent",
            )
        ]
        verbose_name = _("household member")
        verbose_name_plural = _("household members")

    def __str__(self) -> str:
        return f"member {self.pk}"


class OneTimeCode(models.Model):
    """A sign-in code sent by SMS: only its hash is kept; it expires and allows few attempts."""

    phone = models.CharField(max_length=20, db_index=True)
    code_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    attempts = models.PositiveSmallIntegerField(default=0)
    used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "pk"]

    def __str__(self) -> str:
        return f"one-time code {self.pk}"  # never the number: see the module docstring


class Attempt(models.Model):
    """One counted try for a throttle: `kind` says which, `key` whose (an address or a number)."""

    class Kind(models.TextChoices):
        SCREEN_REGISTER = "screen_register", _("Screen registered")
        PAIR_FAILURE = "pair_failure", _("Wrong pairing code")
        CODE_SENT_NUMBER = "code_sent_number", _("Sign-in code sent to a number")
        CODE_SENT_ADDRESS = "code_sent_address", _("Sign-in code asked from an address")
        CODE_FAILURE = "code_failure", _("Wrong sign-in code")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=64)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["kind", "key", "at"], name="villagers_attempt_lookup")]

    def __str__(self) -> str:
        return f"{self.kind} {self.pk}"
