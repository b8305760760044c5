"""Work orders (工单): a terminal's fault, who repairs it, by when, and what was done.

Rules open orders automatically and close them when the terminal recovers (`maintenance.rules`);
each order is assigned to the maintainer responsible for the terminal's region, carries an SLA
deadline, escalates upwards when it is missed, and collects notes and photos.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class FaultKind(models.TextChoices):
    OFFLINE = "offline", _("Offline too long")
    AMPLIFIER = "amplifier", _("Amplifier fault")
    SPEAKER = "speaker", _("Speaker fault")
    PLAYBACK = "playback", _("Repeated playback failures")
    SILENT = "silent_alert", _("Silent during an alert")


class OrderState(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")


class WorkOrder(models.Model):
    terminal = models.ForeignKey(
        "terminals.Terminal", on_delete=models.CASCADE, related_name="work_orders", verbose_name=_("terminal")
    )
    village_code = models.CharField(max_length=12)  # the terminal's village: subtree queries by range
    fault = models.CharField(_("fault"), max_length=20, choices=FaultKind.choices)
    detail = models.CharField(_("detail"), max_length=200, blank=True)  # e.g. the alert a terminal was silent in
    state = models.CharField(_("state"), max_length=12, choices=OrderState.choices, default=OrderState.OPEN)
    auto = models.BooleanField(default=True)  # opened by a rule (and closed by recovery)
    opened_at = models.DateTimeField(_("opened at"))
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("assigned to"),
    )
    due_at = models.DateTimeField(_("due by"))
    escalation_level = models.PositiveSmallIntegerField(_("escalation"), default=0)
    escalated_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    resolution = models.CharField(_("resolution"), max_length=200, blank=True)

    class Meta:
        ordering = ["-opened_at"]
        verbose_name = _("work order")
        verbose_name_plural = _("work orders")
        constraints = [
            models.UniqueConstraint(
                fields=["terminal", "fault"],
                condition=models.Q(resolved_at__isnull=True),
                name="maintenance_one_open_order_per_fault",
            )
        ]
        indexes = [
            models.Index(fields=["village_code", "opened_at"], name="maintenance_order_region"),
            models.Index(fields=["resolved_at", "due_at"], name="maintenance_order_due"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.terminal_id} {self.fault}"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None

    @property
    def resolution_label(self) -> str:
        """The resolution for display: the codes rules store, translated; what a person wrote, as is."""
        labels = {"recovered": _("recovered"), "revoked": _("terminal revoked")}
        return str(labels.get(self.resolution, self.resolution))


class WorkOrderNote(models.Model):
    order = models.ForeignKey(WorkOrder, on_delete=models.CASCADE, related_name="notes")
    author = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, related_name="+")
    at = models.DateTimeField(auto_now_add=True)
    text = models.TextField(_("note"), blank=True)
    photo = models.FileField(_("photo"), upload_to="maintenance/photos/%Y/%m/", blank=True)
    # What the photo is, decided from its content at upload (core.filetypes) and served as such.
    photo_content_type = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["at", "id"]
        verbose_name = _("note")
        verbose_name_plural = _("notes")

    def __str__(self) -> str:
        return f"note {self.pk} on {self.order_id}"
