"""Accounts services: creating people, granting and revoking roles, API tokens, passwords."""

import hashlib
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from ruralcast.accounts.access import access_check
from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import ApiToken, RoleGrant, User
from ruralcast.accounts.roles import Action, Role
from ruralcast.accounts.selectors import access_user, user_list
from ruralcast.accounts.services import (
    api_token_authenticate,
    api_token_create,
    api_token_revoke,
    role_grant,
    role_revoke,
    user_create,
    user_password_change,
    user_set_active,
)
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import Conflict, NotFound, PermissionDenied, ValidationError
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


@contextmanager
def nothing_written() -> Iterator[None]:
    """Assert that the block changes neither users, grants, tokens nor the audit trail."""
    counts = (User.objects.count(), RoleGrant.objects.count(), ApiToken.objects.count(), AuditEvent.objects.count())
    yield
    assert (
        User.objects.count(),
        RoleGrant.objects.count(),
        ApiToken.objects.count(),
        AuditEvent.objects.count(),
    ) == counts


def last_event() -> AuditEvent:
    event = AuditEvent.objects.order_by("-seq").first()
    assert event is not None
    return event


# ---------------------------------------------------------------------------- user_create


def test_county_bureau_admin_creates_a_user_in_a_township_of_the_county(
    county_bureau_admin: User, guzhou: Region
) -> None:
    password = random_password(username="new-operator")
    user = user_create(
        actor=county_bureau_admin, username=" new-operator ", password=password, home_region=guzhou, full_name="王五"
    )
    assert user.username == "new-operator"
    assert user.check_password(password)
    assert user.home_region == guzhou
    assert User.objects.filter(username="new-operator").exists()


