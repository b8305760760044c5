"""Form pieces for choosing regions: the region picker field used across the console."""

from typing import Any

from django import forms
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from ruralcast.core.errors import ApplicationError
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get, region_path_label


class RegionPickerWidget(forms.Widget):
    """A search box (name, code, pinyin or initials) that fills a hidden 12-digit code via htmx."""

    template_name = "regions/picker_widget.html"

    def get_context(self, name: str, value: Any, attrs: dict[str, Any] | None) -> dict[str, Any]:
        context = super().get_context(name, value, attrs)
        label = ""
        if value:
            region = Region.objects.filter(code=str(value)).first()
            label = f"{region_path_label(region=region)} ({region.code})" if region else str(value)
        context["widget"].update({"search_url": reverse("regions:picker"), "chosen_label": label})
        return context


class RegionField(forms.CharField):
    """A region chosen with the picker; cleans to a `Region` (clear errors for bad codes)."""

    widget = RegionPickerWidget

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", 12)
        kwargs.setdefault("label", _("Region"))
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        return value.code if isinstance(value, Region) else value

    def clean(self, value: Any) -> Region | None:
        code = super().clean(value)
        if not code:
            return None
        try:
            return region_get(code=code)
        except ApplicationError as error:
            raise forms.ValidationError(error.message) from error


class DesignationImportForm(forms.Form):
    key = forms.SlugField(label=_("Key"), max_length=80, help_text=_("Short identifier, e.g. poverty-county-2014."))
    name = forms.CharField(label=_("Name"), max_length=200)
    description = forms.CharField(label=_("Description"), required=False, widget=forms.Textarea(attrs={"rows": 2}))
    source = forms.CharField(
        label=_("Source"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Where the list comes from (document, date)."),
    )
    file = forms.FileField(
        label=_("CSV file"),
        help_text=_(
            "UTF-8 CSV with a header: a “code” column, or “name” with optional province, city, county columns."
        ),
    )
    replace = forms.BooleanField(label=_("Replace an existing list with this key"), required=False)
