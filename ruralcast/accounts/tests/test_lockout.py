"""Login lock-out per (username, address) with back-off; never a way to lock a person out from everywhere (item 14)."""

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ruralcast.accounts.lockout import LockoutPolicy, address_key, login_throttle_clear
from ruralcast.accounts.models import LoginThrottle, User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied

pytestmark = pytest.mark.django_db
LOGIN = "/accounts/login/"
WRONG = "Not-the-password-1"


def attempt(client: Client, user: User, password: str, address: str) -> int:
    return client.post(LOGIN, {"username": user.username, "password": password}, REMOTE_ADDR=address).status_code


def test_failures_from_one_address_never_lock_the_person_out_at_another(township_viewer: User) -> None:
    attacker, person = Client(), Client()
    assert [attempt(attacker, township_viewer, WRONG, "198.18.1.66") for _ in range(8)] == [200] * 4 + [429] * 4
    assert attempt(person, township_viewer, township_viewer.raw_password, "198.18.2.10") == 302  # type: ignore[attr-defined]


def test_the_wait_doubles_with_every_failure_after_a_lock_up_to_the_maximum() -> None:
    policy = LockoutPolicy(free_failures=5, base_seconds=60, max_seconds=3600)
    waits = [policy.wait_after(n) for n in range(1, 13)]
    assert waits[:4] == [None] * 4
    assert [w.total_seconds() for w in waits[4:] if w] == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_after_the_wait_one_more_failure_locks_twice_as_long(township_viewer: User) -> None:
    client = Client()
    for _ in range(5):
        attempt(client, township_viewer, WRONG, "198.18.1.66")
    throttle = LoginThrottle.objects.get(username=township_viewer.username.lower())
    LoginThrottle.objects.filter(pk=throttle.pk).update(locked_until=timezone.now() - timedelta(seconds=1))
    assert attempt(client, township_viewer, WRONG, "198.18.1.66") == 429
    throttle.refresh_from_db()
    assert throttle.failures == 6 and throttle.locked_until is not None
    assert 110 < (throttle.locked_until - timezone.now()).total_seconds() <= 120


def test_a_locked_pair_is_refused_even_with_the_right_password_and_a_lock_is_audited(township_viewer: User) -> None:
    client = Client()
    for _ in range(5):
        attempt(client, township_viewer, WRONG, "198.18.1.66")
    assert attempt(client, township_viewer, township_viewer.raw_password, "198.18.1.66") == 429  # type: ignore[attr-defined]
    event = AuditEvent.objects.filter(verb="login.lockout").get()
    assert event.after is not None and event.after["address"] == "198.18.1.66"
    assert event.region_code == township_viewer.home_region_id


def test_a_success_clears_the_failures_of_that_pair(township_viewer: User) -> None:
    client = Client()
    for _ in range(4):
        attempt(client, township_viewer, WRONG, "198.18.1.66")
    assert attempt(client, township_viewer, township_viewer.raw_password, "198.18.1.66") == 302  # type: ignore[attr-defined]
    assert not LoginThrottle.objects.filter(username=township_viewer.username.lower()).exists()


def test_ipv6_clients_count_per_slash_64() -> None:
    assert address_key("2001:db8:1:2:aaaa::1") == address_key("2001:db8:1:2:bbbb::9") == "2001:db8:1:2::/64"
    assert address_key("198.18.1.66") == "198.18.1.66"


def test_an_administrator_in_scope_clears_a_lock_and_it_is_audited(
    county_bureau_admin: User, township_viewer: User, neighbour_county_bureau_admin: User
) -> None:
    client = Client()
    for _ in range(5):
        attempt(client, township_viewer, WRONG, "198.18.1.66")
    with pytest.raises(PermissionDenied):
        login_throttle_clear(actor=neighbour_county_bureau_admin, user=township_viewer)
    assert login_throttle_clear(actor=county_bureau_admin, user=township_viewer) == 1
    assert attempt(client, township_viewer, township_viewer.raw_password, "198.18.1.66") == 302  # type: ignore[attr-defined]
    assert AuditEvent.objects.filter(verb="login.unlock").exists()