def test_user_create_refuses_a_short_password_with_a_clear_message_and_writes_nothing(
    english: None, county_bureau_admin: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_create(actor=county_bureau_admin, username="weakling", password="Ab1!", home_region=guzhou)
    assert "12 characters" in caught.value.message
    assert "password" in caught.value.fields
    assert not User.objects.filter(username="weakling").exists()


def test_user_create_refuses_a_long_password_of_one_character_class(
    english: None, county_bureau_admin: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_create(actor=county_bureau_admin, username="weakling", password="xkqzvbnmwtrplj", home_region=guzhou)
    assert "three of" in caught.value.message


def test_user_create_refuses_a_common_password(english: None, county_bureau_admin: User, guzhou: Region) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_create(actor=county_bureau_admin, username="weakling", password="Password1234", home_region=guzhou)
    assert "too common" in caught.value.message


def test_user_create_refuses_a_duplicate_username_whatever_its_case(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(Conflict) as caught:
        user_create(
            actor=county_bureau_admin,
            username=township_viewer.username.upper(),
            password=random_password(username=township_viewer.username),
            home_region=guzhou,
        )
    assert "username" in caught.value.fields


@pytest.mark.parametrize("username", ["", "   ", "has space", "斜杠/名字", "x" * 151])
def test_user_create_refuses_a_malformed_username(county_bureau_admin: User, guzhou: Region, username: str) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_create(
            actor=county_bureau_admin,
            username=username,
            password=random_password(username=username),
            home_region=guzhou,
        )
    assert "username" in caught.value.fields


def test_county_bureau_admin_cannot_create_a_user_in_the_neighbouring_county(
    county_bureau_admin: User, congjiang: Region
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_create(
            actor=county_bureau_admin,
            username="outsider",
            password=random_password(username="outsider"),
            home_region=congjiang,
        )


def test_county_bureau_admin_cannot_create_a_user_at_province_level(county_bureau_admin: User, guizhou: Region) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_create(
            actor=county_bureau_admin,
            username="outsider",
            password=random_password(username="outsider"),
            home_region=guizhou,
        )


def test_station_operator_cannot_create_users_even_in_own_county(
    county_station_operator: User, rongjiang: Region
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_create(
            actor=county_station_operator,
            username="helper",
            password=random_password(username="helper"),
            home_region=rongjiang,
        )


def test_scope_is_checked_before_the_username_so_outsiders_learn_nothing(
    county_bureau_admin: User, neighbour_county_bureau_admin: User, congjiang: Region
) -> None:
    # The name exists, but the actor may not create users there: the answer is "not allowed", not "taken".
    with pytest.raises(PermissionDenied):
        user_create(
            actor=county_bureau_admin,
            username=neighbour_county_bureau_admin.username,
            password=random_password(username=neighbour_county_bureau_admin.username),
            home_region=congjiang,
        )


# ---------------------------------------------------------------------------- role_grant / role_revoke


def test_only_a_platform_admin_grants_platform_admin(
    province_bureau_admin: User, platform_admin: User, roleless_user: User, national: Region, rongjiang: Region
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        role_grant(actor=province_bureau_admin, user=roleless_user, role=Role.PLATFORM_ADMIN, region=rongjiang)

    grant = role_grant(actor=platform_admin, user=roleless_user, role=Role.PLATFORM_ADMIN, region=national)
    assert grant.granted_by == platform_admin
    assert access_check(user=roleless_user, action=Action.ROLE_GRANT, region=rongjiang)


def test_national_bureau_admin_cannot_grant_platform_admin_either(
    national_bureau_admin: User, roleless_user: User, national: Region
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        role_grant(actor=national_bureau_admin, user=roleless_user, role=Role.PLATFORM_ADMIN, region=national)


def test_county_bureau_admin_grants_roles_within_the_county(
    county_bureau_admin: User, roleless_user: User, guzhou: Region, dashizi: Region
) -> None:
    role_grant(actor=county_bureau_admin, user=roleless_user, role=Role.STATION_OPERATOR, region=guzhou)
    role_grant(actor=county_bureau_admin, user=roleless_user, role=Role.VILLAGE_BROADCASTER, region=dashizi)
    assert set(RoleGrant.objects.filter(user=roleless_user).values_list("role", "region_id")) == {
        (Role.STATION_OPERATOR, guzhou.code),
        (Role.VILLAGE_BROADCASTER, dashizi.code),
    }


@pytest.mark.parametrize("outside", ["congjiang", "guizhou", "national"])
def test_county_bureau_admin_cannot_grant_outside_the_county(
    request: pytest.FixtureRequest, county_bureau_admin: User, roleless_user: User, outside: str
) -> None:
    region: Region = request.getfixturevalue(outside)
    with nothing_written(), pytest.raises(PermissionDenied):
        role_grant(actor=county_bureau_admin, user=roleless_user, role=Role.VIEWER, region=region)


def test_station_operator_cannot_grant_roles(
    county_station_operator: User, roleless_user: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        role_grant(actor=county_station_operator, user=roleless_user, role=Role.VIEWER, region=guzhou)


def test_granting_an_unknown_role_is_a_validation_error(
    county_bureau_admin: User, roleless_user: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        role_grant(actor=county_bureau_admin, user=roleless_user, role="superuser", region=guzhou)
    assert "role" in caught.value.fields


def test_granting_the_same_role_twice_is_a_conflict(
    county_bureau_admin: User, township_viewer: User, guzhou: Region
) -> None:
    with nothing_written(), pytest.raises(Conflict):
        role_grant(actor=county_bureau_admin, user=township_viewer, role=Role.VIEWER, region=guzhou)


def test_county_bureau_admin_revokes_a_grant_in_the_county(
    county_bureau_admin: User, township_station_operator: User, guzhou: Region
) -> None:
    grant = RoleGrant.objects.get(user=township_station_operator)
    assert access_check(user=township_station_operator, action=Action.BROADCAST_LIVE, region=guzhou)

    role_revoke(actor=county_bureau_admin, grant=grant)

    assert not RoleGrant.objects.filter(pk=grant.pk).exists()
    assert not access_check(user=grant.user, action=Action.BROADCAST_LIVE, region=guzhou)


def test_county_bureau_admin_cannot_revoke_a_grant_in_the_neighbouring_county(
    county_bureau_admin: User, neighbour_county_bureau_admin: User
) -> None:
    grant = RoleGrant.objects.get(user=neighbour_county_bureau_admin)
    with nothing_written(), pytest.raises(PermissionDenied):
        role_revoke(actor=county_bureau_admin, grant=grant)


def test_bureau_admin_cannot_revoke_a_platform_admin_grant(national_bureau_admin: User, platform_admin: User) -> None:
    grant = RoleGrant.objects.get(user=platform_admin)
    with nothing_written(), pytest.raises(PermissionDenied):
        role_revoke(actor=national_bureau_admin, grant=grant)


@pytest.mark.parametrize("admin", ["county_bureau_admin", "platform_admin"])
def test_an_administrator_cannot_revoke_own_administrator_role(request: pytest.FixtureRequest, admin: str) -> None:
    actor: User = request.getfixturevalue(admin)
    grant = RoleGrant.objects.get(user=actor)
    with nothing_written(), pytest.raises(ValidationError):
        role_revoke(actor=actor, grant=grant)


def test_an_administrator_may_revoke_own_non_admin_role(
    county_bureau_admin: User, make_user: Callable[..., User], rongjiang: Region, guzhou: Region
) -> None:
    colleague = make_user(role=Role.BUREAU_ADMIN, region=rongjiang)
    grant = role_grant(actor=colleague, user=county_bureau_admin, role=Role.VIEWER, region=guzhou)
    role_revoke(actor=county_bureau_admin, grant=grant)
    assert not RoleGrant.objects.filter(pk=grant.pk).exists()


def test_another_platform_admin_may_revoke_a_platform_admin(
    platform_admin: User, make_user: Callable[..., User], national: Region
) -> None:
    second = make_user(role=Role.PLATFORM_ADMIN, region=national)
    role_revoke(actor=second, grant=RoleGrant.objects.get(user=platform_admin))
    assert not RoleGrant.objects.filter(user=platform_admin).exists()


# ---------------------------------------------------------------------------- activation and listing


def test_bureau_admin_deactivates_a_user_who_then_can_do_nothing(
    county_bureau_admin: User, township_station_operator: User, guzhou: Region
) -> None:
    user_set_active(actor=county_bureau_admin, user=township_station_operator, is_active=False)
    reloaded = User.objects.get(pk=township_station_operator.pk)
    assert not reloaded.is_active
    assert not access_check(user=reloaded, action=Action.BROADCAST_LIVE, region=guzhou)


def test_an_administrator_cannot_deactivate_own_account(county_bureau_admin: User) -> None:
    with nothing_written(), pytest.raises(ValidationError):
        user_set_active(actor=county_bureau_admin, user=county_bureau_admin, is_active=False)


def test_bureau_admin_cannot_deactivate_a_user_of_the_neighbouring_county(
    county_bureau_admin: User, neighbour_county_bureau_admin: User
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_set_active(actor=county_bureau_admin, user=neighbour_county_bureau_admin, is_active=False)


def test_user_list_shows_only_people_living_in_the_viewers_regions(
    county_bureau_admin: User, township_viewer: User, neighbour_county_bureau_admin: User
) -> None:
    listed = set(user_list(viewer=county_bureau_admin).values_list("username", flat=True))
    assert township_viewer.username in listed
    assert neighbour_county_bureau_admin.username not in listed
    with pytest.raises(NotFound):
        access_user(viewer=county_bureau_admin, username=neighbour_county_bureau_admin.username)


def test_user_list_is_empty_for_someone_without_user_view(township_viewer: User) -> None:
    assert not user_list(viewer=township_viewer).exists()


# ---------------------------------------------------------------------------- API tokens


def test_api_token_secret_is_returned_once_and_only_its_hash_is_stored(county_station_operator: User) -> None:
    token, presented = api_token_create(user=county_station_operator, name="report script")

    marker, prefix, secret = presented.split("_", 2)
    assert (marker, prefix) == ("rc", token.prefix)
    stored = ApiToken.objects.get(pk=token.pk)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    row = ApiToken.objects.filter(pk=token.pk).values().get()
    assert not any(secret in str(value) for value in row.values())
    event = last_event()
    assert event.verb == "api_token.create"
    assert secret not in str(event.after)


def test_api_token_authenticates_its_user(county_station_operator: User) -> None:
    _token, presented = api_token_create(user=county_station_operator, name="report script")
    assert api_token_authenticate(presented=presented) == county_station_operator


def test_api_token_records_when_it_was_last_used(county_station_operator: User) -> None:
    token, presented = api_token_create(user=county_station_operator, name="report script")
    assert token.last_used_at is None
    api_token_authenticate(presented=presented)
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_api_tokens_are_distinct_for_each_creation(county_station_operator: User) -> None:
    secrets = {api_token_create(user=county_station_operator, name=f"script {n}")[1] for n in range(3)}
    assert len(secrets) == 3


@pytest.mark.parametrize(
    "presented",
    ["", "rc", "rc__", "garbage", "xx_abcd1234_secret", "rc_00000000_nosuchtoken"],
)
def test_malformed_or_unknown_tokens_authenticate_nobody(presented: str) -> None:
    assert api_token_authenticate(presented=presented) is None


def test_a_token_with_the_wrong_secret_authenticates_nobody(county_station_operator: User) -> None:
    _token, presented = api_token_create(user=county_station_operator, name="report script")
    tampered = presented[:-1] + ("A" if presented[-1] != "A" else "B")
    assert api_token_authenticate(presented=tampered) is None


def test_a_revoked_token_authenticates_nobody(county_station_operator: User) -> None:
    token, presented = api_token_create(user=county_station_operator, name="report script")
    api_token_revoke(actor=county_station_operator, token=token)
    assert api_token_authenticate(presented=presented) is None
    assert last_event().verb == "api_token.revoke"


def test_an_expired_token_authenticates_nobody(county_station_operator: User) -> None:
    token, presented = api_token_create(
        user=county_station_operator, name="report script", expires_at=timezone.now() + timedelta(days=1)
    )
    assert api_token_authenticate(presented=presented) == county_station_operator
    # Let the day pass: move the expiry into the past directly in the table.
    ApiToken.objects.filter(pk=token.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert api_token_authenticate(presented=presented) is None


def test_a_deactivated_users_token_authenticates_nobody(
    county_bureau_admin: User, county_station_operator: User
) -> None:
    _token, presented = api_token_create(user=county_station_operator, name="report script")
    user_set_active(actor=county_bureau_admin, user=county_station_operator, is_active=False)
    assert api_token_authenticate(presented=presented) is None


def test_a_token_needs_a_name_and_a_future_expiry(county_station_operator: User) -> None:
    with nothing_written():
        with pytest.raises(ValidationError) as caught:
            api_token_create(user=county_station_operator, name="  ")
        assert "name" in caught.value.fields
        with pytest.raises(ValidationError) as caught:
            api_token_create(user=county_station_operator, name="late", expires_at=timezone.now() - timedelta(hours=1))
        assert "expires_at" in caught.value.fields


def test_a_token_expiry_without_time_zone_is_read_in_the_platforms_time_zone(county_station_operator: User) -> None:
    token, _secret = api_token_create(user=county_station_operator, name="nightly", expires_at=datetime(2030, 1, 1, 8))
    assert token.expires_at == datetime(2030, 1, 1, 8, tzinfo=ZoneInfo(settings.TIME_ZONE))


def test_a_past_token_expiry_without_time_zone_is_a_validation_error(county_station_operator: User) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        api_token_create(user=county_station_operator, name="late", expires_at=datetime(2000, 1, 1))
    assert "expires_at" in caught.value.fields


def test_nobody_revokes_someone_elses_token(county_station_operator: User, county_bureau_admin: User) -> None:
    token, presented = api_token_create(user=county_station_operator, name="report script")
    with pytest.raises(PermissionDenied):
        api_token_revoke(actor=county_bureau_admin, token=token)
    assert api_token_authenticate(presented=presented) == county_station_operator


def test_revoking_a_revoked_token_again_changes_nothing(county_station_operator: User) -> None:
    token, _presented = api_token_create(user=county_station_operator, name="report script")
    api_token_revoke(actor=county_station_operator, token=token)
    revoked_at = token.revoked_at
    with nothing_written():
        api_token_revoke(actor=county_station_operator, token=token)
    assert token.revoked_at == revoked_at


# ---------------------------------------------------------------------------- passwords


def test_user_changes_own_password_with_the_current_one(township_viewer: User) -> None:
    new_password = random_password(username=township_viewer.username)
    user_password_change(
        actor=township_viewer,
        user=township_viewer,
        old_password=township_viewer.raw_password,  # type: ignore[attr-defined]
        new_password=new_password,
    )
    reloaded = User.objects.get(pk=township_viewer.pk)
    assert reloaded.check_password(new_password)
    event = last_event()
    assert (event.verb, event.actor_id, event.after) == ("user.password", township_viewer.pk, {"changed_by_self": True})
    assert new_password not in str(event.after)


def test_user_password_change_refuses_a_wrong_current_password(township_viewer: User) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_password_change(
            actor=township_viewer,
            user=township_viewer,
            old_password="Wrong-Password-1",
            new_password=random_password(username=township_viewer.username),
        )
    assert "old_password" in caught.value.fields
    assert User.objects.get(pk=township_viewer.pk).check_password(township_viewer.raw_password)  # type: ignore[attr-defined]


def test_user_password_change_refuses_a_weak_new_password(township_viewer: User) -> None:
    with nothing_written(), pytest.raises(ValidationError) as caught:
        user_password_change(
            actor=township_viewer,
            user=township_viewer,
            old_password=township_viewer.raw_password,  # type: ignore[attr-defined]
            new_password="short",
        )
    assert "password" in caught.value.fields


def test_bureau_admin_resets_the_password_of_a_user_in_the_county(
    county_bureau_admin: User, township_viewer: User
) -> None:
    new_password = random_password(username=township_viewer.username)
    user_password_change(actor=county_bureau_admin, user=township_viewer, new_password=new_password)
    assert User.objects.get(pk=township_viewer.pk).check_password(new_password)
    assert last_event().after == {"changed_by_self": False}


def test_bureau_admin_cannot_reset_a_password_in_the_neighbouring_county(
    county_bureau_admin: User, neighbour_county_bureau_admin: User
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_password_change(
            actor=county_bureau_admin,
            user=neighbour_county_bureau_admin,
            new_password=random_password(username=neighbour_county_bureau_admin.username),
        )


def test_a_station_operator_cannot_reset_a_colleagues_password(
    county_station_operator: User, township_viewer: User
) -> None:
    with nothing_written(), pytest.raises(PermissionDenied):
        user_password_change(
            actor=county_station_operator,
            user=township_viewer,
            new_password=random_password(username=township_viewer.username),
        )


# ---------------------------------------------------------------------------- accounts without a home region


@pytest.fixture
def account_without_home_region(db: None) -> User:
    """An account as `manage.py createsuperuser` makes it: no home region, no grants."""
    return User.objects.create_user(
        username="created-by-createsuperuser", password=random_password(username="created-by-createsuperuser")
    )


def test_platform_admin_deactivates_an_account_without_home_region(
    platform_admin: User, account_without_home_region: User
) -> None:
    user_set_active(actor=platform_admin, user=account_without_home_region, is_active=False)
    assert not User.objects.get(pk=account_without_home_region.pk).is_active
    event = last_event()
    assert (event.verb, event.region_code) == ("user.deactivate", "")


def test_platform_admin_resets_the_password_of_an_account_without_home_region(
    platform_admin: User, account_without_home_region: User
) -> None:
    new_password = random_password(username=account_without_home_region.username)
    user_password_change(actor=platform_admin, user=account_without_home_region, new_password=new_password)
    assert User.objects.get(pk=account_without_home_region.pk).check_password(new_password)


@pytest.mark.parametrize("admin", ["national_bureau_admin", "province_bureau_admin"])
def test_only_a_platform_admin_changes_an_account_without_home_region(
    request: pytest.FixtureRequest, admin: str, account_without_home_region: User
) -> None:
    actor: User = request.getfixturevalue(admin)
    with nothing_written():
        with pytest.raises(PermissionDenied):
            user_set_active(actor=actor, user=account_without_home_region, is_active=False)
        with pytest.raises(PermissionDenied):
            user_password_change(
                actor=actor,
                user=account_without_home_region,
                new_password=random_password(username=account_without_home_region.username),
            )
