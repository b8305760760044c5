"""Factories for people and their roles. Every object is made through the services, as in real life.

`UserFactory` calls `user_create(actor=None, …)` with a freshly generated password (never a shared
constant); the plaintext is kept on the returned object as `raw_password` so a test can log in.
"""

from typing import Any, cast

import factory

from ruralcast.accounts.demo import random_password
from ruralcast.accounts.models import User
from ruralcast.accounts.services import role_grant, user_create
from ruralcast.regions.models import Region
from ruralcast.regions.selectors import region_get

RONGJIANG_CODE = "522632000000"


class UserFactory(factory.Factory):
    class Meta:
        model = User

    username = factory.Sequence(lambda n: f"person{n}")
    full_name = factory.Sequence(lambda n: f"测试用户 {n}")
    password = factory.LazyAttribute(lambda person: random_password(username=person.username))
    home_region = factory.LazyFunction(lambda: region_get(code=RONGJIANG_CODE))

    @classmethod
    def _create(cls, model_class: type[User], *args: Any, password: str, **kwargs: Any) -> User:
        user = user_create(actor=None, password=password, **kwargs)
        user.raw_password = password  # type: ignore[attr-defined]
        return user


def user_with_role(*, role: str, region: Region, **kwargs: Any) -> User:
    """A new user living in `region` and holding `role` on it (granted by the system)."""
    kwargs.setdefault("home_region", region)
    user = cast(User, UserFactory(**kwargs))
    role_grant(actor=None, user=user, role=role, region=region)
    return user
