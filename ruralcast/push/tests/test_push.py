"""The push service end to end with real parts: mosquitto, the approval path, the dispatcher signing
and publishing on the region topics, the hub's one subscription, and screens' event streams."""

import time

import pytest

from ruralcast.alerts.models import SEVERITY_COLOUR, State
from ruralcast.push import asgi
from ruralcast.push import state as push_state
from ruralcast.push.tests.conftest import Dispatch, Screens, screen_make
from ruralcast.regions.models import Region
from ruralcast.villagers.models import Screen

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


def test_a_dispatched_drill_reaches_the_village_screen_and_not_the_neighbouring_village(
    screens: Screens, dispatch: Dispatch, rongjiang: Region, dashizi: Region, liziyuan: Region
) -> None:
    village = screens.connect(screen_make(village=dashizi))
    neighbour = screens.connect(screen_make(village=liziyuan))
    assert (village.status, neighbour.status) == (200, 200)
    assert village.alerts() == [] and neighbour.alerts() == []  # what is in force on connecting: nothing

    alert = dispatch.drill(issuer=rongjiang, target=dashizi)  # returns once the broker acknowledged
    published = time.monotonic()
    shown = village.alerts(timeout=5)
    elapsed = time.monotonic() - published
    assert alert.state == State.DISPATCHED
    assert [a["ebm_id"] for a in shown] == [alert.ebm_id]
    first = shown[0]
    assert first["drill"] is True and first["status"] == "Exercise"
    assert (first["severity"], first["colour"]) == (2, "orange")
    assert first["title"] == alert.title and first["text"] == alert.text
    assert first["audio_path"] == f"/alerts/audio/{alert.audio_sha256}.mp3"  # same origin, public
    assert elapsed < 2  # broker → hub → stream (bench/portal.py measures from the approving click)
    assert neighbour.quiet(1.0), "a neighbouring village's screen was told of an alert not meant for it"


def test_cancel_clears_the_screen(screens: Screens, dispatch: Dispatch, rongjiang: Region, guzhou: Region,
                                  dashizi: Region) -> None:  # fmt: skip
    village = screens.connect(screen_make(village=dashizi))
    assert village.alerts() == []
    alert = dispatch.drill(issuer=rongjiang, target=guzhou)  # the township: covers the village by prefix
    assert [a["ebm_id"] for a in village.alerts()] == [alert.ebm_id]
    dispatch.cancel(alert)
    assert village.alerts() == []


def test_a_screen_that_connects_later_is_shown_what_is_in_force_from_the_retained_topic(
    screens: Screens, dispatch: Dispatch, rongjiang: Region, dashizi: Region
) -> None:
    alert = dispatch.drill(issuer=rongjiang, target=rongjiang)
    late = screens.connect(screen_make(village=dashizi))
    assert [a["chain"] for a in late.alerts()] == [alert.ebm_id]


def test_unknown_and_revoked_screens_are_refused(screens: Screens, dashizi: Region) -> None:
    assert screens.connect(None).status == 401
    assert screens.connect("never-issued").status == 401
    assert screens.connect(screen_make(village=dashizi, revoked=True)).status == 403
    assert screens.connect(screen_make(village=dashizi), method="POST").status == 405


def test_a_screen_revoked_while_connected_loses_its_stream(
    screens: Screens, dashizi: Region, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(asgi, "HEARTBEAT_SECONDS", 0.1)
    monkeypatch.setattr(asgi, "RECHECK_SECONDS", 0.2)
    token = screen_make(village=dashizi)
    stream = screens.connect(token)
    assert stream.alerts() == []
    Screen.objects.update(revoked_at=Screen.objects.first().created_at)  # type: ignore[union-attr]
    assert stream.next(timeout=5)[0] == "revoked"
    assert stream.finished.wait(5)


def test_the_overlay_colours_are_the_consoles() -> None:
    assert push_state.SEVERITY_COLOUR == SEVERITY_COLOUR
