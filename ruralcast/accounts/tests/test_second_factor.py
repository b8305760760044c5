"""The second factor for people who approve alerts, manage users or firmware (audit item 24).

Logged in with the password only, such a person reaches nothing but enrolment and the code page,
in the console and in the API; the code from the app (each one once) or a recovery code (each
once) lets them in; wrong codes are throttled per address; a lost factor is reset by an
administrator with a reason, audited.
"""

import re
from base64 import b32decode

import pytest
from django.test import Client
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action, Role, role_needs_second_factor
from ruralcast.accounts.second_factor import second_factor_reset, totp_provision, totp_secret
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"


def code(secret: str, steps_ahead: int = 0) -> str:
    totp = TOTP(b32decode(secret + "=" * (-len(secret) % 8)))
    totp.time += 30 * steps_ahead
    return f"{totp.token():06d}"


def password_login(client: Client, user: User) -> None:
    answer = client.post(LOGIN, {"username": user.username, "password": user.raw_password})  # type: ignore[attr-defined]
    assert answer.status_code == 302


def test_the_roles_that_need_a_second_factor_follow_from_their_actions() -> None:
    needing = {role for role in Role if role_needs_second_factor(role)}
    # Approving alerts, managing users and signing off firmware (issue 13 item 24).
    assert needing == {Role.PLATFORM_ADMIN, Role.BUREAU_ADMIN, Role.ALERT_APPROVER, Role.FIRMWARE_MANAGER}
    assert Action.ALERT_APPROVE and not role_needs_second_factor(Role.STATION_OPERATOR)


def test_an_approver_without_a_factor_reaches_only_the_enrolment_page(county_alert_approver: User) -> None:
    client = Client()
    password_login(client, county_alert_approver)
    page = client.get("/alerts/")
    assert page.status_code == 302 and page["location"].startswith("/accounts/second-factor/setup/")
    api = client.get("/api/v1/me")
    assert api.status_code == 403 and api.json()["error"]["code"] == "second_factor_required"


def test_the_api_refusal_says_what_to_do_and_on_which_page(county_alert_approver: User) -> None:
    """The 403 names the pages: enrolment (the app first, a key after) or the code page (app, recovery
    code or security key) and the tokens page, not only "the app"."""
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    password_login(client, county_alert_approver)
    message = client.get("/api/v1/me").json()["error"]["message"]
    assert "/accounts/second-factor/setup/" in message and "/accounts/keys/" in message and "TOTP" in message
    totp_provision(user=county_alert_approver)
    enrolled = Client(HTTP_ACCEPT_LANGUAGE="en")
    password_login(enrolled, county_alert_approver)
    refused = enrolled.get("/api/v1/me")
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "second_factor_required"
    message = refused.json()["error"]["message"]
    assert "/accounts/second-factor/" in message and "security key" in message and "/accounts/tokens/" in message


def test_enrolment_with_the_qr_code_then_login_needs_the_code(county_alert_approver: User) -> None:
    client = Client()
    password_login(client, county_alert_approver)
    setup = client.get("/accounts/second-factor/setup/")
    assert setup.status_code == 200 and b"<svg" in setup.content
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', setup.content).group(1).decode()  # type: ignore[union-attr]
    assert f"secret={secret}".encode() in setup.content  # the otpauth:// URI beside it

    assert client.post("/accounts/second-factor/setup/", {"token": "000000"}).status_code == 400
    confirmed = client.post("/accounts/second-factor/setup/", {"token": code(secret)})
    codes = re.findall(r"<code>([a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4}-[a-z2-9]{4})</code>", confirmed.content.decode())
    assert len(codes) == 10
    assert client.get("/api/v1/me").status_code == 200  # verified by the enrolment itself

    later = Client()
    password_login(later, county_alert_approver)
    assert later.get("/alerts/")["location"].startswith("/accounts/second-factor/")
    assert later.post("/accounts/second-factor/", {"token": code(secret)}).status_code == 400  # used once already
    assert (
        later.post("/accounts/second-factor/", {"token": code(secret, 1), "next": "/alerts/"})["location"] == "/alerts/"
    )
    assert later.get("/alerts/").status_code == 200


