"""Console pages of household screens (/villagers/screens/): the screens of the user's villages,
a form to confirm the code a TV shows, and revocation. Thin: forms in, services and selectors out."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.addresses import client_address
from ruralcast.core.formviews import form_round_trip, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.villagers import selectors, services
from ruralcast.villagers.forms import ScreenPairForm


def _listing(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    query = request.GET.get("q", "").strip()[:50]
    return {"query": query, **paginate(request, selectors.screen_list(user=request.user, query=query))}


@authenticated_view
def screen_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.SCREEN_MANAGE)
    return render(request, "villagers/screens.html", {"form": ScreenPairForm(), **_listing(request)})


@authenticated_view
@require_POST
def screen_pair(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.SCREEN_MANAGE)
    form = ScreenPairForm(request.POST)

    def save(data: dict[str, Any]) -> HttpResponse:
        screen = services.screen_pair(
            actor=request.user,
            code=data["code"],
            village=data["village"],
            label=data.get("label") or "",
            address=client_address(request),
        )
        messages.success(
            request, _("Screen paired to %(village)s. The TV moves on by itself.") % {"village": screen.village}
        )
        return redirect("villagers:screens")

    return form_round_trip(request, form, save, template="villagers/screens.html", context=_listing(request))


@authenticated_view
@require_POST
def screen_revoke(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    screen = selectors.access_screen(user=request.user, pk=pk)
    with service_errors_flashed(request):
        services.screen_revoke(actor=request.user, screen=screen)
        messages.success(request, _("Screen revoked: it no longer shows the village's pages."))
    return redirect("villagers:screens")
