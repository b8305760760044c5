from django import forms
from django.utils.translation import gettext_lazy as _


class NoteForm(forms.Form):
    text = forms.CharField(label=_("Note"), widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=4000)
    photo = forms.FileField(label=_("Photo (JPEG, PNG or WebP)"), required=False)


class ResolveForm(forms.Form):
    resolution = forms.CharField(label=_("What was done"), max_length=200)
