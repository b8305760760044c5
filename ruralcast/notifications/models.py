"""Who is on duty, what they were told, and how it reached them.

- `DutySlot`: the weekly pattern of a region's duty roster (值班表): person P is on duty for region R
  at tier T every weekday W from S to E (local time; E ≤ S runs past midnight, E = S is the whole
  day). Tier 1 is paged first; tier 2 (the backup) when tier 1 does not answer; and so on.
- `DutyOverride`: a one-off change of the pattern: P on duty (a stand-in) or off duty (leave) for R
  between two moments. A swap is one of each.
- `Escalation`: one thing waiting for someone on duty (an alert awaiting approval, later an imported
  warning): paged up the duty ladder (services.py `duty_page`) until it is approved, rejected or
  expires. A claim ("I am on it") holds the escalation for one more interval.
- `Notification`: one message to one person, composed in their language when it is made; it is
  their console notification (the inbox).
- `Delivery`: one way a notification went out (console, e-mail, SMS) and what became of it.
- `NotificationContact`: where a person wants to be reached (an SMS number, an e-mail other than the
  account's), and which channels they accept.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


class Tier(models.IntegerChoices):
    FIRST = 1, _("1st: on duty")
    SECOND = 2, _("2nd: backup")
    THIRD = 3, _("3rd: leader on duty")


class Weekday(models.IntegerChoices):
    MONDAY = 0, _("Monday")
    TUESDAY = 1, _("Tuesday")
    WEDNESDAY = 2, _("Wednesday")
    THURSDAY = 3, _("Thursday")
    FRIDAY = 4, _("Friday")
    SATURDAY = 5, _("Saturday")
    SUNDAY = 6, _("Sunday")


class DutySlot(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_slots", verbose_name=_("person")
    )
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)
    weekday = models.PositiveSmallIntegerField(_("weekday"), choices=Weekday.choices)
    starts = models.TimeField(_("from"))
    ends = models.TimeField(_("until"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["region_id", "weekday", "starts", "tier"]
        indexes = [models.Index(fields=["region", "weekday"], name="duty_slot_region_day")]
        verbose_name = _("duty slot")
        verbose_name_plural = _("duty slots")

    def __str__(self) -> str:
        # Language-neutral: this label goes into the hash-chained audit trail.
        return (
            f"{self.region_id} tier {self.tier} day {self.weekday} {self.starts:%H:%M}-{self.ends:%H:%M} {self.user_id}"
        )


class DutyOverride(models.Model):
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="duty_overrides", verbose_name=_("person")
    )
    on_duty = models.BooleanField(_("on duty"), default=True)
    tier = models.PositiveSmallIntegerField(_("tier"), choices=Tier.choices, default=Tier.FIRST)
    starts_at = models.DateTimeField(_("from"))
    ends_at = models.DateTimeField(_("until"))
    note = models.CharField(_("note"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["region_id", "starts_at"]
        indexes = [models.Index(fields=["region", "ends_at"], name="duty_override_region_end")]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="duty_override_ends_after_start"
            )
        ]
        verbose_name = _("duty override")
        verbose_name_plural = _("duty overrides")

    def __str__(self) -> str:
        on = "on" if self.on_duty else "off"
        return f"{self.region_id} {on} tier {self.tier} {self.starts_at:%Y-%m-%dT%H:%M}Z {self.user_id}"


class EscalationState(models.TextChoices):
    OPEN = "open", pgettext_lazy("escalation state", "Waiting")
    CLAIMED = "claimed", pgettext_lazy("escalation state", "Claimed")
    CLOSED = "closed", pgettext_lazy("escalation state", "Closed")


ACTIVE_ESCALATION_STATES = (EscalationState.OPEN, EscalationState.CLAIMED)


class Escalation(models.Model):
    subject_type = models.CharField(max_length=64)  # e.g. "alerts.alert"
    subject_id = models.CharField(max_length=64)  # e.g. the EBM id
    region = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))
    action = models.CharField(max_length=32)  # what a paged person must be allowed to do over `region`
    kind = models.CharField(max_length=48)
    params = models.JSONField(default=dict)
    url = models.CharField(max_length=300, blank=True)
    urgent = models.BooleanField(default=False)
    interval_seconds = models.PositiveIntegerField()
    state = models.CharField(max_length=10, choices=EscalationState.choices, default=EscalationState.OPEN)
    step = models.PositiveSmallIntegerField(default=0)  # ladder steps paged so far
    paged = models.JSONField(default=list)  # user ids paged so far (never paged twice)
    excluded = models.JSONField(default=list)  # user ids who may not act (the author, the submitter)
    opened_at = models.DateTimeField(default=timezone.now)
    next_at = models.DateTimeField(null=True, blank=True)  # when it escalates next; None: no more steps
    expires_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outcome = models.CharField(max_length=20, blank=True)  # approved, rejected, expired, …

    class Meta:
        ordering = ["-opened_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["subject_type", "subject_id"],
                condition=Q(state__in=["open", "claimed"]),
                name="escalation_one_active_per_subject",
            )
        ]
        indexes = [models.Index(fields=["state", "next_at"], name="escalation_due")]
        verbose_name = _("escalation")
        verbose_name_plural = _("escalations")

    def __str__(self) -> str:
        return f"{self.subject_type} {self.subject_id}"

    @property
    def is_active(self) -> bool:
        return self.state in ACTIVE_ESCALATION_STATES


class Notification(models.Model):
    recipient = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(max_length=48)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("text"), blank=True)
    params = models.JSONField(default=dict)  # the codes and values the text was made from, for programs
    url = models.CharField(max_length=300, blank=True)
    region_code = models.CharField(max_length=12, blank=True, db_index=True)
    urgent = models.BooleanField(default=False)
    escalation = models.ForeignKey(
        Escalation, null=True, blank=True, on_delete=models.SET_NULL, related_name="notifications"
    )
    created_at = models.DateTimeField(_("time"), default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["recipient", "read_at"], name="notification_unread")]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")

    def __str__(self) -> str:
        return f"{self.kind} → {self.recipient_id}"


class Channel(models.TextChoices):
    CONSOLE = "console", _("Console")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


class DeliveryState(models.TextChoices):
    PENDING = "pending", pgettext_lazy("delivery state", "Waiting")
    SENDING = "sending", pgettext_lazy("delivery state", "Sending")
    SENT = "sent", pgettext_lazy("delivery state", "Sent")
    FAILED = "failed", pgettext_lazy("delivery state", "Failed")


class Delivery(models.Model):
    notification = models.ForeignKey(Notification, on_delete=models.CASCADE, related_name="deliveries")
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    address = models.CharField(_("address"), max_length=254, blank=True)
    state = models.CharField(_("state"), max_length=10, choices=DeliveryState.choices, default=DeliveryState.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    gateway = models.CharField(max_length=100, blank=True)  # which backend or gateway carried it
    stand_in = models.BooleanField(default=False)  # carried by a stand-in: nothing left the machine
    created_at = models.DateTimeField(default=timezone.now)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="delivery_due")]
        verbose_name = _("delivery")
        verbose_name_plural = _("deliveries")

    def __str__(self) -> str:
        return f"{self.channel} {self.notification_id} {self.state}"

    @property
    def address_masked(self) -> str:
        """The address as the delivery log shows it: enough to tell which, not to copy it."""
        if not self.address:
            return ""
        if self.channel == Channel.EMAIL and "@" in self.address:
            local, _at, domain = self.address.partition("@")
            return f"{local[:1]}…@{domain}"
        digits = [c for c in self.address if c.isdigit()]
        return f"…{''.join(digits[-4:])}"


class NotificationContact(models.Model):
    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_contact")
    phone = models.CharField(_("mobile number for SMS"), max_length=20, blank=True)
    email = models.EmailField(_("e-mail for notifications"), blank=True, help_text=_("Empty: the account's e-mail."))
    sms_enabled = models.BooleanField(_("SMS for urgent pages"), default=True)
    email_enabled = models.BooleanField(_("e-mail"), default=True)

    class Meta:
        verbose_name = _("notification contact")
        verbose_name_plural = _("notification contacts")

    def __str__(self) -> str:
        return f"contact {self.user_id}"
