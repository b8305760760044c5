"""Helpers for console forms."""

from django import forms

from ruralcast.core.errors import ApplicationError


def form_apply_error(form: forms.Form, error: ApplicationError) -> None:
    """Put a service's error onto the form fields it names (the rest on the form), so the page
    shows what to fix next to what the person typed, which stays in the form."""
    if not error.fields:
        form.add_error(None, error.message)
        return
    for name, messages in error.fields.items():
        for message in messages:
            form.add_error(name if name in form.fields else None, message)
