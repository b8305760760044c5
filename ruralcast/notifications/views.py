"""Console pages: the inbox, one's contact details, a region's duty roster, the delivery log.
Thin: forms in, services and selectors, templates out."""

from typing import Any

from django.contrib import messages
from django.http import HttpResponse, HttpResponseBase
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, action_prefixes
from ruralcast.accounts.models import User
from ruralcast.accounts.requests import AuthenticatedHttpRequest, authenticated_view
from ruralcast.accounts.roles import Action
from ruralcast.core.errors import ApplicationError, ValidationError
from ruralcast.core.forms import form_apply_error
from ruralcast.core.formviews import form_round_trip, form_status, service_errors_flashed
from ruralcast.core.paging import paginate
from ruralcast.notifications import selectors, services
from ruralcast.notifications.delivery import email_backend_name, email_is_stand_in
from ruralcast.notifications.forms import ContactForm, OverrideForm, SlotForm
from ruralcast.notifications.ladder import LadderStep, duty_ladder
from ruralcast.notifications.models import Channel, DeliveryState, Tier, Weekday
from ruralcast.notifications.paging import duty_page_claim
from ruralcast.notifications.sms import sms_gateway
from ruralcast.regions.codes import pad
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get


def _channels() -> dict[str, object]:
    """How e-mail and SMS leave this machine, for the labels the pages show."""
    gateway = sms_gateway()
    return {
        "email_stand_in": email_is_stand_in(),
        "email_backend": email_backend_name(),
        "sms_stand_in": gateway.stand_in,
        "sms_gateway": gateway.name,
    }


