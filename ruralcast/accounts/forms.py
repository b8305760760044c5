"""Console forms for accounts. Validation of substance happens in services; forms shape input."""

from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from ruralcast.accounts.roles import Role
from ruralcast.regions.forms import RegionField


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": _("Wrong username or password. After several failures the account is locked for a while."),
        "inactive": _("This account is deactivated."),
    }


class UserCreateForm(forms.Form):
    username = forms.CharField(label=_("Username"), max_length=150)
    full_name = forms.CharField(label=_("Full name"), max_length=150, required=False)
    email = forms.EmailField(label=_("Email"), required=False)
    home_region = RegionField(label=_("Home region"))
    password = forms.CharField(
        label=_("Initial password"),
        widget=forms.PasswordInput(render_value=True),
        help_text=_("At least 12 characters mixing letters, digits and symbols; hand it over in person."),
    )


class GrantForm(forms.Form):
    role = forms.ChoiceField(label=_("Role"), choices=Role.choices)
    region = RegionField(label=_("On region (and everything below it)"))


class TokenForm(forms.Form):
    name = forms.CharField(
        label=_("Name"), max_length=100, help_text=_("What will use it, e.g. “county report script”.")
    )
    expires_at = forms.DateTimeField(
        label=_("Expires at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"})
    )


class PasswordChangeForm(forms.Form):
    old_password = forms.CharField(label=_("Current password"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=_("New password"), widget=forms.PasswordInput)


class SecondFactorForm(forms.Form):
    token = forms.CharField(
        label=_("Code"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}),
        help_text=_("The six digits your authenticator app shows now, or one of your recovery codes."),
    )


class SecondFactorResetForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason"),
        max_length=500,
        help_text=_("Recorded in the audit trail, e.g. “phone lost, identity checked in person”."),
    )


class SecurityKeyAddForm(forms.Form):
    """A name for the new key; `credential` is filled in by the page's script from the browser."""

    name = forms.CharField(
        label=_("Name of the key"),
        max_length=64,
        help_text=_("So you can tell your keys apart, e.g. “blue USB key” or “office laptop”."),
    )
    credential = forms.CharField(widget=forms.HiddenInput, max_length=20000, required=False)


class SecurityKeyCheckForm(forms.Form):
    credential = forms.CharField(widget=forms.HiddenInput, max_length=20000, required=False)
