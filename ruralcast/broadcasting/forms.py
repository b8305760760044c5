"""Console forms for daily broadcasting. Rules live in services; forms shape and keep input."""

from datetime import date
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.broadcasting.models import Outcome, Playlist, ProgrammeItem, Recurrence
from ruralcast.broadcasting.services import SlotFields
from ruralcast.regions.forms import RegionField

WEEKDAY_CHOICES = [
    (0, _("Mon")),
    (1, _("Tue")),
    (2, _("Wed")),
    (3, _("Thu")),
    (4, _("Fri")),
    (5, _("Sat")),
    (6, _("Sun")),
]


class SpeechItemForm(forms.Form):
    owner_region = RegionField(label=_("Library of (your region)"))
    title = forms.CharField(label=_("Title"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas."))
    text = forms.CharField(label=_("Text read aloud"), max_length=2000, widget=forms.Textarea(attrs={"rows": 5}))


class UploadItemForm(forms.Form):
    owner_region = RegionField(label=_("Library of (your region)"))
    title = forms.CharField(label=_("Title"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas."))
    audio_file = forms.FileField(
        label=_("Recording"),
        help_text=_("Any audio ffmpeg reads (MP3, WAV, M4A, OGG…); it is loudness-normalised and made a small MP3."),
    )


class ScheduleForm(forms.Form):
    owner_region = RegionField(label=_("Owner (county, township or village: decides the tier)"))
    name = forms.CharField(label=_("Name"), max_length=200)
    target_region = RegionField(label=_("Target (a region inside the owner's area)"))
    volume = forms.IntegerField(label=_("Volume"), min_value=0, max_value=100, initial=70)
    active = forms.BooleanField(label=_("Active"), required=False, initial=True)


class PlaylistForm(forms.Form):
    owner_region = RegionField(label=_("Owner (its library: its own region, above or below)"))
    name = forms.CharField(label=_("Name"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas."))


class ItemEditForm(forms.Form):
    """What may change on a library item: its title and tags (the recording is the item)."""

    title = forms.CharField(label=_("Title"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas."))


class PlaylistEditForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=200)
    tags = forms.CharField(label=_("Tags"), max_length=300, required=False, help_text=_("Separated by commas."))


class DatesField(forms.CharField):
    """ISO dates separated by commas or spaces."""

    def clean(self, value: Any) -> list[date]:
        raw = super().clean(value) or ""
        days = []
        for part in raw.replace("，", ",").replace(",", " ").split():
            try:
                days.append(date.fromisoformat(part))
            except ValueError as error:
                raise forms.ValidationError(
                    _("“%(value)s” is not a date like 2026-12-01.") % {"value": part}
                ) from error
        return days


class SlotForm(forms.Form):
    start_time = forms.TimeField(label=_("Start time"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    item = forms.ModelChoiceField(
        label=_("Item"), queryset=ProgrammeItem.objects.none(), required=False, help_text=_("An item, or:")
    )
    playlist = forms.ModelChoiceField(
        label=_("Playlist"),
        queryset=Playlist.objects.none(),
        required=False,
        help_text=_("Its items play one after the other, as one block."),
    )
    recurrence = forms.ChoiceField(label=_("Plays"), choices=Recurrence.choices, initial=Recurrence.DAILY)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Weekdays"),
        choices=WEEKDAY_CHOICES,
        coerce=int,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("For “On chosen weekdays” (Monday to Friday when none is ticked) and to narrow a date range."),
    )
    dates = DatesField(
        label=_("Dates"), required=False, help_text=_("For “On listed dates”: e.g. 2026-12-01, 2026-12-08.")
    )
    start_date = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end_date = forms.DateField(label=_("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args: Any, items: Any = None, playlists: Any = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if items is not None:
            self.fields["item"].queryset = items  # type: ignore[attr-defined]
            self.fields["item"].label_from_instance = lambda item: f"{item.title} ({round(item.audio_seconds)} s)"  # type: ignore[attr-defined]
        if playlists is not None:
            self.fields["playlist"].queryset = playlists  # type: ignore[attr-defined]
            self.fields["playlist"].label_from_instance = (  # type: ignore[attr-defined]
                lambda playlist: f"{playlist.name} ({round(playlist.total_seconds)} s)"
            )

    def slot_fields(self) -> SlotFields:
        data = self.cleaned_data
        return SlotFields(
            start_time=data["start_time"],
            item=data.get("item"),
            playlist=data.get("playlist"),
            recurrence=data["recurrence"],
            weekdays=list(data.get("weekdays") or []),
            dates=list(data.get("dates") or []),
            start_date=data.get("start_date"),
            end_date=data.get("end_date"),
        )


class EffectiveForm(forms.Form):
    village = RegionField(label=_("Village"))
    day = forms.DateField(label=_("Day"), widget=forms.DateInput(attrs={"type": "date"}))


class PlaylogFilterForm(forms.Form):
    region = RegionField(label=_("Village or area"), required=False)
    terminal = forms.CharField(label=_("Terminal"), max_length=23, required=False)
    day = forms.DateField(label=_("Day"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    outcome = forms.ChoiceField(label=_("Outcome"), required=False, choices=[("", _("All")), *Outcome.choices])
