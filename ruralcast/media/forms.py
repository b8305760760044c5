"""Console forms for media. Rules live in services; forms shape and keep input."""

from datetime import timedelta
from typing import Any

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from ruralcast.media.models import Access, CollectionKind, Kind
from ruralcast.media.services import AssetFields, LiveFields
from ruralcast.regions.forms import RegionField

LANGUAGE_CHOICES = [
    ("zh", _("Chinese")),
    ("en", _("English")),
    ("bo", _("Tibetan")),
    ("ug", _("Uyghur")),
    ("mn", _("Mongolian")),
    ("ii", _("Yi")),
    ("za", _("Zhuang")),
    ("other", _("Other")),
]


class AssetForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    tags = forms.CharField(label=_("Tags"), required=False, max_length=500, help_text=_("Separated by commas."))
    language = forms.ChoiceField(label=_("Language"), choices=LANGUAGE_CHOICES, initial="zh")
    licence = forms.CharField(label=_("Rights / licence"), required=False, max_length=200)
    access = forms.ChoiceField(label=_("Who may watch"), choices=Access.choices, initial=Access.LOGGED_IN)

    def asset_fields(self) -> AssetFields:
        data = self.cleaned_data
        return AssetFields(
            title=data["title"],
            description=data["description"],
            tags=[t for t in data["tags"].split(",") if t.strip()],
            language=data["language"],
            licence=data["licence"],
            access=data["access"],
        )


class UploadForm(AssetForm):
    owner_region = RegionField(label=_("Owner region"))


class CatalogueFilter(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=50)
    tag = forms.CharField(label=_("Tag"), required=False, max_length=40)
    region = forms.CharField(label=_("Region code"), required=False, max_length=12)
    kind = forms.ChoiceField(
        label=pgettext_lazy("media", "Type"), required=False, choices=[("", _("All")), *Kind.choices]
    )
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=pgettext_lazy("date range", "To"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


class LiveForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    owner_region = RegionField(label=_("Owner region"))
    starts_at = forms.DateTimeField(
        label=_("Start"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("End"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    access = forms.ChoiceField(label=_("Who may watch"), choices=Access.choices, initial=Access.LOGGED_IN)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        now = timezone.localtime().replace(second=0, microsecond=0)
        self.fields["starts_at"].initial = now + timedelta(minutes=10)
        self.fields["ends_at"].initial = now + timedelta(hours=1, minutes=10)

    def live_fields(self) -> LiveFields:
        data = self.cleaned_data
        return LiveFields(
            title=data["title"],
            description=data["description"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
            access=data["access"],
        )


class CollectionForm(forms.Form):
    title = forms.CharField(label=_("Title"), max_length=200)
    kind = forms.ChoiceField(label=pgettext_lazy("media", "Type"), choices=CollectionKind.choices)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    owner_region = RegionField(label=_("Owner region"))
