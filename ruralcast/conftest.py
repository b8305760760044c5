"""Shared fixtures for the ruralcast test suite: the Guizhou region tree and people holding roles.

The test database of each pytest-xdist worker gets the Guizhou province (code 52) imported once,
right after pytest-django has created it; every test then runs in a transaction that is rolled back,
so the tree is shared and never rebuilt. A `transaction=True` test (or one using `live_server`)
ends with a flush of every table, the tree included; pytest-django runs those tests last, and the
next one of them finds the tree imported again (3 s each), so prefer ordinary tests.

Places used throughout (榕江县 and its neighbour 从江县 lie in 黔东南州, Guizhou):

    national   000000000000  中华人民共和国 (synthetic root)
    guizhou    520000000000  贵州省
    rongjiang  522632000000  榕江县            congjiang  522633000000  从江县 (neighbouring county)
    guzhou     522632100000  古州镇            zhongcheng 522632101000  忠诚镇 (neighbouring township)
    dashizi    522632100001  大十字社区        liziyuan   522632100002  梨子园社区 (neighbouring village)
"""

from collections.abc import Callable, Iterator
from typing import Any, cast

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role
from ruralcast.accounts.services import user_set_active
from ruralcast.accounts.tests.factories import UserFactory, user_with_role
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get
from ruralcast.regions.services import regions_import

GUIZHOU_PROVINCE = "52"


# ---------------------------------------------------------------------------- logging in

_django_force_login = Client.force_login


def _force_login_fully(self: Client, user: Any, backend: str | None = None) -> None:
    """`client.force_login(user)` means "fully logged in": for a person whose roles need a second
    factor the session is also marked verified with an authenticator of theirs, as after the code
    page. The second-factor flow itself is tested through the real pages (accounts/tests)."""
    from django_otp import DEVICE_ID_SESSION_KEY
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from ruralcast.accounts.access import user_scopes_of
    from ruralcast.accounts.roles import role_needs_second_factor

    _django_force_login(self, user, backend)
    if user.is_active and any(role_needs_second_factor(scope.role) for scope in user_scopes_of(user)):
        device = TOTPDevice.objects.filter(user=user, confirmed=True).first()
        if device is None:
            device = TOTPDevice.objects.create(user=user, name="test authenticator", confirmed=True)
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()


Client.force_login = _force_login_fully  # type: ignore[method-assign,assignment]


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup: None, django_db_blocker: Any) -> None:
    """After the normal test database set-up, import Guizhou once into this worker's database."""
    with django_db_blocker.unblock():
        regions_import(province=GUIZHOU_PROVINCE)


@pytest.fixture(autouse=True)
def _guizhou_tree_after_flush(request: pytest.FixtureRequest) -> None:
    """Before a transactional test, import Guizhou again if an earlier one's flush removed it."""
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if not transactional:
        return
    request.getfixturevalue("_django_db_helper")
    if not Region.objects.filter(code=GUIZHOU_PROVINCE.ljust(12, "0")).exists():
        regions_import(province=GUIZHOU_PROVINCE)


# ---------------------------------------------------------------------------- places


@pytest.fixture
def national(db: None) -> Region:
    return region_get(code="000000000000")


@pytest.fixture
def guizhou(db: None) -> Region:
    return region_get(code="520000000000")


@pytest.fixture
def rongjiang(db: None) -> Region:
    return region_get(code="522632000000")


@pytest.fixture
def congjiang(db: None) -> Region:
    return region_get(code="522633000000")


@pytest.fixture
def guzhou(db: None) -> Region:
    return region_get(code="522632100000")


@pytest.fixture
def zhongcheng(db: None) -> Region:
    return region_get(code="522632101000")


@pytest.fixture
def dashizi(db: None) -> Region:
    return region_get(code="522632100001")


@pytest.fixture
def liziyuan(db: None) -> Region:
    return region_get(code="522632100002")


# ---------------------------------------------------------------------------- people


@pytest.fixture
def make_user(db: None) -> Callable[..., User]:
    """make_user(role=Role.VIEWER, region=guzhou, username=…): a new person holding `role` on `region`.

    Without `role`, a person without any grant. The plaintext password is on `.raw_password`.
    """

    def make(*, role: str | None = None, region: Region | None = None, **kwargs: Any) -> User:
        if role is None:
            if region is not None:
                kwargs.setdefault("home_region", region)
            return cast(User, UserFactory(**kwargs))
        assert region is not None, "a role is granted on a region"
        return user_with_role(role=role, region=region, **kwargs)

    return make


@pytest.fixture
def platform_admin(make_user: Callable[..., User], national: Region) -> User:
    return make_user(role=Role.PLATFORM_ADMIN, region=national, username="platform-admin")


@pytest.fixture
def national_bureau_admin(make_user: Callable[..., User], national: Region) -> User:
    return make_user(role=Role.BUREAU_ADMIN, region=national, username="national-bureau-admin")


@pytest.fixture
def province_bureau_admin(make_user: Callable[..., User], guizhou: Region) -> User:
    return make_user(role=Role.BUREAU_ADMIN, region=guizhou, username="guizhou-bureau-admin")


@pytest.fixture
def county_bureau_admin(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.BUREAU_ADMIN, region=rongjiang, username="rongjiang-bureau-admin")


@pytest.fixture
def neighbour_county_bureau_admin(make_user: Callable[..., User], congjiang: Region) -> User:
    return make_user(role=Role.BUREAU_ADMIN, region=congjiang, username="congjiang-bureau-admin")


@pytest.fixture
def county_station_operator(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.STATION_OPERATOR, region=rongjiang, username="rongjiang-operator")


@pytest.fixture
def county_alert_approver(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.ALERT_APPROVER, region=rongjiang, username="rongjiang-approver")


@pytest.fixture
def county_maintainer(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(role=Role.MAINTAINER, region=rongjiang, username="rongjiang-maintainer")


@pytest.fixture
def township_station_operator(make_user: Callable[..., User], guzhou: Region) -> User:
    return make_user(role=Role.STATION_OPERATOR, region=guzhou, username="guzhou-operator")


@pytest.fixture
def township_viewer(make_user: Callable[..., User], guzhou: Region) -> User:
    return make_user(role=Role.VIEWER, region=guzhou, username="guzhou-viewer")


@pytest.fixture
def village_broadcaster(make_user: Callable[..., User], dashizi: Region) -> User:
    return make_user(role=Role.VILLAGE_BROADCASTER, region=dashizi, username="dashizi-broadcaster")


@pytest.fixture
def roleless_user(make_user: Callable[..., User], rongjiang: Region) -> User:
    return make_user(region=rongjiang, username="no-roles")


@pytest.fixture
def deactivated_operator(make_user: Callable[..., User], guzhou: Region, platform_admin: User) -> User:
    """A township station operator whose account an administrator has deactivated."""
    user = make_user(role=Role.STATION_OPERATOR, region=guzhou, username="former-operator")
    return user_set_active(actor=platform_admin, user=user, is_active=False)


# ---------------------------------------------------------------------------- language


@pytest.fixture
def english() -> Iterator[None]:
    """Messages in English (the source language), whatever the translations in locale/ say."""
    with translation.override("en"):
        yield


@pytest.fixture
def en_client() -> Client:
    """A test client of someone who chose English with the language switch (the console ignores
    the browser's Accept-Language; see ruralcast.web.middleware)."""
    client = Client()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    return client
