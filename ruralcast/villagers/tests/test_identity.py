"""Villagers on the phone: one-time codes through the SMS stand-in, consent, households and
minors, export and deletion (PIPL)."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import ValidationError
from ruralcast.regions.models import Region
from ruralcast.villagers.models import (
    Consent,
    ConsentPurpose,
    Household,
    HouseholdMember,
    OneTimeCode,
    Screen,
    Villager,
)
from ruralcast.villagers.selectors import villager_data
from ruralcast.villagers.services import (
    TooManyAttempts,
    consent_withdraw,
    household_create,
    household_member_add,
    screen_pair_by_villager,
    villager_code_send,
    villager_delete,
    villager_sign_in,
    villagers_prune,
)
from ruralcast.villagers.tests.conftest import last_code

pytestmark = pytest.mark.django_db
PHONE = "10000000017"


def test_a_villager_signs_in_with_the_code_the_sms_stand_in_carried(sms_log: Callable[[], list[str]]) -> None:
    number = villager_code_send(phone="+86 100-0000-0017")
    assert number == PHONE
    line = sms_log()[-1]
    assert "NOT SENT (stand-in)" in line and PHONE in line
    code = last_code(sms_log())
    stored = OneTimeCode.objects.get(phone=PHONE)
    assert code not in stored.code_hash
    villager = villager_sign_in(phone=PHONE, code=code, consent=True, display_name="张三")
    assert villager.phone == PHONE and villager.display_name == "张三" and villager.last_login_at
    consent = villager.consents.get()
    assert consent.purpose == ConsentPurpose.ACCOUNT and consent.notice_version == "2026-12"


def test_a_code_works_once(sms_log: Callable[[], list[str]]) -> None:
    villager_code_send(phone=PHONE)
    code = last_code(sms_log())
    villager_sign_in(phone=PHONE, code=code, consent=True)
    with pytest.raises(ValidationError):
        villager_sign_in(phone=PHONE, code=code, consent=True)


def test_a_new_number_without_consent_is_refused_and_nothing_is_kept(sms_log: Callable[[], list[str]]) -> None:
    villager_code_send(phone=PHONE)
    with pytest.raises(ValidationError) as refused:
        villager_sign_in(phone=PHONE, code=last_code(sms_log()), consent=False)
    assert "consent" in refused.value.fields
    assert not Villager.objects.exists()


def test_an_expired_code_is_refused(sms_log: Callable[[], list[str]]) -> None:
    villager_code_send(phone=PHONE)
    OneTimeCode.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        villager_sign_in(phone=PHONE, code=last_code(sms_log()), consent=True)


def test_five_wrong_entries_void_the_code(sms_log: Callable[[], list[str]]) -> None:
    villager_code_send(phone=PHONE)
    code = last_code(sms_log())
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _attempt in range(5):
        with pytest.raises(ValidationError):
            villager_sign_in(phone=PHONE, code=wrong, consent=True)
    with pytest.raises(ValidationError):
        villager_sign_in(phone=PHONE, code=code, consent=True)
    assert not Villager.objects.exists()


def test_a_number_gets_at_most_five_codes_an_hour(sms_log: Callable[[], list[str]]) -> None:
    for _code in range(5):
        villager_code_send(phone=PHONE, address="198.51.100.20")
    with pytest.raises(TooManyAttempts):
        villager_code_send(phone=PHONE, address="198.51.100.21")
    assert len(sms_log()) == 5


def test_an_address_asks_for_a_limited_number_of_codes(sms_log: Callable[[], list[str]], settings: Any) -> None:
    settings.RURALCAST_VILLAGERS = {**settings.RURALCAST_VILLAGERS, "CODES_PER_ADDRESS_HOUR": 2}
    villager_code_send(phone="10000000001", address="198.51.100.30")
    villager_code_send(phone="10000000002", address="198.51.100.30")
    with pytest.raises(TooManyAttempts):
        villager_code_send(phone="10000000003", address="198.51.100.30")


def test_a_wrong_number_is_refused_with_what_to_fix(db: None) -> None:
    with pytest.raises(ValidationError) as refused:
        villager_code_send(phone="12345")
    assert "phone" in refused.value.fields


def test_a_villager_session_grants_no_console_access(client: Client, sms_log: Callable[[], list[str]]) -> None:
    client.post("/portal/me/sign-in/", {"phone": PHONE})
    answer = client.post("/portal/me/sign-in/code/", {"code": last_code(sms_log()), "consent": "on"})
    assert answer.status_code == 302
    assert client.get("/portal/me/").status_code == 200
    for console in ("/", "/villagers/screens/", "/terminals/", "/accounts/users/"):
        response = client.get(console)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], console
    assert not User.objects.filter(username=PHONE).exists()


def test_the_household_pairs_its_tv_from_the_phone(
    signed_up: Callable[..., Villager], waiting_screen: tuple[Screen, str], dashizi: Region
) -> None:
    villager = signed_up()
    screen, _token = waiting_screen
    with pytest.raises(ValidationError):
        screen_pair_by_villager(villager=villager, code=screen.pairing_code)  # no household yet
    household = household_create(villager=villager, village=dashizi, label="张家", address="大十字 3 号")
    paired = screen_pair_by_villager(villager=Villager.objects.get(pk=villager.pk), code=screen.pairing_code)
    assert paired.household == household and paired.village == dashizi and paired.is_paired
    event = AuditEvent.objects.get(verb="screen.pair_household")
    assert PHONE not in str(event.after) and "张家" not in event.object_label


def test_a_minor_is_kept_only_with_the_guardians_consent(signed_up: Callable[..., Villager], dashizi: Region) -> None:
    villager = signed_up()
    household_create(villager=villager, village=dashizi, label="李家")
    villager.refresh_from_db()
    with pytest.raises(ValidationError) as refused:
        household_member_add(villager=villager, display_name="小明", is_minor=True)
    assert "guardian_consents" in refused.value.fields
    assert not HouseholdMember.objects.exists()
    member = household_member_add(villager=villager, display_name="小明", is_minor=True, guardian_consents=True)
    assert member.guardian == villager and member.guardian_consent is not None
    assert member.guardian_consent.purpose == ConsentPurpose.MINOR
    consent_withdraw(villager=villager, consent=member.guardian_consent)
    assert not HouseholdMember.objects.exists()
    assert Consent.objects.get(purpose=ConsentPurpose.MINOR).withdrawn_at is not None


def test_the_export_holds_everything_kept_about_the_villager(
    signed_up: Callable[..., Villager], dashizi: Region
) -> None:
    villager = signed_up()
    household_create(villager=villager, village=dashizi, label="王家", address="大十字 5 号")
    villager = Villager.objects.get(pk=villager.pk)
    household_member_add(villager=villager, display_name="王奶奶", is_minor=False)
    data = villager_data(villager=villager)
    assert data["villager"]["phone"] == PHONE and data["villager"]["name"] == "张三"
    assert data["household"]["address"] == "大十字 5 号" and data["household"]["members"][0]["name"] == "王奶奶"
    assert {c["purpose"] for c in data["consents"]} == {"account", "household"}


def test_deleting_removes_the_villager_and_anonymises_what_is_kept(
    signed_up: Callable[..., Villager],
    waiting_screen: tuple[Screen, str],
    dashizi: Region,
    county_station_operator: User,
) -> None:
    villager = signed_up()
    household = household_create(villager=villager, village=dashizi, label="赵家", address="大十字 8 号")
    villager = Villager.objects.get(pk=villager.pk)
    household_member_add(villager=villager, display_name="小赵", is_minor=True, guardian_consents=True)
    screen, _token = waiting_screen
    screen_pair_by_villager(villager=villager, code=screen.pairing_code)
    villager_delete(villager=villager)
    assert not Villager.objects.exists() and not Consent.objects.exists() and not HouseholdMember.objects.exists()
    assert not OneTimeCode.objects.filter(phone=PHONE).exists()
    household.refresh_from_db()
    assert household.label == f"household {household.pk}" and household.address == ""
    screen.refresh_from_db()
    assert screen.is_paired and screen.paired_by_villager is None
    assert AuditEvent.objects.filter(verb="villager.delete").exists()
    for event in AuditEvent.objects.all():
        assert PHONE not in f"{event.object_label}{event.before}{event.after}"
        assert "赵家" not in event.object_label


def test_withdrawing_the_account_consent_deletes_the_account(signed_up: Callable[..., Villager]) -> None:
    villager = signed_up()
    consent_withdraw(villager=villager, consent=villager.consents.get())
    assert not Villager.objects.exists()


def test_prune_deletes_villagers_unused_past_their_retention_and_stale_codes(
    signed_up: Callable[..., Villager], sms_log: Callable[[], list[str]]
) -> None:
    old = signed_up(phone="10000000021")
    recent = signed_up(phone="10000000022")
    villager_code_send(phone="10000000023")
    Villager.objects.filter(pk=old.pk).update(last_login_at=timezone.now() - timedelta(days=731))
    OneTimeCode.objects.update(created_at=timezone.now() - timedelta(days=2))
    counts = villagers_prune()
    assert counts["villagers"] == 1 and counts["codes"] >= 1
    assert list(Villager.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not OneTimeCode.objects.exists()
    assert Household.objects.count() == 0
