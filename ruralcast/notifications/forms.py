"""Console forms of the inbox (contact details) and the duty roster."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.models import User
from ruralcast.notifications.models import Tier, Weekday


class ContactForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number for SMS"),
        required=False,
        max_length=20,
        help_text=_("Urgent pages (live alerts awaiting approval) also come by SMS."),
    )
    email = forms.EmailField(
        label=_("E-mail for notifications"), required=False, help_text=_("Empty: your account's e-mail.")
    )
    sms_enabled = forms.BooleanField(label=_("SMS for urgent pages"), required=False)
    email_enabled = forms.BooleanField(label=_("E-mail"), required=False)


def _person_choices(people: list[User]) -> list[tuple[str, str]]:
    return [(str(person.pk), f"{person} ({person.username})") for person in people]


class SlotForm(forms.Form):
    user = forms.ChoiceField(label=_("Person"))
    tier = forms.TypedChoiceField(label=_("Tier"), choices=Tier.choices, coerce=int, initial=Tier.FIRST)
    weekdays = forms.TypedMultipleChoiceField(
        label=_("Days"), choices=Weekday.choices, coerce=int, widget=forms.CheckboxSelectMultiple
    )
    starts = forms.TimeField(label=_("Starts at"), widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"))
    ends = forms.TimeField(
        label=_("Ends at"),
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text=_("Earlier than the start: the duty runs past midnight. The same time: the whole day."),
    )

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = _person_choices(people)  # type: ignore[attr-defined]


class OverrideForm(forms.Form):
    user = forms.ChoiceField(label=_("Person"))
    on_duty = forms.TypedChoiceField(
        label=_("Change"),
        choices=[("1", _("On duty (stands in)")), ("0", _("Off duty (leave)"))],
        coerce=lambda value: value == "1",
    )
    tier = forms.TypedChoiceField(label=_("Tier"), choices=Tier.choices, coerce=int, initial=Tier.FIRST)
    starts_at = forms.DateTimeField(
        label=_("Starts at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    ends_at = forms.DateTimeField(
        label=_("Ends at"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=200)

    def __init__(self, *args: Any, people: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["user"].choices = _person_choices(people)  # type: ignore[attr-defined]
