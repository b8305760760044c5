"""Template filters that write things as people read them, the same way on every page.

    {% load people %}
    {{ session.operator|person }}        王芳 (wangfang)   — the name, with the login when both exist
    {{ item.audio_seconds|duration }}    2:05              — minutes and seconds, never "125.0 s"
    {{ log.duration_ms|duration_ms }}    0:42              — the same from milliseconds

Duck-typed on purpose: core sits below accounts in the app layers, so `person` reads any object
with `get_full_name()` and `get_username()` (Django's user model has both).
"""

from typing import Any

from django import template

register = template.Library()


@register.filter
def person(user: Any) -> str:
    """A person as colleagues name them: full name and login, or the login alone; "" for nobody."""
    if user is None:
        return ""
    login = user.get_username() if hasattr(user, "get_username") else str(user)
    full = (user.get_full_name() if hasattr(user, "get_full_name") else "").strip()
    return f"{full} ({login})" if full and full != login else login


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss from an hour on); "—" when unknown."""
    try:
        total = round(float(seconds))
    except (TypeError, ValueError):
        return "—"
    sign = "-" if total < 0 else ""
    hours, rest = divmod(abs(total), 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


@register.filter
def duration_ms(milliseconds: Any) -> str:
    """Milliseconds as m:ss (see `duration`)."""
    try:
        return duration(float(milliseconds) / 1000)
    except (TypeError, ValueError):
        return "—"
