"""Terminals: the devices in villages that play broadcasts (loudspeaker columns, 4G speakers, …).

The registry (`Terminal`): identity (23-digit resource code), kind, model, firmware, transport,
installation date and position, owner station and the maintainer responsible; broker credentials
(only a hash) and revocation. Its live side (`TerminalState`, one row per terminal, and the compact
`TerminalEvent` history) is written by the ingest worker from status reports (docs/protocols.md §7).

A terminal is named by its 23-digit resource code (see docs/protocols.md §1), which is also its
MQTT client id, username and topic id.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class TerminalKind(models.TextChoices):
    IP_LOUDSPEAKER = "ip_speaker", _("IP loudspeaker column")
    CELLULAR_LOUDSPEAKER = "4g_speaker", _("4G loudspeaker")
    FM_RDS = "fm_rds", _("FM-RDS receiver adapter")
    SET_TOP_BOX = "stb", _("Cable/satellite set-top box")
    SMART_SPEAKER = "smart_speaker", _("Smart speaker")


class Transport(models.TextChoices):
    ETHERNET = "ethernet", _("Wired IP")
    CELLULAR = "cellular", _("4G/5G cellular")
    FM = "fm", _("FM broadcast (RDS)")
    CABLE = "cable", _("Cable TV")
    SATELLITE = "satellite", _("Satellite")
    WIFI = "wifi", _("Wi-Fi")


# The usual transport of each kind (the default when a registration does not say).
KIND_TRANSPORT = {
    TerminalKind.IP_LOUDSPEAKER: Transport.ETHERNET,
    TerminalKind.CELLULAR_LOUDSPEAKER: Transport.CELLULAR,
    TerminalKind.FM_RDS: Transport.FM,
    TerminalKind.SET_TOP_BOX: Transport.CABLE,
    TerminalKind.SMART_SPEAKER: Transport.WIFI,
}


class Terminal(models.Model):
    code = models.CharField(_("resource code"), max_length=23, unique=True)
    name = models.CharField(_("name"), max_length=100, blank=True)
    kind = models.CharField(_("kind"), max_length=20, choices=TerminalKind.choices, default=TerminalKind.IP_LOUDSPEAKER)
    village = models.ForeignKey("regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village"))
    model = models.CharField(_("model"), max_length=100, blank=True)
    firmware = models.CharField(_("firmware"), max_length=50, blank=True)
    transport = models.CharField(_("transport"), max_length=20, choices=Transport.choices, default=Transport.ETHERNET)
    installed_on = models.DateField(_("installed on"), null=True, blank=True)
    latitude = models.DecimalField(_("latitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    longitude = models.DecimalField(_("longitude"), max_digits=9, decimal_places=6, null=True, blank=True)
    owner_station = models.CharField(_("owner station"), max_length=100, blank=True)
    maintainer = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("maintainer"),
    )
    # The languages it plays, most preferred first (ISO 639 codes, e.g. ["iii", "zho"] in a Yi
    # village); empty: the deployment's RURALCAST_TERMINAL_LANGUAGES. Provisioned as `languages`
    # (docs/protocols.md §4), so a change reaches the device with its next provisioning file.
    languages = models.JSONField(_("play languages"), default=list, blank=True)
    # Empty until credentials are issued (an imported terminal waits for its provisioning file).
    broker_password_hash = models.CharField(max_length=200, blank=True)
    provisioned_at = models.DateTimeField(_("provisioned at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
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

    @property
    def is_provisioned(self) -> bool:
        return bool(self.broker_password_hash)


class Condition(models.TextChoices):
    """A part's self-check result in a status report."""

    OK = "ok", _("OK")
    FAULT = "fault", _("Fault")
    UNKNOWN = "", _("Not reported")


class Fault(models.TextChoices):
    """Faults a status report can show (stored comma-separated in `TerminalState.faults`)."""

    AMPLIFIER = "amplifier", _("Amplifier fault")
    SPEAKER = "speaker", _("Speaker fault")
    PLAYBACK = "playback", _("Repeated playback failures")