def test_a_recovery_code_works_once_and_is_stored_only_as_a_digest(county_alert_approver: User) -> None:
    client = Client()
    password_login(client, county_alert_approver)
    setup = client.get("/accounts/second-factor/setup/")
    secret = re.search(rb'data-testid="totp-secret">([A-Z2-7]+)<', setup.content).group(1).decode()  # type: ignore[union-attr]
    page = client.post("/accounts/second-factor/setup/", {"token": code(secret)}).content.decode()
    recovery = re.findall(r"<code>([a-z2-9-]{19})</code>", page)[0]
    from ruralcast.accounts.models import RecoveryCode

    assert not RecoveryCode.objects.filter(code_hash__contains=recovery.replace("-", "")).exists()

    first, second = Client(), Client()
    password_login(first, county_alert_approver)
    assert first.post("/accounts/second-factor/", {"token": recovery.upper()}).status_code == 302
    password_login(second, county_alert_approver)
    assert second.post("/accounts/second-factor/", {"token": recovery}).status_code == 400
    assert AuditEvent.objects.filter(verb="second_factor.recovery_code_used").count() == 1


def test_wrong_codes_lock_that_address_only(county_alert_approver: User) -> None:
    secret = totp_secret(totp_provision(user=county_alert_approver))
    attacker = Client(REMOTE_ADDR="198.18.1.66")
    password_login(attacker, county_alert_approver)
    statuses = [attacker.post("/accounts/second-factor/", {"token": "123456"}).status_code for _ in range(6)]
    assert statuses == [400] * 4 + [429] * 2
    person = Client(REMOTE_ADDR="198.18.2.10")
    password_login(person, county_alert_approver)
    assert person.post("/accounts/second-factor/", {"token": code(secret)}).status_code == 302


def test_tokens_of_such_people_are_made_only_from_a_verified_session(county_alert_approver: User) -> None:
    from ruralcast.accounts.services import api_token_create

    _token, secret = api_token_create(user=county_alert_approver, name="older token")
    another = Client().post(
        "/api/v1/tokens",
        {"name": "minted"},
        content_type="application/json",
        headers={"authorization": f"Bearer {secret}"},
    )
    assert another.status_code == 403
    verified = Client()
    verified.force_login(county_alert_approver)
    assert (
        verified.post("/api/v1/tokens", {"name": "from the console"}, content_type="application/json").status_code
        == 201
    )


def test_an_administrator_in_scope_resets_a_lost_factor_with_a_reason(
    county_bureau_admin: User, county_alert_approver: User, neighbour_county_bureau_admin: User
) -> None:
    totp_provision(user=county_alert_approver)
    with pytest.raises(PermissionDenied):
        second_factor_reset(actor=neighbour_county_bureau_admin, user=county_alert_approver, reason="phone lost")
    with pytest.raises(PermissionDenied):
        second_factor_reset(actor=county_alert_approver, user=county_alert_approver, reason="phone lost")
    with pytest.raises(ValidationError):
        second_factor_reset(actor=county_bureau_admin, user=county_alert_approver, reason=" ")
    admin = Client()
    admin.force_login(county_bureau_admin)
    answer = admin.post(
        f"/accounts/users/{county_alert_approver.username}/second-factor/reset/",
        {"reason": "phone lost, identity checked in person"},
    )
    assert answer.status_code == 302
    assert not TOTPDevice.objects.filter(user=county_alert_approver).exists()
    event = AuditEvent.objects.get(verb="second_factor.reset")
    assert event.actor_id == county_bureau_admin.pk and event.after["reason"].startswith("phone lost")  # type: ignore[index]
