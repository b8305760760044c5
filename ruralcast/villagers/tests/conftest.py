"""Fixtures of the villagers' tests: villages in and out of the demo county, a waiting screen,
the SMS stand-in's log in a folder of the test's own."""

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen, Villager
from ruralcast.villagers.services import screen_register


@pytest.fixture
def congjiang_village(congjiang: Region) -> Region:
    """A village of the neighbouring county (从江县)."""
    return Region.objects.filter(code__startswith="522633", level=5).order_by("code")[0]


@pytest.fixture
def waiting_screen(db: None) -> tuple[Screen, str]:
    return screen_register(user_agent="test-box", address="198.51.100.7")


@pytest.fixture
def sms_log(tmp_path: Path) -> Iterator[Callable[[], list[str]]]:
    """The log-only SMS stand-in writes into tmp_path; the callable reads the messages "sent"."""
    with override_settings(RUN_DIR=tmp_path):
        path = tmp_path / "sms-stand-in.log"
        yield lambda: path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def last_code(lines: list[str]) -> str:
    """The 6-digit code in the last SMS of the stand-in's log."""
    import re

    match = re.search(r"\b(\d{6})\b", lines[-1].split("\t")[-1])
    assert match, lines[-1]
    return match.group(1)


@pytest.fixture
def signed_up(db: None, sms_log: Callable[[], list[str]]) -> Callable[..., Villager]:
    """signed_up(phone=…): a villager who signed in through the real code path."""
    from ruralcast.villagers.services import villager_code_send, villager_sign_in

    def make(*, phone: str = "10000000017", name: str = "张三") -> Villager:
        villager_code_send(phone=phone)
        return villager_sign_in(phone=phone, code=last_code(sms_log()), consent=True, display_name=name)

    return make
