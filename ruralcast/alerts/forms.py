"""Console forms for emergency messages. Rules live in services; forms shape and keep input."""

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.events import event_choices
from ruralcast.alerts.models import Certainty, Scope, Severity, Status, Urgency
from ruralcast.alerts.services import AlertFields
from ruralcast.core.errors import ApplicationError
from ruralcast.regions.forms import RegionField, RegionPickerWidget
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get


class MultiRegionPickerWidget(RegionPickerWidget):
    """The region picker in multiple mode: each pick adds a region to a comma-separated list."""

    template_name = "alerts/multi_picker_widget.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, None, attrs)
        codes = [c for c in (value or "").split(",") if c] if isinstance(value, str) else [r.code for r in value or []]
        chosen = Region.objects.filter(code__in=codes).order_by("code")
        context["widget"].update({"value": ",".join(codes), "chosen": chosen})
        return context


class MultiRegionField(forms.CharField):
    widget = MultiRegionPickerWidget

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, list):
            return ",".join(r.code if isinstance(r, Region) else str(r) for r in value)
        return value

    def clean(self, value: Any) -> list[Region]:
        raw = super().clean(value) or ""
        regions = []
        for code in [c.strip() for c in raw.split(",") if c.strip()]:
            try:
                regions.append(region_get(code=code))
            except ApplicationError as error:
                raise forms.ValidationError(error.message) from error
        if self.required and not regions:
            raise forms.ValidationError(_("Choose at least one target region."))
        return regions


def _local_input(value: Any) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%dT%H:%M")


class AlertForm(forms.Form):
    issuer_region = RegionField(label=_("Issuing platform (your region)"))
    status = forms.ChoiceField(
        label=_("Status"),
        choices=[(v, label) for v, label in Status.choices if v != Status.DRAFT],
        initial=Status.EXERCISE,
        widget=forms.RadioSelect,
        help_text=_("Only “Actual” is a live alert; everything else is announced as a drill or test."),
    )
    # A blank first choice: an imported message whose event could not be classified shows it, and
    # the operator must pick a code (the form refuses the blank).
    event_code = forms.ChoiceField(label=_("Event type"), choices=lambda: [("", "—"), *event_choices()])
    severity = forms.TypedChoiceField(
        label=_("Level"), choices=Severity.choices, coerce=int, initial=Severity.MINOR, widget=forms.RadioSelect
    )
    urgency = forms.ChoiceField(label=_("Urgency"), choices=Urgency.choices, initial=Urgency.IMMEDIATE)
    certainty = forms.ChoiceField(label=_("Certainty"), choices=Certainty.choices, initial=Certainty.OBSERVED)
    scope = forms.ChoiceField(label=_("Scope"), choices=Scope.choices, initial=Scope.PUBLIC)
    onset = forms.DateTimeField(label=_("Start"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    expires = forms.DateTimeField(label=_("End"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    targets = MultiRegionField(label=_("Target regions (each with everything below it)"))
    title = forms.CharField(label=_("Title"), max_length=200)
    text = forms.CharField(label=_("Message"), max_length=1500, widget=forms.Textarea(attrs={"rows": 5}))
    audio_file = forms.FileField(
        label=_("Recording (optional)"),
        required=False,
        help_text=_("Leave empty to have the message spoken from its text."),
    )
    volume = forms.IntegerField(label=_("Volume"), min_value=0, max_value=100, initial=80)
    repeat = forms.IntegerField(label=_("Repeat count"), min_value=1, max_value=10, initial=2)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["onset"].initial = _local_input(now)
        self.fields["expires"].initial = _local_input(now + timedelta(hours=2))

    def alert_fields(self) -> AlertFields:
        data = self.cleaned_data
        return AlertFields(
            status=data["status"],
            event_code=data["event_code"],
            severity=data["severity"],
            title=data["title"],
            text=data["text"],
            onset=data["onset"],
            expires=data["expires"],
            targets=data["targets"],
            urgency=data["urgency"],
            certainty=data["certainty"],
            scope=data["scope"],
            volume=data["volume"],
            repeat=data["repeat"],
        )


class ApproveForm(forms.Form):
    confirm_status = forms.ChoiceField(
        label=_("Confirm the status you are sending"),
        choices=[("", "—"), *[(v, label) for v, label in Status.choices if v != Status.DRAFT]],
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why is it sent back?"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
