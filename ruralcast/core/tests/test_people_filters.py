"""The filters that write people and durations as people read them."""

from types import SimpleNamespace

from ruralcast.core.templatetags.people import duration, duration_ms, person


def _someone(login: str, full: str = "") -> SimpleNamespace:
    return SimpleNamespace(get_username=lambda: login, get_full_name=lambda: full)


def test_a_person_is_named_with_their_login_and_a_login_alone_stays_a_login() -> None:
    assert person(_someone("wangfang", "王芳")) == "王芳 (wangfang)"
    assert person(_someone("wangfang")) == "wangfang"
    assert person(None) == ""


def test_durations_read_as_minutes_and_seconds() -> None:
    assert duration(125.4) == "2:05"
    assert duration(7.6) == "0:08"
    assert duration(3725) == "1:02:05"
    assert duration(None) == "—"
    assert duration("x") == "—"
    assert duration_ms(42_000) == "0:42"
    assert duration_ms(None) == "—"
