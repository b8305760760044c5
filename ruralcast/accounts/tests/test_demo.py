"""Random passwords for demo users and tests: always acceptable for the person they are made for."""

from collections.abc import Iterator

import pytest

from ruralcast.accounts import demo
from ruralcast.accounts.models import User
from ruralcast.accounts.services import password_check
from ruralcast.regions.models import Region


def _draws(*candidates: str) -> Iterator[str]:
    """Characters of the given candidate passwords, one after another, as secrets.choice would draw them."""
    for candidate in candidates:
        yield from candidate


def test_a_draw_too_like_the_username_is_drawn_again(monkeypatch: pytest.MonkeyPatch) -> None:
    # A policy-conforming draw that shares every character of "fuzz-admin" (seen in a CI run).
    too_similar, fine = "ZTmYZNfh@uD4fI-A", "Qw7#Xk2!Lp9.Rv4_"
    draws = _draws(too_similar, fine)
    monkeypatch.setattr(demo.secrets, "choice", lambda alphabet: next(draws))

    assert demo.random_password(username="fuzz-admin") == fine


def test_random_passwords_pass_the_policy_for_their_user(db: None, guzhou: Region) -> None:
    password = demo.random_password(username="fuzz-admin")
    password_check(password=password, user=User(username="fuzz-admin", home_region=guzhou))
