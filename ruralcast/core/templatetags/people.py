"""Template filters that write things as people read them, the same way on every page.

    {% load people %}
    {{ session.operator|person }}        王芳 (wangfang)   — the name, with the login when both exist
    {{ item.audio_seconds|duration }}    2:05              — minutes and seconds, never "125.0 s"
    {{ log.duration_ms|duration_ms }}    0:42              — the same from milliseconds
    {{ row.region|region }}              三棵树镇          — a region by name ({{ r|region:"path" }} with its parents)
    {{ t|terminal }}                     1号大喇叭（新村）  — a terminal by name and village, never its code
    {{ e.verb|verb }}                    批准了预警        — an audit verb (core/verbs.py)
    {{ slot.weekdays|weekdays }}         周一至周五
    {{ session.tier|tier }}              县级
    {{ asset.language|language }}        中文
    {{ e.after|change }}                 title: 通知; volume: 60

The functions live in core/wording.py for Python and API code; these filters only wrap them.
Duck-typed on purpose: core sits below accounts in the app layers, so `person` reads any object
with `get_full_name()` and `get_username()` (Django's user model has both).
"""

from typing import Any

from django import template

from ruralcast.core import wording
from ruralcast.core.verbs import verb_label

register = template.Library()


@register.filter
def person(user: Any) -> str:
    """A person as colleagues name them: full name and login, or the login alone; "" for nobody."""
    return wording.person_label(user)


@register.filter
def duration(seconds: Any) -> str:
    """Seconds as m:ss (h:mm:ss from an hour on); "—" when unknown."""
    return wording.duration_label(seconds)


@register.filter
def duration_ms(milliseconds: Any) -> str:
    """Milliseconds as m:ss (see `duration`)."""
    return wording.duration_ms_label(milliseconds)


@register.filter
def region(value: Any, arg: str = "") -> str:
    """A region by its name; `|region:"path"` puts its parents' names first."""
    return wording.region_label(value, path=arg == "path")


@register.filter
def terminal(value: Any) -> str:
    return wording.terminal_label(value)


@register.filter
def verb(value: Any) -> str:
    return verb_label(value)


@register.filter
def weekdays(value: Any) -> str:
    return wording.weekdays_label(value)


@register.filter
def tier(value: Any) -> str:
    return wording.tier_label(value)


@register.filter
def language(value: Any) -> str:
    return wording.language_label(value)


@register.filter
def change(value: Any) -> str:
    return wording.change_label(value)
