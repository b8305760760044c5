"""Console pages of CAP feed subscriptions: list, register, change, poll now, remove."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from ruralcast.accounts.access import access_require_somewhere
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.alerts.feeds import selectors, services
from ruralcast.alerts.feeds.forms import FeedForm
from ruralcast.core.formviews import form_round_trip, service_errors_flashed


@authenticated_view
def feed_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    access_require_somewhere(user=request.user, action=Action.FEED_MANAGE)
    return render(request, "alerts/feeds/list.html", {"feeds": selectors.feed_list(user=request.user)})


@authenticated_view
def feed_create(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    access_require_somewhere(user=request.user, action=Action.FEED_MANAGE)
    home = getattr(request.user, "home_region", None)
    form = FeedForm(request.POST or None, initial={"issuer_region": home.code if home else ""})

    def save(data: dict[str, Any]) -> HttpResponse:
        feed = services.feed_create(actor=request.user, issuer_region=data["issuer_region"], fields=form.feed_fields())
        messages.success(request, _("Feed registered; it is polled within a minute."))
        return redirect("alerts:feed", feed_id=feed.pk)

    return form_round_trip(request, form, save, template="alerts/feeds/form.html", context={"feed": None})


@authenticated_view
def feed_detail(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponseBase:
    """The feed's state (last poll, error, what it brought) and its form."""
    feed = selectors.access_feed(user=request.user, feed_id=feed_id)
    initial = {
        "name": feed.name,
        "url": feed.url,
        "regions": list(feed.regions.all()),
        "certificate_pem": feed.certificate_pem,
        "interval_seconds": feed.interval_seconds,
        "enabled": feed.enabled,
    }
    form = FeedForm(request.POST or None, initial=initial, editing=True)

    def save(data: dict[str, Any]) -> HttpResponse:
        services.feed_update(actor=request.user, feed=feed, fields=form.feed_fields())
        messages.success(request, _("Feed saved."))
        return redirect("alerts:feed", feed_id=feed.pk)

    context = {"feed": feed, "entries": selectors.feed_entries(feed=feed)}
    return form_round_trip(request, form, save, template="alerts/feeds/form.html", context=context)


@authenticated_view
@require_POST
def feed_poll(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = selectors.access_feed(user=request.user, feed_id=feed_id)
    with service_errors_flashed(request):
        result = services.feed_poll_now(actor=request.user, feed=feed)
        if result.status == "failed":
            messages.error(request, _("The poll failed: %(error)s") % {"error": result.error})
        elif result.status == "not-modified":
            messages.success(request, _("Polled: the feed has not changed."))
        else:
            messages.success(request, _("Polled: %(count)s new message(s) read.") % {"count": len(result.entries)})
    return redirect("alerts:feed", feed_id=feed.pk)


@authenticated_view
@require_POST
def feed_delete(request: AuthenticatedHttpRequest, feed_id: int) -> HttpResponse:
    feed = selectors.access_feed(user=request.user, feed_id=feed_id)
    with service_errors_flashed(request):
        services.feed_delete(actor=request.user, feed=feed)
        messages.success(request, _("Feed removed; the drafts it brought stay."))
        return redirect("alerts:feeds")
    return redirect("alerts:feed", feed_id=feed.pk)
