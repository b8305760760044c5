"""The console pages: the inbox and its count in the navigation, claiming a page, the duty roster
(scoped by region), the delivery log with its stand-in labels, and templates fit for a strict CSP."""

import re
from collections.abc import Callable
from pathlib import Path

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ruralcast.alerts.models import Alert, Status
from ruralcast.notifications.delivery import deliveries_send
from ruralcast.notifications.models import DutySlot, Escalation, EscalationState, Notification, Tier
from ruralcast.notifications.services import contact_update, notify

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("english")]
TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


@pytest.fixture
def paged_approver(roster, rongjiang, county_alert_approver, submit: Callable[..., Alert]):  # type: ignore[no-untyped-def]
    roster(rongjiang, county_alert_approver, Tier.FIRST)
    submit(Status.EXERCISE)
    return county_alert_approver


def test_the_navigation_counts_unread_notifications_and_opening_one_reads_it(paged_approver, en_client: Client) -> None:  # type: ignore[no-untyped-def]
    en_client.force_login(paged_approver)
    page = en_client.get(reverse("web:dashboard")).content.decode()
    assert re.search(r"data-nav-count>1<", page)
    inbox = en_client.get(reverse("notifications:inbox")).content.decode()
    # The notification is in its recipient's language (Chinese by default); the page in the chosen one.
    assert "待您审核的应急消息" in inbox and "E-mail: stand-in" in inbox and "SMS: stand-in" in inbox
    notification = Notification.objects.get(recipient=paged_approver)
    opened = en_client.get(reverse("notifications:open", args=[notification.pk]))
    assert opened.status_code == 302 and opened["Location"] == notification.url
    notification.refresh_from_db()
    assert notification.read_at is not None
    assert "data-nav-count" not in en_client.get(reverse("web:dashboard")).content.decode()


def test_an_approver_takes_a_page_on_from_the_inbox(paged_approver, en_client: Client) -> None:  # type: ignore[no-untyped-def]
    en_client.force_login(paged_approver)
    notification = Notification.objects.get(recipient=paged_approver)
    response = en_client.post(reverse("notifications:inbox"), {"action": "claim", "id": notification.pk})
    assert response.status_code == 302
    escalation = Escalation.objects.get()
    assert (escalation.state, escalation.claimed_by) == (EscalationState.CLAIMED, paged_approver)


def test_someone_else_s_notification_is_not_found(paged_approver, county_station_operator, en_client: Client) -> None:  # type: ignore[no-untyped-def]
    en_client.force_login(county_station_operator)
    notification = Notification.objects.get(recipient=paged_approver)
    assert en_client.get(reverse("notifications:open", args=[notification.pk])).status_code == 404


def test_a_county_admin_keeps_the_county_roster_through_the_page(  # type: ignore[no-untyped-def]
    county_bureau_admin, county_alert_approver, rongjiang, en_client: Client
) -> None:
    en_client.force_login(county_bureau_admin)
    url = f"{reverse('notifications:roster')}?region={rongjiang.code}"
    page = en_client.get(url).content.decode()
    # Without a roster, every approver of the county is paged at once (the ladder's fallback step).
    assert (
        "everyone who may approve here" in page and str(county_alert_approver) in page and "Add to the roster" in page
    )
    form = {
        "region": rongjiang.code, "action": "add_slot", "slot-user": county_alert_approver.pk, "slot-tier": 1,
        "slot-weekdays": [0, 1, 2, 3, 4], "slot-starts": "08:00", "slot-ends": "18:00",
    }  # fmt: skip
    assert en_client.post(reverse("notifications:roster"), form).status_code == 302
    assert DutySlot.objects.filter(region=rongjiang, user=county_alert_approver).count() == 5
    # A bad time: 400, what to fix, the rest of the input kept.
    bad = en_client.post(reverse("notifications:roster"), {**form, "slot-starts": "25:99"})
    body = bad.content.decode()
    assert bad.status_code == 400 and "Enter a valid time" in body and 'value="18:00"' in body
    assert DutySlot.objects.filter(region=rongjiang).count() == 5


def test_the_roster_of_a_neighbouring_county_is_refused(
    neighbour_county_bureau_admin, rongjiang, en_client: Client
) -> None:  # type: ignore[no-untyped-def]
    en_client.force_login(neighbour_county_bureau_admin)
    assert en_client.get(f"{reverse('notifications:roster')}?region={rongjiang.code}").status_code == 403
    post = en_client.post(reverse("notifications:roster"), {"region": rongjiang.code, "action": "remove_slot", "id": 1})
    assert post.status_code == 403


def test_a_station_operator_sees_who_is_on_duty_but_cannot_change_it(  # type: ignore[no-untyped-def]
    paged_approver, county_station_operator, rongjiang, en_client: Client
) -> None:
    en_client.force_login(county_station_operator)
    page = en_client.get(f"{reverse('notifications:roster')}?region={rongjiang.code}").content.decode()
    assert str(paged_approver) in page and "Add to the roster" not in page
    slot = DutySlot.objects.filter(region=rongjiang).first()
    assert slot is not None
    en_client.post(reverse("notifications:roster"), {"region": rongjiang.code, "action": "remove_slot", "id": slot.pk})
    assert DutySlot.objects.filter(pk=slot.pk).exists()


def test_the_delivery_log_labels_what_a_stand_in_carried(  # type: ignore[no-untyped-def]
    paged_approver, county_bureau_admin, neighbour_county_bureau_admin, en_client: Client
) -> None:
    en_client.force_login(neighbour_county_bureau_admin)
    assert "data-delivery=" not in en_client.get(reverse("notifications:deliveries")).content.decode()
    en_client.force_login(county_bureau_admin)
    page = en_client.get(reverse("notifications:deliveries")).content.decode()
    assert page.count("data-delivery=") == 1  # the console delivery (the approver has no e-mail)
    contact_update(
        actor=paged_approver, user=paged_approver, phone="13000000000", email="a@example.invalid",
        sms_enabled=True, email_enabled=True,
    )  # fmt: skip
    with transaction.atomic():
        notify(
            recipients=[paged_approver],
            kind="approval.alert",
            params={"title": "x"},
            region_code="522632000000",
            urgent=True,
        )
    deliveries_send(now=timezone.now())
    page = en_client.get(reverse("notifications:deliveries")).content.decode()
    assert page.count("stand-in: not sent") == 2  # the e-mail (locmem) and the SMS (log only)
    # Enough to tell which address, not enough to copy it.
    assert "a…@example.invalid" in page and "a@example.invalid" not in page
    assert "…0000" in page and "13000000000" not in page


def test_the_templates_have_no_inline_script_style_or_handlers() -> None:
    forbidden = re.compile(r"<script(?![^>]*\bsrc=)|\sstyle=|\shx-on|\son[a-z]+=|javascript:", re.IGNORECASE)
    for path in TEMPLATES.rglob("*.html"):
        assert not forbidden.search(path.read_text()), path
