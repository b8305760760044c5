"""Forms of the screens console page and the villagers' phone pages. Rules live in the services."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.forms import RegionField

_CODE_ATTRS = {"inputmode": "numeric", "autocomplete": "one-time-code", "pattern": "[0-9 ]*", "maxlength": "7"}


class ScreenPairForm(forms.Form):
    code = forms.CharField(
        label=_("Pairing code"),
        max_length=7,
        help_text=_("The 6 digits the TV shows."),
        widget=forms.TextInput(_CODE_ATTRS),
    )
    village = RegionField(label=_("Village"), help_text=_("The village the screen stands in."))
    label = forms.CharField(label=_("Name"), max_length=80, required=False, help_text=_("E.g. 张家 or 村委会."))


class PhoneForm(forms.Form):
    phone = forms.CharField(
        label=_("Mobile number"), max_length=20, widget=forms.TextInput({"inputmode": "tel", "autocomplete": "tel"})
    )


class SignInForm(forms.Form):
    code = forms.CharField(label=_("Code from the SMS"), max_length=8, widget=forms.TextInput(_CODE_ATTRS))
    display_name = forms.CharField(
        label=_("Your name"), max_length=40, required=False, help_text=_("Only when you sign in for the first time.")
    )
    consent = forms.BooleanField(label=_("I have read the privacy notice and agree to it."), required=False)


class PhonePairForm(forms.Form):
    code = forms.CharField(label=_("Code on the TV"), max_length=7, widget=forms.TextInput(_CODE_ATTRS))


class HouseholdForm(forms.Form):
    label = forms.CharField(label=_("Household name"), max_length=80, help_text=_("E.g. 张家."))
    address = forms.CharField(label=_("Address"), max_length=200, required=False)


class MemberForm(forms.Form):
    display_name = forms.CharField(label=_("Name"), max_length=40)
    is_minor = forms.BooleanField(label=_("Under 14 years old"), required=False)
    guardian_consents = forms.BooleanField(
        label=_("I am the child's guardian and agree that the child's name is kept."), required=False
    )
