"""Console forms for emergency messages. Rules live in services; forms shape and keep input."""

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.events import event_choices
from ruralcast.alerts.models import Certainty, Scope, Severity, Status, Urgency
from ruralcast.alerts.services import AlertFields
from ruralcast.alerts.translations import MAX_TRANSLATIONS, TranslationFields
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
    language = forms.CharField(
        label=_("Language of the title and message"),
        max_length=8,
        initial="zho",
        required=False,
        help_text=_("ISO 639 code: zho (Mandarin), iii (Yi), bo (Tibetan), ug (Uyghur), eng (English)…"),
    )
    volume = forms.IntegerField(label=_("Volume"), min_value=0, max_value=100, initial=80)
    repeat = forms.IntegerField(label=_("Repeat count"), min_value=1, max_value=10, initial=2)

    def __init__(self, *args: Any, translations: list[TranslationFields] | None = None, **kwargs: Any) -> None:
        """`translations`: the draft's (an edit). The form shows them plus two empty slots; a slot
        left empty adds nothing, a filled one is a translation, emptying one removes it."""
        super().__init__(*args, **kwargs)
        now = timezone.now()
        self.fields["onset"].initial = _local_input(now)
        self.fields["expires"].initial = _local_input(now + timedelta(hours=2))
        given = translations or []
        slots = len(given) + 2
        if self.is_bound:  # as many slots as were posted (a page with more slots than the draft has)
            while f"tr{slots}_language" in self.data:
                slots += 1
        for index in range(min(slots, MAX_TRANSLATIONS)):
            item = given[index] if index < len(given) else None
            number = {"number": index + 1}
            self.fields[f"tr{index}_language"] = forms.CharField(
                label=_("Translation %(number)d · language") % number,
                max_length=8,
                required=False,
                initial=item.language if item else "",
            )
            self.fields[f"tr{index}_title"] = forms.CharField(
                label=_("Translation %(number)d · title") % number,
                max_length=200,
                required=False,
                initial=item.title if item else "",
            )
            self.fields[f"tr{index}_text"] = forms.CharField(
                label=_("Translation %(number)d · message") % number,
                max_length=1500,
                required=False,
                widget=forms.Textarea(attrs={"rows": 3}),
                initial=item.text if item else "",
            )
            self.fields[f"tr{index}_audio"] = forms.FileField(
                label=_("Translation %(number)d · recording (optional)") % number,
                required=False,
                help_text=_("Mandarin is spoken from the text; other languages need a recording or play as text."),
            )

    def translations(self) -> list[TranslationFields]:
        """The filled slots, in order (a slot with only some of its fields is kept: the service
        says what is missing)."""
        data = self.cleaned_data
        found = []
        index = 0
        while f"tr{index}_language" in self.fields:
            language, title, text = (data.get(f"tr{index}_{name}", "") for name in ("language", "title", "text"))
            if language or title or text:
                found.append(
                    TranslationFields(
                        language=language, title=title, text=text, audio_upload=data.get(f"tr{index}_audio")
                    )
                )
            index += 1
        return found

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
            language=data["language"] or "zho",
            volume=data["volume"],
            repeat=data["repeat"],
            translations=self.translations(),
        )


class ApproveForm(forms.Form):
    confirm_status = forms.ChoiceField(
        label=_("Confirm the status you are sending"),
        choices=[("", "—"), *[(v, label) for v, label in Status.choices if v != Status.DRAFT]],
    )


class RejectForm(forms.Form):
    reason = forms.CharField(label=_("Why is it sent back?"), max_length=500, widget=forms.Textarea(attrs={"rows": 2}))
