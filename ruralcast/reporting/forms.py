"""Console forms of reporting. They shape and keep what people type; the rules live in services.

Which region and period a page is about travel in its address (`?region=…&period=…`, read by the
views); these forms carry what is entered there: the values of one report, an xlsx upload, one
approval step, a circular and a work-dynamics post.
"""

from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from ruralcast.reporting.models import DataElement, DataValue, Line

MAX_ATTACHMENTS = 10


class EntryForm(forms.Form):
    """One text box per element of a data set, keyed by the element's code.

    Values stay as typed (not stripped, not parsed): `services.values_save` parses them and checks
    the validation rules, and names the element of every problem. `rows()` is what the entry grid
    shows: the typed value once the form is bound, the stored one before.
    """

    def __init__(
        self, data: Any = None, *, elements: list[DataElement], current: dict[str, DataValue] | None = None
    ) -> None:
        super().__init__(data)
        self.elements = elements
        self.current = current or {}
        for element in elements:
            self.fields[element.code] = forms.CharField(
                label=element.label, required=False, max_length=500, strip=False
            )

    def rows(self) -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        for element in self.elements:
            if self.is_bound:
                shown = self[element.code].value() or ""
            else:
                value = self.current.get(element.code)
                shown = "" if value is None else (value.text or _plain(value.value))
            rows.append({"element": element, "value": shown, "errors": self.errors.get(element.code, [])})
        return rows


def _plain(value: float | None) -> str:
    if value is None:
        return ""
    return str(int(value)) if float(value).is_integer() else str(value)


class EntryUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Filled-in template (xlsx)"),
        error_messages={"required": _("Choose the filled-in xlsx file.")},
    )


class ApprovalStepForm(forms.Form):
    """One button of the approval page: a step on the report of `target` (a region code)."""

    target = forms.CharField(max_length=12)
    step = forms.ChoiceField(
        choices=[(step, step) for step in ("advance", "accept", "revoke")],  # hidden inputs, never shown
        error_messages={"invalid_choice": _("Unknown step."), "required": _("Unknown step.")},
    )
    reason = forms.CharField(max_length=500, required=False, strip=False)


class CircularForm(forms.Form):
    region = forms.CharField(label=_("Region code"), max_length=12)
    period = forms.CharField(label=_("Period"), max_length=7)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(
        label=_("Free text"), max_length=20000, required=False, widget=forms.Textarea(attrs={"rows": 6})
    )


class MultipleFileInput(forms.ClearableFileInput):
    allow_multiple_selected = True


class MultipleFileField(forms.FileField):
    """Several files under one name (Django's documented pattern for `<input multiple>`)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("widget", MultipleFileInput())
        super().__init__(*args, **kwargs)

    def clean(self, data: Any, initial: Any = None) -> list[UploadedFile]:
        files = data if isinstance(data, list | tuple) else [data]
        cleaned = [super(MultipleFileField, self).clean(one, initial) for one in files if one]
        if len(cleaned) > MAX_ATTACHMENTS:
            raise forms.ValidationError(
                _("At most %(count)d attachments per post.") % {"count": MAX_ATTACHMENTS}, code="too_many"
            )
        return cleaned


class PostForm(forms.Form):
    region = forms.CharField(label=_("Region code"), max_length=12)
    line = forms.TypedChoiceField(label=_("Line of work"), choices=Line.choices, coerce=int)
    title = forms.CharField(label=_("Title"), max_length=200)
    body = forms.CharField(label=_("Text"), max_length=20000, widget=forms.Textarea(attrs={"rows": 6}))

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Added here, not declared: a class attribute `files` would hide the form's own `files`.
        self.fields["files"] = MultipleFileField(label=_("Attachments"), required=False)
