"""The console's form round trip, written once.

Every form page does the same five things: bind the form to what the person sent, validate it,
call one service with the cleaned data, turn the service's `ApplicationError` into errors shown
next to the fields it names (the typed input stays in the form), and on success redirect or show
the result. The status says what happened: 200 for the empty form or a result, 400 when the form
itself refuses the input, and the service error's own status otherwise (403 refused, 404 not
found, 409 conflict, 503 a tool of the platform is missing) — never a 500, never lost input.

    form = ScheduleForm(request.POST or None, initial=...)

    def save(data: dict[str, Any]) -> HttpResponse:
        schedule = services.schedule_create(actor=request.user, name=data["name"], ...)
        messages.success(request, _("Schedule created."))
        return redirect("broadcasting:schedule", schedule_id=schedule.pk)

    return form_round_trip(request, form, save, template="broadcasting/schedule_form.html")

`on_valid` returns a response (a redirect, a download) or a mapping of extra context to render
the page with (a search result, a report below the form). It should call one service: the
service is the transaction, so a failure leaves nothing half-written. GET filter forms use the
same helper (a form bound to `request.GET or None` is bound only when a filter was sent), or
`form_status` when the page shows results whether or not the filter is valid.

Buttons without a form page (approve, end the live, retry) post and redirect back: their service
runs inside `service_errors_flashed(request)`, which turns an `ApplicationError` into the error
message of the page the browser is sent back to.

The console's form pages are full-page posts (htmx only polls partials and checks slot
conflicts, which are not round trips), so the helper has no htmx branch.
"""

from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponseBase
from django.shortcuts import render

from ruralcast.core.errors import ApplicationError
from ruralcast.core.forms import form_apply_error

OnValid = Callable[[dict[str, Any]], HttpResponseBase | Mapping[str, Any]]


def form_status(form: forms.Form, error: ApplicationError | None = None) -> int:
    """The status of a page showing `form`: the service error's, 400 for refused input, else 200."""
    if error is not None:
        return error.status_code
    return 400 if form.is_bound and form.errors else 200


def form_error_apply(form: forms.Form, error: ApplicationError, *, field: str | None = None) -> None:
    """Show a service error on the form: on `field` when given (an import's errors belong to the
    file), otherwise on the fields the error names (the rest above the form)."""
    if field is not None:
        form.add_error(field, error.message)
    else:
        form_apply_error(form, error)


def form_round_trip(
    request: HttpRequest,
    form: forms.Form,
    on_valid: OnValid,
    *,
    template: str,
    context: Mapping[str, Any] | None = None,
    form_key: str = "form",
    error_field: str | None = None,
    flash_error: bool = False,
) -> HttpResponseBase:
    """Validate a bound `form`, call `on_valid(cleaned_data)`, and answer (see the module docstring).

    `context` is the page's other content; the form goes in as `form_key`. `error_field` puts
    every service error on that field instead of the fields the error names; `flash_error` also
    shows the error's message at the top of the page (for forms laid out as a grid, where the
    per-field messages need a summary such as "nothing was saved").
    """
    error: ApplicationError | None = None
    extra: Mapping[str, Any] = {}
    if form.is_bound and form.is_valid():
        try:
            outcome = on_valid(form.cleaned_data)
        except ApplicationError as refused:
            error = refused
            form_error_apply(form, refused, field=error_field)
            if flash_error:
                messages.error(request, refused.message)
        else:
            if isinstance(outcome, HttpResponseBase):
                return outcome
            extra = outcome
    page = {**(context or {}), form_key: form, **extra}
    return render(request, template, page, status=form_status(form, error))


@contextmanager
def service_errors_flashed(request: HttpRequest) -> Iterator[None]:
    """Run a button's service; its `ApplicationError` becomes the message shown after the redirect.

        with service_errors_flashed(request):
            services.live_end(actor=request.user, event=event)
            messages.success(request, _("The live has ended."))
        return redirect("media:live_detail", uid=event.uid)

    Nothing after the failing call inside the block runs; the code after the block does.
    """
    try:
        yield
    except ApplicationError as error:
        messages.error(request, error.message)
