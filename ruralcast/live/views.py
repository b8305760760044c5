"""Console pages of live voice. Thin: the form and the JSON the microphone page needs, services
and selectors do the rest; the audio goes over the WebSocket (ruralcast.live.ws)."""

from django.db import transaction
from django.http import HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_require_somewhere, action_prefixes
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, ValidationError
from ruralcast.core.paging import paginate
from ruralcast.live import selectors, services
from ruralcast.live.forms import LiveStartForm
from ruralcast.live.runtime import broadcast_finish


def _home(request: AuthenticatedHttpRequest) -> str:
    prefixes = action_prefixes(user=request.user, action=Action.BROADCAST_LIVE)
    home = getattr(request.user, "home_region", None)
    if home is not None and any(home.code.startswith(p) for p in prefixes):
        return str(home.code)
    return ""


@authenticated_view
def live_index(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.BROADCAST_LIVE)
    sessions = selectors.session_receipt_counts(sessions=selectors.session_list(user=request.user))
    context = {
        "form": LiveStartForm(initial={"target": _home(request)}),
        "on_air": selectors.session_on_air(user=request.user),
        **paginate(request, sessions),
    }
    return render(request, "live/index.html", context)


def _error(error: ApplicationError) -> JsonResponse:
    return JsonResponse(
        {"error": {"message": str(error.message), "fields": error.fields or {}}}, status=error.status_code
    )


@authenticated_view
@require_POST
def live_start(request: AuthenticatedHttpRequest) -> JsonResponse:
    """Start a session (the page then opens the WebSocket it names)."""
    form = LiveStartForm(request.POST)
    try:
        if not form.is_valid():
            fields = {name: [str(message) for message in errors] for name, errors in form.errors.items()}
            raise ValidationError(fields.get("target", [""])[0], fields=fields)
        session = services.live_session_start(actor=request.user, target=form.cleaned_data["target"])
    except ApplicationError as error:
        return _error(error)
    return JsonResponse(
        {
            "id": session.pk,
            "websocket": f"/ws/live/{session.pk}/",
            "status": reverse("live:status", args=[session.pk]),
            "stop": reverse("live:stop", args=[session.pk]),
            "detail": reverse("live:detail", args=[session.pk]),
            "target": session.target.name,
        },
        status=201,
    )


@authenticated_view
@require_POST
def live_stop(request: AuthenticatedHttpRequest, session_id: int) -> JsonResponse:
    try:
        session = selectors.access_live_session(user=request.user, session_id=session_id)
        services.live_session_stop(actor=request.user, session=session)
    except ApplicationError as error:
        return _error(error)

    def finish() -> None:
        broadcast_finish(session_id)

    transaction.on_commit(finish)
    return JsonResponse({"id": session_id, "state": "ended", "detail": reverse("live:detail", args=[session_id])})


@authenticated_view
def live_detail(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    session = selectors.access_live_session(user=request.user, session_id=session_id)
    status = selectors.session_status(session=session)
    context = {"session": session, "status": status, "playing": selectors.playing_terminals(status=status)}
    return render(request, "live/detail.html", context)


@authenticated_view
def live_status(request: AuthenticatedHttpRequest, session_id: int) -> HttpResponse:
    """The terminals' receipts of a session (htmx partial, polled while on the air)."""
    session = selectors.access_live_session(user=request.user, session_id=session_id)
    status = selectors.session_status(session=session)
    context = {"session": session, "status": status, "playing": selectors.playing_terminals(status=status)}
    return render(request, "live/status_partial.html", context)