@authenticated_view
def inbox(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if request.method == "POST":
        action = request.POST.get("action", "")
        with service_errors_flashed(request):
            if action == "read_all":
                services.notifications_mark_all_read(user=user)
            elif action in ("read", "claim"):
                notification = selectors.access_notification(user=user, pk=_int(request.POST.get("id")))
                services.notification_mark_read(user=user, notification=notification)
                if action == "claim" and notification.escalation_id:
                    escalation = selectors.access_escalation(user=user, pk=notification.escalation_id)
                    duty_page_claim(actor=user, escalation=escalation)
                    messages.success(
                        request,
                        _("It is yours: the next tier is paged only if it is still waiting after the interval."),
                    )
            else:
                raise ValidationError(_("Unknown action."))
        return redirect("notifications:inbox")
    unread_only = request.GET.get("show") == "unread"
    listing = selectors.notification_list(user=user, unread_only=unread_only)
    context = {
        "unread_only": unread_only,
        "may_manage": bool(action_prefixes(user=user, action=Action.DUTY_MANAGE)),
        **_channels(),
        **paginate(request, listing),
    }
    return render(request, "notifications/inbox.html", context)


def _int(value: object) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise ValidationError(_("No such notification.")) from None


@authenticated_view
def notification_open(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Mark read and go where the notification points (only to this site)."""
    notification = selectors.access_notification(user=request.user, pk=pk)
    services.notification_mark_read(user=request.user, notification=notification)
    target = notification.url or reverse("notifications:inbox")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts=None) or not target.startswith("/"):
        target = reverse("notifications:inbox")
    return redirect(target)


@authenticated_view
def contact(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    user = request.user
    current = selectors.contact_of(user=user)
    initial = {
        "phone": current.phone if current else "",
        "email": current.email if current else "",
        "sms_enabled": current.sms_enabled if current else True,
        "email_enabled": current.email_enabled if current else True,
    }
    form = ContactForm(request.POST or None, initial=initial)

    def save(data: dict[str, Any]) -> HttpResponseBase:
        services.contact_update(actor=user, user=user, **data)
        messages.success(request, _("Saved."))
        return redirect("notifications:inbox")

    context = {"account_email": user.email, **_channels()}
    return form_round_trip(request, form, save, template="notifications/contact.html", context=context)


def _roster_region(request: AuthenticatedHttpRequest, user: User) -> Region:
    """The region asked for, else the person's home region, else the first where they manage duty."""
    code = (request.POST.get("region") or request.GET.get("region") or "").strip()
    if not code:
        if user.home_region_id:
            code = user.home_region_id
        else:
            prefixes = action_prefixes(user=user, action=Action.DUTY_MANAGE) or action_prefixes(
                user=user, action=Action.ALERT_VIEW
            )
            code = pad(prefixes[0]) if prefixes else ""
    region = region_get(code=code)
    selectors.roster_require_view(user=user, region=region)
    return region


@authenticated_view
def roster(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    region = _roster_region(request, user)
    can_manage = access_check(user=user, action=Action.DUTY_MANAGE, region=region)
    people = selectors.duty_candidates(region=region, action=services.DUTY_ACTION) if can_manage else []
    slot_form, override_form = SlotForm(people=people, prefix="slot"), OverrideForm(people=people, prefix="override")
    if request.method == "POST":
        step = request.POST.get("action", "")
        try:
            if step == "add_slot":
                slot_form = SlotForm(request.POST, people=people, prefix="slot")
                if slot_form.is_valid():
                    data = slot_form.cleaned_data
                    services.duty_slot_add(
                        actor=user, region=region, user=_person(people, data["user"]), tier=data["tier"],
                        weekdays=data["weekdays"], starts=data["starts"], ends=data["ends"],
                    )  # fmt: skip
                    messages.success(request, _("Added to the roster."))
            elif step == "add_override":
                override_form = OverrideForm(request.POST, people=people, prefix="override")
                if override_form.is_valid():
                    data = override_form.cleaned_data
                    services.duty_override_add(
                        actor=user, region=region, user=_person(people, data["user"]), on_duty=data["on_duty"],
                        tier=data["tier"], starts_at=data["starts_at"], ends_at=data["ends_at"], note=data["note"],
                    )  # fmt: skip
                    messages.success(request, _("Override added."))
            elif step == "remove_slot":
                slot = selectors.access_duty_slot(region=region, pk=_int(request.POST.get("id")))
                services.duty_slot_remove(actor=user, slot=slot)
                messages.success(request, _("Removed from the roster."))
            elif step == "remove_override":
                override = selectors.access_duty_override(region=region, pk=_int(request.POST.get("id")))
                services.duty_override_remove(actor=user, override=override)
                messages.success(request, _("Override removed."))
            else:
                raise ValidationError(_("Unknown action."))
        except ApplicationError as error:
            form = override_form if step == "add_override" else slot_form
            if step in ("add_slot", "add_override"):
                form_apply_error(form, error)
            else:
                messages.error(request, error.message)
        if not (slot_form.errors or override_form.errors):
            return redirect(f"{reverse('notifications:roster')}?region={region.code}")
    slots = list(selectors.duty_slot_list(region=region))
    context = {
        "region": region,
        "can_manage": can_manage,
        "tiers": [(value, label, [s for s in slots if s.tier == value]) for value, label in Tier.choices],
        "weekdays": Weekday.choices,
        "overrides": selectors.duty_override_list(region=region),
        "ladder": _fresh_steps(duty_ladder(region=region, action=services.DUTY_ACTION)),
        "escalations": selectors.escalation_list(viewer=user).filter(region=region) if can_manage else [],
        "slot_form": slot_form,
        "override_form": override_form,
        "now": timezone.now(),
    }
    status = max(form_status(slot_form), form_status(override_form))
    return render(request, "notifications/roster.html", context, status=status)


def _fresh_steps(ladder: list[LadderStep]) -> list[tuple[LadderStep, list[User]]]:
    """The ladder as a page climbs it: each step with the people it adds (a step adding nobody is
    skipped, as `duty_page` skips it)."""
    seen: set[int] = set()
    steps = []
    for step in ladder:
        fresh = [person for person in step.users if person.pk not in seen]
        seen.update(person.pk for person in fresh)
        if fresh:
            steps.append((step, fresh))
    return steps


def _person(people: list[User], value: str) -> User:
    for person in people:
        if str(person.pk) == str(value):
            return person
    raise ValidationError(_("Choose a person from the list."), fields={"user": [_("Not on the list.")]})


@authenticated_view
def deliveries(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every e-mail, SMS and console delivery in the regions whose duty the viewer manages, and their own."""
    channel = request.GET.get("channel", "")
    state = request.GET.get("state", "")
    channel = channel if channel in Channel.values else ""
    state = state if state in DeliveryState.values else ""
    listing = selectors.delivery_list(viewer=request.user, channel=channel, state=state)
    context = {
        "channel": channel,
        "state": state,
        "channels": Channel.choices,
        "states": DeliveryState.choices,
        **_channels(),
        **paginate(request, listing),
    }
    return render(request, "notifications/deliveries.html", context)
