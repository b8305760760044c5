"""Pairing household screens: the code, its expiry and attempt limit, the scope of the target
village, revocation, registration limits, pruning."""

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from django.utils import timezone

from ruralcast.accounts.models import User
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen
from ruralcast.villagers.selectors import portal_screen, screen_for_token
from ruralcast.villagers.services import (
    TooManyAttempts,
    screen_code_refresh,
    screen_pair,
    screen_register,
    screen_revoke,
    villagers_prune,
)

pytestmark = pytest.mark.django_db


def test_a_new_screen_shows_a_six_digit_code_and_only_the_hash_of_its_token_is_kept(
    waiting_screen: tuple[Screen, str],
) -> None:
    screen, token = waiting_screen
    assert len(screen.pairing_code) == 6 and screen.pairing_code.isdigit()
    assert screen.pairing_code_expires_at is not None
    assert screen.pairing_code_expires_at > timezone.now() + timedelta(minutes=14)
    assert token not in screen.token_hash and len(token) >= 40
    assert screen_for_token(token=token) == screen
    assert not screen.is_paired


def test_county_operator_pairs_a_screen_to_a_village_of_the_county(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    screen, token = waiting_screen
    paired = screen_pair(actor=county_station_operator, code=screen.pairing_code, village=dashizi, label="张家")
    assert paired.is_paired and paired.village == dashizi and paired.paired_by == county_station_operator
    assert paired.pairing_code == ""
    assert portal_screen(screen_for_token(token=token)).region_code == dashizi.code
    event = AuditEvent.objects.get(verb="screen.pair")
    assert event.region_code == dashizi.code and event.actor_id == county_station_operator.pk


def test_a_code_typed_with_a_space_as_the_tv_shows_it_pairs(
    waiting_screen: tuple[Screen, str], village_broadcaster: User, dashizi: Region
) -> None:
    screen, _token = waiting_screen
    code = f"{screen.pairing_code[:3]} {screen.pairing_code[3:]}"
    assert screen_pair(actor=village_broadcaster, code=code, village=dashizi).is_paired


def test_a_wrong_code_is_refused_and_nothing_is_paired(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    screen, _token = waiting_screen
    wrong = f"{(int(screen.pairing_code) + 1) % 1_000_000:06d}"
    with pytest.raises(ValidationError) as refused:
        screen_pair(actor=county_station_operator, code=wrong, village=dashizi)
    assert "code" in refused.value.fields
    screen.refresh_from_db()
    assert not screen.is_paired and not AuditEvent.objects.filter(verb="screen.pair").exists()


def test_an_expired_code_is_refused(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    screen, _token = waiting_screen
    Screen.objects.filter(pk=screen.pk).update(pairing_code_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(ValidationError):
        screen_pair(actor=county_station_operator, code=screen.pairing_code, village=dashizi)


def test_the_pairing_page_renews_an_expired_code(waiting_screen: tuple[Screen, str]) -> None:
    screen, _token = waiting_screen
    Screen.objects.filter(pk=screen.pk).update(pairing_code_expires_at=timezone.now() - timedelta(seconds=1))
    screen.refresh_from_db()
    renewed = screen_code_refresh(screen=screen)
    assert renewed.pairing_code_expires_at is not None
    assert renewed.pairing_code_expires_at > timezone.now() + timedelta(minutes=14)


def test_five_wrong_codes_from_one_address_make_it_wait_even_for_the_right_code(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    screen, _token = waiting_screen
    wrong = f"{(int(screen.pairing_code) + 1) % 1_000_000:06d}"
    for _attempt in range(5):
        with pytest.raises(ValidationError):
            screen_pair(actor=county_station_operator, code=wrong, village=dashizi, address="203.0.113.9")
    with pytest.raises(TooManyAttempts) as waiting:
        screen_pair(actor=county_station_operator, code=screen.pairing_code, village=dashizi, address="203.0.113.9")
    assert waiting.value.status_code == 429
    # Another address is not held back by the first one's failures.
    assert screen_pair(
        actor=county_station_operator, code=screen.pairing_code, village=dashizi, address="203.0.113.10"
    ).is_paired


def test_county_operator_cannot_pair_to_a_village_of_the_neighbouring_county(
    waiting_screen: tuple[Screen, str], county_station_operator: User, congjiang_village: Region
) -> None:
    screen, _token = waiting_screen
    with pytest.raises(PermissionDenied):
        screen_pair(actor=county_station_operator, code=screen.pairing_code, village=congjiang_village)
    screen.refresh_from_db()
    assert not screen.is_paired


def test_village_broadcaster_cannot_pair_to_the_neighbouring_village(
    waiting_screen: tuple[Screen, str], village_broadcaster: User, liziyuan: Region
) -> None:
    screen, _token = waiting_screen
    with pytest.raises(PermissionDenied):
        screen_pair(actor=village_broadcaster, code=screen.pairing_code, village=liziyuan)


def test_a_viewer_cannot_pair_screens(
    waiting_screen: tuple[Screen, str], township_viewer: User, dashizi: Region
) -> None:
    screen, _token = waiting_screen
    with pytest.raises(PermissionDenied):
        screen_pair(actor=township_viewer, code=screen.pairing_code, village=dashizi)


def test_a_screen_is_paired_to_a_village_not_a_township(
    waiting_screen: tuple[Screen, str], county_station_operator: User, guzhou: Region
) -> None:
    screen, _token = waiting_screen
    with pytest.raises(ValidationError) as refused:
        screen_pair(actor=county_station_operator, code=screen.pairing_code, village=guzhou)
    assert "village" in refused.value.fields


def test_revoking_makes_the_token_worthless_at_once(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    screen, token = waiting_screen
    screen_pair(actor=county_station_operator, code=screen.pairing_code, village=dashizi)
    screen_revoke(actor=county_station_operator, screen=Screen.objects.get(pk=screen.pk))
    assert screen_for_token(token=token) is None
    assert AuditEvent.objects.filter(verb="screen.revoke", region_code=dashizi.code).exists()


def test_an_operator_of_another_county_cannot_revoke(
    waiting_screen: tuple[Screen, str],
    county_station_operator: User,
    dashizi: Region,
    make_user: Callable[..., User],
    congjiang: Region,
) -> None:
    from ruralcast.accounts.roles import Role

    screen, token = waiting_screen
    screen_pair(actor=county_station_operator, code=screen.pairing_code, village=dashizi)
    stranger = make_user(role=Role.STATION_OPERATOR, region=congjiang)
    with pytest.raises(PermissionDenied):
        screen_revoke(actor=stranger, screen=Screen.objects.get(pk=screen.pk))
    assert screen_for_token(token=token) is not None


def test_screen_registration_is_limited_per_address(db: None, settings: Any) -> None:
    settings.RURALCAST_VILLAGERS = {**settings.RURALCAST_VILLAGERS, "SCREEN_REGISTRATIONS_PER_ADDRESS_HOUR": 3}
    for _box in range(3):
        screen_register(user_agent="box", address="192.0.2.44")
    with pytest.raises(TooManyAttempts):
        screen_register(user_agent="box", address="192.0.2.44")
    assert screen_register(user_agent="box", address="192.0.2.45")[0].pk


def test_prune_removes_screens_never_paired_past_their_retention(
    waiting_screen: tuple[Screen, str], county_station_operator: User, dashizi: Region
) -> None:
    old, _token = waiting_screen
    paired, _token2 = screen_register(user_agent="box")
    screen_pair(actor=county_station_operator, code=paired.pairing_code, village=dashizi)
    Screen.objects.update(created_at=timezone.now() - timedelta(days=31))
    counts = villagers_prune()
    assert counts["screens"] == 1
    assert list(Screen.objects.values_list("pk", flat=True)) == [paired.pk]
    assert old.pk != paired.pk
