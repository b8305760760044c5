"""The console form of the CAP/EBM import page. Rules live in the import services."""

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext_lazy as _

from ruralcast.alerts.formats.common import MAX_IMPORT_BYTES
from ruralcast.regions.forms import RegionField

FORMAT_CHOICES = [("cap", _("CAP 1.2 XML")), ("ebm", _("EBM XML (EBD packet)"))]


class ImportForm(forms.Form):
    file = forms.FileField(label=_("File"), help_text=_("A CAP 1.2 or EBD/EBM XML file of at most 2 MB."))
    format = forms.ChoiceField(label=_("Format"), choices=FORMAT_CHOICES, initial="cap", widget=forms.RadioSelect)
    issuer_region = RegionField(label=_("Issuing platform (your region)"))

    def clean_file(self) -> UploadedFile:
        upload: UploadedFile = self.cleaned_data["file"]
        if (upload.size or 0) > MAX_IMPORT_BYTES:
            raise forms.ValidationError(_("The file is larger than 2 MB; a CAP or EBM message is far smaller."))
        return upload