class TerminalState(models.Model):
    """The current state of one terminal: one row per active terminal, updated in place.

    Created with the terminal (offline, never seen) and deleted when it is revoked, so counting
    rows by `village_code` range counts the fleet of a region: the online-rate query reads this
    table alone (index on village_code, online).
    """

    terminal = models.OneToOneField(
        Terminal, on_delete=models.CASCADE, to_field="code", primary_key=True, related_name="state"
    )
    village_code = models.CharField(max_length=12)
    online = models.BooleanField(default=False)
    since = models.DateTimeField(null=True, blank=True)  # when `online` last changed
    last_seen_at = models.DateTimeField(null=True, blank=True)  # platform time of the last status uplink
    reported_at = models.DateTimeField(null=True, blank=True)  # device time of the last full report
    volume = models.PositiveSmallIntegerField(null=True, blank=True)
    amplifier = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    speaker = models.CharField(max_length=10, choices=Condition.choices, blank=True)
    line_level_db = models.FloatField(null=True, blank=True)
    temperature_c = models.FloatField(null=True, blank=True)
    signal_dbm = models.SmallIntegerField(null=True, blank=True)
    storage_free_mb = models.IntegerField(null=True, blank=True)
    firmware = models.CharField(max_length=50, blank=True)
    uptime_s = models.BigIntegerField(null=True, blank=True)
    last_playback_at = models.DateTimeField(null=True, blank=True)
    last_playback_result = models.CharField(max_length=20, blank=True)
    playback_failures = models.PositiveSmallIntegerField(default=0)  # consecutive, as the device counts them
    faults = models.CharField(max_length=100, blank=True)  # Fault values, comma-separated, sorted

    class Meta:
        verbose_name = _("terminal state")
        verbose_name_plural = _("terminal states")
        indexes = [models.Index(fields=["village_code", "online"], name="terminals_state_region_online")]

    def __str__(self) -> str:
        return f"{self.terminal_id} {'online' if self.online else 'offline'}"

    @property
    def fault_list(self) -> list[str]:
        return [f for f in self.faults.split(",") if f]


class EventKind(models.TextChoices):
    ONLINE = "online", _("Came online")
    OFFLINE = "offline", _("Went offline")
    FAULTS = "faults", _("Faults changed")
    FIRMWARE = "firmware", _("Firmware changed")


class TerminalEvent(models.Model):
    """Compact status history: only changes (online ↔ offline, the set of faults, firmware).

    A terminal reporting every minute with nothing new adds no row; availability and repair times
    are computed from these transitions.
    """

    terminal_code = models.CharField(max_length=23)
    at = models.DateTimeField()
    kind = models.CharField(max_length=10, choices=EventKind.choices)
    detail = models.CharField(max_length=100, blank=True)  # offline: "will" / "silent" / "revoked"; faults: the set

    class Meta:
        ordering = ["terminal_code", "at", "id"]
        verbose_name = _("terminal event")
        verbose_name_plural = _("terminal events")
        indexes = [models.Index(fields=["terminal_code", "at"], name="terminals_event_terminal_at")]

    def __str__(self) -> str:
        return f"{self.terminal_code} {self.kind} {self.at:%Y-%m-%d %H:%M:%S}"


class CommandKind(models.TextChoices):
    POWER = "power", _("Power on/off")
    VOLUME = "volume", _("Volume")
    REBOOT = "reboot", _("Reboot")
    TIME_SYNC = "time_sync", _("Time sync")
    CONFIG = "config", _("Configuration push")
    FIRMWARE = "firmware", _("Firmware update")


