"""Deliveries by e-mail and SMS: after the commit, at most one sender at a time, retried, audited,
and labelled when a stand-in carried them (audit item 26)."""

from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.db import transaction
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.notifications.delivery import deliveries_send, delivery_attempt
from ruralcast.notifications.models import Channel, Delivery, DeliveryState
from ruralcast.notifications.services import contact_update, notify

pytestmark = pytest.mark.django_db


class RefusingGateway:
    """An SMS operator that refuses every message (a stand-in for a gateway outside the machine)."""

    name = "refusing test gateway"
    stand_in = False

    def send(self, *, number: str, text: str) -> str:
        raise ConnectionError("gateway answered 503")


@pytest.fixture
def reachable(county_alert_approver: User) -> User:
    contact_update(
        actor=county_alert_approver, user=county_alert_approver, phone="+86 000 0000 0001",
        email="approver@example.invalid", sms_enabled=True, email_enabled=True,
    )  # fmt: skip
    return county_alert_approver


@pytest.fixture
def run_dir(settings: Any, tmp_path: Path) -> Path:
    settings.RUN_DIR = tmp_path
    return tmp_path


def _page(user: User, *, urgent: bool = True) -> list[Delivery]:
    with transaction.atomic():
        [notification] = notify(
            recipients=[user], kind="approval.alert", params={"title": "演练", "by": "值班员"}, url="/alerts/x/",
            region_code="522632000000", urgent=urgent,
        )  # fmt: skip
    return list(notification.deliveries.exclude(channel=Channel.CONSOLE).order_by("channel"))


def test_email_and_sms_leave_after_the_commit_are_audited_and_marked_as_stand_ins(  # type: ignore[no-untyped-def]
    reachable, run_dir, django_capture_on_commit_callbacks
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        deliveries = _page(reachable)
    assert [d.channel for d in deliveries] == [Channel.EMAIL, Channel.SMS]
    for delivery in deliveries:
        delivery.refresh_from_db()
        assert delivery.state == DeliveryState.SENT and delivery.stand_in  # locmem e-mail and the log-only SMS
    [message] = mail.outbox
    assert message.to == ["approver@example.invalid"] and "演练" in message.subject and "/alerts/x/" in message.body
    log = (run_dir / "sms-stand-in.log").read_text()
    assert "NOT SENT (stand-in)" in log and "+86 000 0000 0001" in log
    delivered = AuditEvent.objects.filter(verb="notification.delivered").order_by("seq")
    assert [(e.after or {}).get("channel") for e in delivered] == ["email", "sms"]
    assert all((e.after or {}).get("stand_in") for e in delivered)


def test_nothing_leaves_before_the_commit(reachable, run_dir) -> None:  # type: ignore[no-untyped-def]
    _page(reachable)  # the test's own transaction never commits
    assert mail.outbox == [] and not (run_dir / "sms-stand-in.log").exists()
    assert set(Delivery.objects.exclude(channel=Channel.CONSOLE).values_list("state", flat=True)) == {"pending"}


def test_a_refusing_gateway_is_retried_with_back_off_then_marked_failed(reachable, settings) -> None:  # type: ignore[no-untyped-def]
    settings.RURALCAST_NOTIFY = {
        **settings.RURALCAST_NOTIFY,
        "SMS_GATEWAY": f"{__name__}.RefusingGateway",
        "DELIVERY_ATTEMPTS": 3,
    }
    [_email, sms] = _page(reachable)
    now = timezone.now()
    assert delivery_attempt(delivery_id=sms.pk, now=now) == DeliveryState.PENDING
    sms.refresh_from_db()
    assert sms.attempts == 1 and "503" in sms.last_error and sms.next_attempt_at > now
    assert delivery_attempt(delivery_id=sms.pk, now=now) is None  # not due yet: the back-off holds
    for _attempt in range(2):
        now = sms.next_attempt_at
        delivery_attempt(delivery_id=sms.pk, now=now)
        sms.refresh_from_db()
    assert (sms.state, sms.attempts) == (DeliveryState.FAILED, 3)
    failures = AuditEvent.objects.filter(verb="notification.delivery_failed")
    assert [(e.after or {}).get("state") for e in failures.order_by("seq")] == ["pending", "pending", "failed"]


def test_a_delivery_is_sent_once_when_two_senders_try(reachable) -> None:  # type: ignore[no-untyped-def]
    [email, _sms] = _page(reachable, urgent=True)
    now = timezone.now()
    assert delivery_attempt(delivery_id=email.pk, now=now) == DeliveryState.SENT
    assert delivery_attempt(delivery_id=email.pk, now=now) is None
    assert deliveries_send(now=now) == 1  # the SMS, still due; the e-mail is not sent again
    assert len(mail.outbox) == 1


def test_a_sender_that_died_mid_send_leaves_the_delivery_to_be_sent_again(reachable) -> None:  # type: ignore[no-untyped-def]
    [email] = _page(reachable, urgent=False)
    now = timezone.now()
    Delivery.objects.filter(pk=email.pk).update(state=DeliveryState.SENDING, next_attempt_at=now)  # lease ran out
    assert delivery_attempt(delivery_id=email.pk, now=now) == DeliveryState.SENT


def test_sms_is_kept_for_urgent_pages_and_opting_out_is_respected(county_alert_approver) -> None:  # type: ignore[no-untyped-def]
    contact_update(
        actor=county_alert_approver, user=county_alert_approver, phone="13000000000", email="",
        sms_enabled=True, email_enabled=True,
    )  # fmt: skip
    assert [d.channel for d in _page(county_alert_approver, urgent=False)] == []
    assert [d.channel for d in _page(county_alert_approver, urgent=True)] == [Channel.SMS]
    contact_update(
        actor=county_alert_approver, user=county_alert_approver, phone="13000000000", email="",
        sms_enabled=False, email_enabled=True,
    )  # fmt: skip
    assert [d.channel for d in _page(county_alert_approver, urgent=True)] == []


def test_a_notification_is_written_in_its_recipients_language(make_user, rongjiang) -> None:  # type: ignore[no-untyped-def]
    english = make_user(region=rongjiang, username="english-reader")
    User.objects.filter(pk=english.pk).update(preferred_language="en")  # no console page sets it yet
    english.refresh_from_db()
    chinese = make_user(region=rongjiang, username="chinese-reader")
    with transaction.atomic():
        made = notify(recipients=[english, chinese], kind="approval.alert", params={"title": "T", "drill": True})
    titles = {n.recipient.username: n.title for n in made}
    assert titles == {
        "english-reader": "[DRILL] Alert awaiting your approval: T",
        "chinese-reader": "【演练】待您审核的应急消息：T",
    }


def test_contact_details_are_one_s_own_and_a_phone_number_is_checked(county_alert_approver, backup_approver) -> None:  # type: ignore[no-untyped-def]
    from ruralcast.core.errors import PermissionDenied, ValidationError

    with pytest.raises(PermissionDenied):
        contact_update(
            actor=backup_approver, user=county_alert_approver, phone="", email="", sms_enabled=True, email_enabled=True
        )
    with pytest.raises(ValidationError) as refused:
        contact_update(
            actor=backup_approver, user=backup_approver, phone="call me", email="", sms_enabled=True, email_enabled=True
        )
    assert "phone" in refused.value.fields
