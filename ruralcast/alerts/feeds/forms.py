"""The console form of a CAP feed subscription. Rules live in `feeds.services`."""

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.feeds.services import MIN_INTERVAL_SECONDS, FeedFields
from ruralcast.alerts.forms import MultiRegionField
from ruralcast.regions.forms import RegionField


class FeedForm(forms.Form):
    name = forms.CharField(label=_("Name"), max_length=100, help_text=_("Who sends it, e.g. 榕江县气象台."))
    url = forms.URLField(
        label=_("Feed URL"),
        max_length=500,
        assume_scheme="https",
        help_text=_(
            "An Atom or RSS index of CAP 1.2 messages, or a plain list of message URLs (one a line). "
            "Its host must be in the allowed feed hosts of this deployment."
        ),
    )
    issuer_region = RegionField(label=_("Issuing platform (your region)"))
    regions = MultiRegionField(
        label=_("Regions its messages may target"),
        help_text=_("A message for any other area is refused and recorded."),
    )
    certificate_pem = forms.CharField(
        label=_("Pinned signing certificate (PEM)"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 6, "spellcheck": "false"}),
        help_text=_(
            "If the sender signs its messages (XML-DSig), paste its X.509 certificate: unsigned or "
            "wrongly signed messages are then refused. Empty: signatures are not checked."
        ),
    )
    interval_seconds = forms.IntegerField(label=_("Poll every (seconds)"), min_value=MIN_INTERVAL_SECONDS, initial=300)
    enabled = forms.BooleanField(label=_("Enabled"), required=False, initial=True)

    def __init__(self, *args: Any, editing: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if editing:  # the platform of a feed stays what it was registered with
            del self.fields["issuer_region"]

    def feed_fields(self) -> FeedFields:
        data = self.cleaned_data
        return FeedFields(
            name=data["name"],
            url=data["url"],
            regions=data["regions"],
            certificate_pem=data.get("certificate_pem") or "",
            enabled=bool(data.get("enabled")),
            interval_seconds=data["interval_seconds"],
        )
