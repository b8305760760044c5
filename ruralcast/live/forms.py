"""Console form of live voice: whom to speak to."""

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.regions.forms import RegionField


class LiveStartForm(forms.Form):
    target = RegionField(label=_("Speak to (a region within your area)"))
