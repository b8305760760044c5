"""Fixtures of the portal's tests: household screens paired to a village (the villagers app's model,
made here as a factory would: the pairing flow has its own tests in ruralcast/villagers)."""

import secrets
from collections.abc import Callable
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from ruralcast.alerts.tests.conftest import fields_for  # noqa: F401  (the alerts tests' message fields)
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen
from ruralcast.villagers.selectors import SCREEN_COOKIE, token_hash


@pytest.fixture
def screen_client(db: None) -> Callable[[Region | None], Client]:
    """screen_client(village): a browser holding the device token of a screen paired to `village`
    (None: a screen that was never paired)."""

    def make(village: Region | None) -> Client:
        token = secrets.token_urlsafe(24)
        Screen.objects.create(
            token_hash=token_hash(token),
            label=f"screen in {village.name if village else 'nowhere'}",
            village=village,
            paired_at=timezone.now() if village else None,
        )
        client = Client()
        client.cookies[SCREEN_COOKIE] = token
        return client

    return make


@pytest.fixture
def in_a_week() -> Callable[[], object]:
    return lambda: timezone.now() + timedelta(days=7)
