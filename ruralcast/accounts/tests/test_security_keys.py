"""Security keys (WebAuthn) as a second factor (issue 13 item 24), through the real pages.

A verified person adds a key on /accounts/keys/; at the next login the code page offers it and a
signature over a fresh challenge verifies the session like a code. Each challenge works once, a
signature made for another site is refused, a counter that does not grow is refused and audited
as a possible clone, and only a verified session may add or remove keys. The authenticator is
played in software (`authenticator.py`) with real keys and signatures; the browser test
(`test_security_keys_browser.py`) uses Chromium's virtual authenticator.
"""

import json
import re

import pytest
from django.test import Client, RequestFactory, override_settings
from django_otp.plugins.otp_totp.models import TOTPDevice

from ruralcast.accounts.models import User, WebAuthnCredential
from ruralcast.accounts.second_factor import second_factor_enrolled, second_factor_reset, totp_provision
from ruralcast.accounts.security_keys import relying_party
from ruralcast.accounts.tests.authenticator import SoftAuthenticator
from ruralcast.audit.models import AuditEvent

pytestmark = pytest.mark.django_db
ORIGIN, RP_ID = "http://testserver", "testserver"  # Django's test client talks to "testserver"
OPTIONS = re.compile(r'<script id="webauthn-options" type="application/json">(.*?)</script>', re.S)


def page_options(answer: object) -> dict:
    match = OPTIONS.search(answer.content.decode())  # type: ignore[attr-defined]
    assert match, "the page must carry the WebAuthn options"
    return json.loads(match.group(1))


def verified_client(user: User) -> Client:
    """Fully logged in (the root conftest's force_login also verifies the session with an app)."""
    client = Client()
    client.force_login(user)
    return client


def password_of(user: User) -> str:
    return user.raw_password  # type: ignore[attr-defined]  # set by the make_user fixture


def password_only(user: User) -> Client:
    client = Client()
    assert (
        client.post("/accounts/login/", {"username": user.username, "password": password_of(user)}).status_code == 302
    )  # type: ignore[attr-defined]
    return client


def add_key(client: Client, name: str = "blue USB key") -> SoftAuthenticator:
    authenticator = SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID)
    options = page_options(client.get("/accounts/keys/"))
    answer = client.post("/accounts/keys/", {"name": name, "credential": authenticator.register(options)})
    assert answer.status_code == 302, answer.content.decode()[:2000]
    return authenticator


def test_a_verified_person_adds_a_key_and_logs_in_with_it_instead_of_a_code(county_alert_approver: User) -> None:
    authenticator = add_key(verified_client(county_alert_approver))
    key = WebAuthnCredential.objects.get(user=county_alert_approver)
    assert (key.name, key.rp_id, key.sign_count) == ("blue USB key", RP_ID, 0)
    added = AuditEvent.objects.get(verb="second_factor.key_add")
    assert added.actor_id == county_alert_approver.pk and added.after["name"] == "blue USB key"  # type: ignore[index]

    later = password_only(county_alert_approver)
    assert later.get("/api/v1/me").status_code == 403
    page = later.get("/accounts/second-factor/?next=/alerts/")
    assert page.status_code == 200 and b'data-testid="use-security-key"' in page.content
    answer = later.post(
        "/accounts/second-factor/key/", {"credential": authenticator.sign(page_options(page)), "next": "/alerts/"}
    )
    assert answer.status_code == 302 and answer["location"] == "/alerts/"
    assert later.get("/api/v1/me").status_code == 200
    key.refresh_from_db()
    assert key.sign_count == 1 and key.last_used_at is not None


def test_each_challenge_works_once(county_alert_approver: User) -> None:
    authenticator = add_key(verified_client(county_alert_approver))
    first = password_only(county_alert_approver)
    signed = authenticator.sign(page_options(first.get("/accounts/second-factor/")))
    assert first.post("/accounts/second-factor/key/", {"credential": signed}).status_code == 302
    replay = password_only(county_alert_approver)
    replay.get("/accounts/second-factor/")  # a challenge of its own, which the old answer does not sign
    assert replay.post("/accounts/second-factor/key/", {"credential": signed}).status_code == 400
    assert replay.get("/api/v1/me").status_code == 403


def test_a_signature_made_for_another_site_is_refused(county_alert_approver: User) -> None:
    authenticator = add_key(verified_client(county_alert_approver))
    phished = password_only(county_alert_approver)
    options = page_options(phished.get("/accounts/second-factor/"))
    answer = phished.post(
        "/accounts/second-factor/key/", {"credential": authenticator.sign(options, origin="https://ruralcast.evil")}
    )
    assert answer.status_code == 400 and "未被接受" in answer.content.decode()  # “not accepted”
    assert phished.get("/api/v1/me").status_code == 403


def test_a_counter_that_does_not_grow_is_refused_and_audited_as_a_possible_clone(county_alert_approver: User) -> None:
    authenticator = add_key(verified_client(county_alert_approver))
    first = password_only(county_alert_approver)
    signed = authenticator.sign(page_options(first.get("/accounts/second-factor/")), count=7)
    assert first.post("/accounts/second-factor/key/", {"credential": signed}).status_code == 302

    clone = password_only(county_alert_approver)
    copied = authenticator.sign(page_options(clone.get("/accounts/second-factor/")), count=7)
    answer = clone.post("/accounts/second-factor/key/", {"credential": copied})
    assert answer.status_code == 400 and clone.get("/api/v1/me").status_code == 403
    event = AuditEvent.objects.get(verb="second_factor.key_clone_suspected")
    assert event.before == {"sign_count": 7} and event.after["sign_count"] == 7  # type: ignore[index]
    assert WebAuthnCredential.objects.get(user=county_alert_approver).sign_count == 7


