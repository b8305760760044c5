"""A CAP feed's drafting account (role `cap_feed`) is a system account: the users page lists it apart
and nobody edits it as a person."""

from typing import Any

import pytest
from django.test import Client

from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import role_grant, role_revoke, user_set_active
from ruralcast.alerts.feeds.services import FeedFields, feed_create
from ruralcast.alerts.models import FeedSubscription
from ruralcast.core.errors import Conflict, PermissionDenied
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


@pytest.fixture
def feed(settings: Any, county_bureau_admin: User, rongjiang: Region, guzhou: Region) -> FeedSubscription:
    settings.RURALCAST_CAP_FEED_HOSTS = ["cap.example.org"]
    fields = FeedFields(name="榕江县气象台", url="http://cap.example.org/feed.atom", regions=[guzhou])
    return feed_create(actor=county_bureau_admin, issuer_region=rongjiang, fields=fields)


def test_the_users_page_lists_people_only_and_the_feed_accounts_under_their_own_filter(
    client: Client, county_bureau_admin: User, county_station_operator: User, feed: FeedSubscription
) -> None:
    client.force_login(county_bureau_admin)
    people = client.get("/accounts/users/").content.decode()
    assert county_station_operator.username in people
    assert feed.account.username not in people

    system = client.get("/accounts/users/", {"kind": "system"}).content.decode()
    assert feed.account.username in system
    assert county_station_operator.username not in system
    assert "data-system-accounts" in system and "系统账号" in system


def test_an_unknown_filter_value_shows_people(
    client: Client, county_bureau_admin: User, feed: FeedSubscription
) -> None:
    client.force_login(county_bureau_admin)
    answer = client.get("/accounts/users/", {"kind": "<script>"})
    assert answer.status_code == 200 and feed.account.username not in answer.content.decode()


def test_the_system_account_page_says_what_it_is_and_offers_no_editing(
    client: Client, county_bureau_admin: User, feed: FeedSubscription
) -> None:
    client.force_login(county_bureau_admin)
    page = client.get(f"/accounts/users/{feed.account.username}/").content.decode()
    assert "data-system-account" in page and f"/alerts/feeds/{feed.pk}/" in page
    assert "/active/" not in page and "/revoke/" not in page and 'name="role"' not in page
    assert "second-factor/reset" not in page


def test_nobody_grants_revokes_or_deactivates_a_system_account_by_hand(
    client: Client, county_bureau_admin: User, platform_admin: User, rongjiang: Region, feed: FeedSubscription
) -> None:
    account = feed.account
    with pytest.raises(Conflict):
        role_grant(actor=county_bureau_admin, user=account, role=Role.VIEWER, region=rongjiang)
    with pytest.raises(Conflict):
        user_set_active(actor=county_bureau_admin, user=account, is_active=False)
    with pytest.raises((Conflict, PermissionDenied)):  # a reserved role, and a system account's
        role_revoke(actor=county_bureau_admin, grant=RoleGrant.objects.get(user=account))
    with pytest.raises(Conflict):  # not even a platform administrator: deleting the feed retires it
        role_revoke(actor=platform_admin, grant=RoleGrant.objects.get(user=account))

    client.force_login(county_bureau_admin)
    answer = client.post(f"/accounts/users/{account.username}/active/", {"is_active": "0"})
    assert 400 <= answer.status_code < 500
    account.refresh_from_db()
    assert account.is_active
    assert list(RoleGrant.objects.filter(user=account).values_list("role", flat=True)) == [Role.CAP_FEED]