class Command(models.Model):
    """One remote command to one terminal or to every terminal below some regions.

    Travels once per target (a region topic, or the terminal's own topic), signed like an alert;
    each terminal acknowledges it on `rc/v1/up/<id>/ack` (protocols.md §8). Targets that have not
    answered by `expires_at` time out.
    """

    key = models.CharField(_("id"), max_length=32, unique=True)
    kind = models.CharField(_("command"), max_length=20, choices=CommandKind.choices)
    params = models.JSONField(_("parameters"), default=dict, blank=True)
    regions = models.JSONField(default=list, blank=True)  # region codes (bulk), or
    terminals = models.JSONField(default=list, blank=True)  # terminal codes (one by one)
    region_code = models.CharField(max_length=12)  # the most specific region covering every target
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, related_name="+", verbose_name=_("sent by")
    )
    created_at = models.DateTimeField(_("sent at"), auto_now_add=True)
    expires_at = models.DateTimeField(_("answer by"))
    targeted = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("command")
        verbose_name_plural = _("commands")
        indexes = [models.Index(fields=["region_code", "created_at"], name="terminals_command_region")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class AckState(models.TextChoices):
    PENDING = "pending", _("Waiting")
    DONE = "done", _("Done")
    FAILED = "failed", _("Failed")
    REJECTED = "rejected", _("Refused")
    TIMEOUT = "timeout", _("No answer in time")


class CommandTarget(models.Model):
    command = models.ForeignKey(Command, on_delete=models.CASCADE, related_name="targets")
    terminal_code = models.CharField(max_length=23)
    state = models.CharField(max_length=10, choices=AckState.choices, default=AckState.PENDING)
    detail = models.CharField(max_length=200, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["terminal_code"]
        constraints = [
            models.UniqueConstraint(fields=["command", "terminal_code"], name="terminals_command_target_unique")
        ]
        indexes = [
            models.Index(fields=["command", "state"], name="terminals_command_target_state"),
            # A terminal's command history (its page) reads its rows across every command.
            models.Index(fields=["terminal_code"], name="terminals_command_target_term"),
        ]

    def __str__(self) -> str:
        return f"{self.command_id}:{self.terminal_code} {self.state}"


class FirmwareState(models.TextChoices):
    PENDING = "pending", _("Waiting for a second person")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")


class FirmwareRelease(models.Model):
    """A firmware file and where it may go: uploaded by one person, approved by another (fleet.md §4).

    The file is stored by content (`firmware/<sha256>.bin`); the release names the device models
    and regions it is for and until when. Approval signs the manifest with the firmware key
    (protocols.md §8); only an approved, unexpired release can be sent, only to terminals inside
    its regions, and only its file is served to terminals. A release never changes after upload:
    a different file, target or expiry is a new release, approved anew.
    """

    sha256 = models.CharField(_("checksum (SHA-256)"), max_length=64)
    size = models.PositiveBigIntegerField(_("size"))
    version = models.CharField(_("version"), max_length=50)
    device_models = models.JSONField(_("device models"), default=list)  # as terminals know their `model`
    regions = models.JSONField(_("regions"), default=list)  # 12-digit codes, nested ones collapsed
    region_code = models.CharField(max_length=12)  # the most specific region covering every target
    notes = models.TextField(_("notes"), blank=True)
    expires_at = models.DateTimeField(_("valid until"))
    state = models.CharField(_("state"), max_length=10, choices=FirmwareState.choices, default=FirmwareState.PENDING)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("uploaded by")
    )
    uploaded_at = models.DateTimeField(_("uploaded at"), auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("approved or rejected by"),
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.TextField(blank=True)
    manifest = models.TextField(blank=True)  # base64 of the signed manifest envelope (set at approval)
    signing_key = models.CharField(max_length=12, blank=True)  # serial of the firmware key that signed

    class Meta:
        ordering = ["-uploaded_at", "-id"]
        verbose_name = _("firmware release")
        verbose_name_plural = _("firmware releases")
        indexes = [
            models.Index(fields=["region_code", "uploaded_at"], name="terminals_firmware_region"),
            models.Index(fields=["sha256", "state"], name="terminals_firmware_file"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="approved") | (models.Q(decided_by__isnull=False) & ~models.Q(manifest="")),
                name="terminals_firmware_approved_is_signed",
            ),
            models.CheckConstraint(  # the two-person rule, held by the database too
                condition=~models.Q(state="approved") | ~models.Q(decided_by=models.F("uploaded_by")),
                name="terminals_firmware_second_person",
            ),
        ]

    def __str__(self) -> str:
        # Language-neutral: frozen into the audit trail.
        return f"firmware {self.version} {self.sha256[:12]}"
