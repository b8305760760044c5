"""Console forms of firmware releases. The rules live in firmware.services; forms shape and keep input."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.forms import RegionField
from ruralcast.terminals.firmware.services import VALID_DAYS_DEFAULT, VALID_DAYS_MAX


class FirmwareUploadForm(forms.Form):
    file = forms.FileField(label=_("Firmware file"), help_text=_("At most 64 MB."))
    version = forms.CharField(label=_("Version"), max_length=50)
    models = forms.CharField(
        label=_("Device models"),
        max_length=1000,
        help_text=_("Separated by commas, exactly as in the registry's “Model” column; other models refuse it."),
    )
    region = RegionField(label=_("For the terminals of"))
    valid_days = forms.IntegerField(
        label=_("Valid for (days)"), min_value=1, max_value=VALID_DAYS_MAX, initial=VALID_DAYS_DEFAULT
    )
    notes = forms.CharField(
        label=_("Notes for the approver"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )

    def device_models(self) -> list[str]:
        return [m.strip() for m in self.cleaned_data["models"].split(",") if m.strip()]


class FirmwareRejectForm(forms.Form):
    reason = forms.CharField(label=_("Why"), max_length=500)


class FirmwareSendForm(forms.Form):
    region = RegionField(label=_("Send to every terminal of"))
    timeout_s = forms.IntegerField(label=_("Answer within (seconds)"), min_value=10, max_value=86_400, initial=600)
