"""Fixtures for daily-broadcasting tests: library items of known length, terminals in two villages,
and a helper that builds a schedule with slots through the real services."""

import hashlib
from collections.abc import Callable
from datetime import time
from typing import Any

import pytest

from ruralcast.accounts.models import User
from ruralcast.broadcasting.models import ProgrammeItem, Schedule, ScheduleSlot, Source
from ruralcast.broadcasting.services import SlotFields, schedule_create, slot_create
from ruralcast.regions.models import Region
from ruralcast.terminals.models import Terminal
from ruralcast.terminals.services import terminal_register


@pytest.fixture
def make_item() -> Callable[..., ProgrammeItem]:
    """make_item(owner, seconds, title): a library row of a given length.

    The precedence rules only read an item's duration, so these rows name audio by a hash of their
    title instead of running ffmpeg for minutes of sound; the audio pipeline has its own tests.
    """

    def make(owner: Region, seconds: float, title: str = "item") -> ProgrammeItem:
        digest = hashlib.sha256(f"{owner.code}/{title}/{seconds}".encode()).hexdigest()
        return ProgrammeItem.objects.create(
            title=title,
            owner_region=owner,
            source=Source.UPLOAD,
            audio_name=f"programme/audio/{digest}.mp3",
            audio_sha256=digest,
            audio_bytes=int(seconds * 4000),
            audio_seconds=seconds,
        )

    return make


@pytest.fixture
def make_schedule() -> Callable[..., Schedule]:
    """make_schedule(actor, owner, [(\"07:00\", item, {recurrence fields…}), …], target=owner)."""

    def make(
        actor: User,
        owner: Region,
        slots: list[tuple[str, ProgrammeItem] | tuple[str, ProgrammeItem, dict[str, Any]]],
        *,
        target: Region | None = None,
        name: str = "",
        volume: int = 70,
    ) -> Schedule:
        schedule = schedule_create(
            actor=actor, owner_region=owner, target_region=target or owner, name=name or f"{owner.name} schedule",
            volume=volume,
        )  # fmt: skip
        for spec in slots:
            start, item = spec[0], spec[1]
            extra: dict[str, Any] = spec[2] if len(spec) > 2 else {}  # type: ignore[misc]
            slot_create(
                actor=actor,
                schedule=schedule,
                fields=SlotFields(start_time=time.fromisoformat(start), item=item, **extra),
            )
        return schedule

    return make


@pytest.fixture
def terminals(dashizi: Region, liziyuan: Region) -> dict[str, list[Terminal]]:
    """Two terminals in 大十字社区 and one in 梨子园社区 (both in 古州镇, 榕江县)."""
    return {
        "dashizi": [terminal_register(actor=None, village=dashizi).terminal for _ in range(2)],
        "liziyuan": [terminal_register(actor=None, village=liziyuan).terminal],
    }


def slots_of(schedule: Schedule) -> list[ScheduleSlot]:
    return list(schedule.slots.order_by("start_time"))
