"""Console forms of the terminal registry. Rules live in the services; forms shape and keep input."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.models import User
from ruralcast.core.languages import language_list_parse
from ruralcast.regions.forms import RegionField
from ruralcast.terminals.models import CommandKind, TerminalKind, Transport
from ruralcast.terminals.services import TerminalDetails


class TerminalForm(forms.Form):
    village = RegionField(label=_("Village"))
    code = forms.CharField(
        label=_("Resource code"),
        max_length=23,
        required=False,
        help_text=_("Leave empty to use the village's next free serial; or the 23-digit code on the device."),
    )
    name = forms.CharField(label=_("Name"), max_length=100, required=False)
    kind = forms.ChoiceField(label=_("Kind"), choices=TerminalKind.choices)
    transport = forms.ChoiceField(
        label=_("Transport"), choices=[("", _("Usual for the kind")), *Transport.choices], required=False
    )
    model = forms.CharField(label=_("Model"), max_length=100, required=False)
    firmware = forms.CharField(label=_("Firmware"), max_length=50, required=False)
    installed_on = forms.DateField(
        label=_("Installed on"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    latitude = forms.DecimalField(label=_("Latitude"), max_digits=9, decimal_places=6, required=False)
    longitude = forms.DecimalField(label=_("Longitude"), max_digits=9, decimal_places=6, required=False)
    owner_station = forms.CharField(label=_("Owner station"), max_length=100, required=False)
    maintainer = forms.CharField(
        label=_("Maintainer"), max_length=150, required=False, help_text=_("User name of the person responsible.")
    )
    languages = forms.CharField(
        label=_("Play languages, in order"),
        max_length=100,
        required=False,
        help_text=_(
            "Language codes, most preferred first, separated by commas: e.g. “iii, zho” for a Yi village "
            "(Yi, then Mandarin). Empty: the deployment's default."
        ),
    )

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:
            for name in ("village", "code"):
                self.fields[name].disabled = True
                self.fields[name].required = False

    def clean_maintainer(self) -> User | None:
        username = self.cleaned_data.get("maintainer") or ""
        if not username:
            return None
        user = User.objects.filter(username=username, is_active=True).first()
        if user is None:
            raise forms.ValidationError(_("No active user with this name."))
        return user

    def details(self) -> TerminalDetails:
        data = self.cleaned_data
        return TerminalDetails(
            name=data.get("name") or "",
            kind=data["kind"],
            model=data.get("model") or "",
            firmware=data.get("firmware") or "",
            transport=data.get("transport") or "",
            installed_on=data.get("installed_on"),
            latitude=data.get("latitude"),
            longitude=data.get("longitude"),
            owner_station=data.get("owner_station") or "",
            maintainer=data.get("maintainer"),
            languages=language_list_parse(data.get("languages") or ""),
        )


class ImportForm(forms.Form):
    file = forms.FileField(
        label=_("File (CSV or xlsx)"),
        help_text=_("A header row with at least village_code; see the export for every column."),
    )
    valid_only = forms.BooleanField(
        label=_("Import the valid rows even if some rows are wrong"),
        required=False,
        help_text=_("Otherwise nothing is imported while any row is wrong."),
    )
    dry_run = forms.BooleanField(label=_("Only check the file"), required=False)


class CommandForm(forms.Form):
    # Firmware is sent from its approved release's page (firmware_views), under its own role.
    kind = forms.ChoiceField(
        label=_("Command"),
        choices=[(k, label) for k, label in CommandKind.choices if k != CommandKind.FIRMWARE],
        widget=forms.Select(attrs={"data-confirm-choice": ""}),  # the confirmation names the chosen command
    )
    volume = forms.IntegerField(label=_("Volume (0–100)"), min_value=0, max_value=100, required=False)
    power_on = forms.ChoiceField(
        label=_("Power"), choices=[("on", _("On")), ("off", _("Off"))], required=False, initial="on"
    )
    status_interval = forms.IntegerField(
        label=_("Status interval (seconds)"), min_value=10, max_value=3600, required=False
    )
    timeout_s = forms.IntegerField(label=_("Answer within (seconds)"), min_value=10, max_value=86_400, initial=120)

    # Which commands each parameter field belongs to; the page shows only the chosen command's.
    FIELD_COMMANDS: dict[str, tuple[str, ...]] = {
        "volume": (CommandKind.VOLUME, CommandKind.CONFIG),
        "power_on": (CommandKind.POWER,),
        "status_interval": (CommandKind.CONFIG,),
    }

    def field_groups(self) -> list[tuple[forms.BoundField, str]]:
        """Each field with the commands it belongs to ("" for fields every command has), space-separated
        for the page's `data-command-fields` attribute."""
        return [(field, " ".join(self.FIELD_COMMANDS.get(field.name, ()))) for field in self]

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        kind = data["kind"]
        if kind == CommandKind.VOLUME:
            return {"volume": data.get("volume")}
        if kind == CommandKind.POWER:
            return {"on": data.get("power_on") != "off"}
        if kind == CommandKind.CONFIG:
            return {k: data[k] for k in ("status_interval", "volume") if data.get(k) is not None}
        return {}
