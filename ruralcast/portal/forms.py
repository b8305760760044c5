from datetime import timedelta

from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ruralcast.portal.models import TITLE_MAX
from ruralcast.regions.forms import RegionField


class NoticeForm(forms.Form):
    region = RegionField(label=_("Village or township"))
    title = forms.CharField(
        label=_("Title"), max_length=TITLE_MAX, help_text=_("Short and in plain words: shown large and read aloud.")
    )
    body = forms.CharField(label=_("Text"), widget=forms.Textarea(attrs={"rows": 5}), required=False)
    expires_at = forms.DateTimeField(
        label=_("Shown until"), widget=forms.DateTimeInput(attrs={"type": "datetime-local"}, format="%Y-%m-%dT%H:%M")
    )

    @staticmethod
    def default_expiry() -> str:
        return (timezone.localtime() + timedelta(days=7)).strftime("%Y-%m-%dT%H:%M")