def test_a_key_that_keeps_no_counter_works_every_time(county_alert_approver: User) -> None:
    authenticator = add_key(verified_client(county_alert_approver))
    for _ in range(2):
        client = password_only(county_alert_approver)
        signed = authenticator.sign(page_options(client.get("/accounts/second-factor/")), count=0)
        assert client.post("/accounts/second-factor/key/", {"credential": signed}).status_code == 302


def test_failed_key_answers_count_in_the_throttle_of_that_address(county_alert_approver: User) -> None:
    add_key(verified_client(county_alert_approver))
    attacker = Client(REMOTE_ADDR="198.18.1.66")
    attacker.post(
        "/accounts/login/", {"username": county_alert_approver.username, "password": password_of(county_alert_approver)}
    )  # type: ignore[attr-defined]
    statuses = [attacker.post("/accounts/second-factor/key/", {"credential": "{}"}).status_code for _ in range(6)]
    assert statuses == [400] * 4 + [429] * 2


def test_only_a_verified_session_reaches_the_keys_page(
    county_alert_approver: User, county_station_operator: User
) -> None:
    totp_provision(user=county_alert_approver)
    unverified = password_only(county_alert_approver)
    assert unverified.get("/accounts/keys/")["location"].startswith("/accounts/second-factor/")
    assert unverified.post("/accounts/keys/", {"name": "mine", "credential": "{}"}).status_code == 302
    # Someone whose roles do not ask for a second factor still verifies with the app before adding a key.
    operator = password_only(county_station_operator)
    assert operator.get("/accounts/keys/")["location"].startswith("/accounts/second-factor/setup/")
    assert not WebAuthnCredential.objects.exists()


def test_a_registration_answer_for_another_site_or_without_a_name_is_refused(county_alert_approver: User) -> None:
    client = verified_client(county_alert_approver)
    authenticator = SoftAuthenticator(origin=ORIGIN, rp_id=RP_ID)
    options = page_options(client.get("/accounts/keys/"))
    wrong = client.post(
        "/accounts/keys/", {"name": "key", "credential": authenticator.register(options, origin="https://x.evil")}
    )
    assert wrong.status_code == 400
    options = page_options(wrong)  # the page answered with a fresh challenge
    nameless = client.post("/accounts/keys/", {"name": " ", "credential": authenticator.register(options)})
    assert nameless.status_code == 400
    assert client.post("/accounts/keys/", {"name": "key", "credential": "not json"}).status_code == 400
    assert not WebAuthnCredential.objects.exists()


def test_removing_a_key_is_ones_own_and_audited(county_alert_approver: User, county_bureau_admin: User) -> None:
    add_key(verified_client(county_alert_approver))
    key = WebAuthnCredential.objects.get()
    other = Client()
    other.force_login(county_bureau_admin)
    assert other.post(f"/accounts/keys/{key.pk}/remove/").status_code == 404
    owner = verified_client(county_alert_approver)
    page = owner.get("/accounts/keys/")
    assert b"data-confirm=" in page.content and b"blue USB key" in page.content
    assert owner.post(f"/accounts/keys/{key.pk}/remove/").status_code == 302
    assert not WebAuthnCredential.objects.exists()
    assert AuditEvent.objects.get(verb="second_factor.key_remove").before["name"] == "blue USB key"  # type: ignore[index]


def test_an_administrators_reset_removes_the_keys_too(county_alert_approver: User, county_bureau_admin: User) -> None:
    add_key(verified_client(county_alert_approver))
    TOTPDevice.objects.filter(user=county_alert_approver).delete()
    assert second_factor_enrolled(county_alert_approver)  # a key alone counts as enrolled
    admin_page = verified_client(county_bureau_admin).get(f"/accounts/users/{county_alert_approver.username}/")
    assert "安全密钥: 1" in admin_page.content.decode()  # the console speaks zh-Hans first
    second_factor_reset(actor=county_bureau_admin, user=county_alert_approver, reason="key lost, checked in person")
    assert not WebAuthnCredential.objects.exists() and not second_factor_enrolled(county_alert_approver)
    assert AuditEvent.objects.get(verb="second_factor.reset").after["devices_removed"] == 1  # type: ignore[index]


def test_the_relying_party_is_the_host_name_and_the_scheme_comes_only_from_trusted_proxies() -> None:
    factory = RequestFactory()
    assert relying_party(factory.get("/", HTTP_HOST="192.0.2.7:8000")) is None  # browsers refuse IP addresses
    assert relying_party(factory.get("/", HTTP_HOST="[2001:db8::1]:8000")) is None
    plain = relying_party(factory.get("/", HTTP_HOST="localhost:8000"))
    assert plain is not None and (plain.id, plain.origin) == ("localhost", "http://localhost:8000")
    spoofed = factory.get("/", HTTP_HOST="rc.example.cn", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="203.0.113.9")
    assert relying_party(spoofed).origin == "http://rc.example.cn"  # type: ignore[union-attr]
    with override_settings(RURALCAST_TRUSTED_PROXIES=["10.0.0.0/8"]):
        proxied = factory.get(
            "/", HTTP_HOST="rc.example.cn:443", HTTP_X_FORWARDED_PROTO="https", REMOTE_ADDR="10.1.2.3"
        )
        assert relying_party(proxied).origin == "https://rc.example.cn"  # type: ignore[union-attr]
