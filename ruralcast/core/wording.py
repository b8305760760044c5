"""Things written as people read them: the one home for how a page, an export or an API message names them.

A county operator reads "凯里市 › 三棵树镇", "3:05", "周一至周五", "县级", "中文" and "批准了预警", never
"522601100000", "185000", "(0, 1, 2, 3, 4)", "3", "zh" or `alert.approve`. The template filters of
`core/templatetags/people.py` wrap these functions; Python and API code calls them directly.

Duck-typed on purpose: core sits below regions, terminals and accounts in the app layers, so a region
is anything with `name` (and `parent`), a terminal anything with `name`, `code` and `village`, a user
anything with `get_full_name()` and `get_username()`.
"""

from collections.abc import Iterable, Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import get_language_info, gettext_lazy, pgettext_lazy
from django.utils.translation import gettext as _

PATH_SEPARATOR = " / "  # as regions.selectors.region_path_label writes a path
PLACEHOLDER_NAMES = ("市辖区", "县")  # statistical filler rows nobody says aloud


def region_label(region: Any, *, path: bool = False) -> str:
    """A region by its name; with `path`, its parents' names first (for names that repeat, like 新村)."""
    if region is None:
        return ""
    names = [str(getattr(region, "name", "") or region)]
    if path:
        parent = getattr(region, "parent", None)
        # Province to village is five steps; stop there whatever the data says.
        while parent is not None and len(names) < 6 and getattr(parent, "level", 1) > 0:
            if parent.name not in PLACEHOLDER_NAMES:
                names.append(parent.name)
            parent = getattr(parent, "parent", None)
    return PATH_SEPARATOR.join(reversed(names))


def terminal_label(terminal: Any) -> str:
    """A terminal by its name, else by its village; the resource code only when there is nothing else."""
    if terminal is None:
        return ""
    name = (getattr(terminal, "name", "") or "").strip()
    village = getattr(terminal, "village", None)
    village_name = getattr(village, "name", "") if village is not None else ""
    if name and village_name and village_name not in name:
        return f"{name}（{village_name}）" if _is_chinese(name) else f"{name} ({village_name})"
    return name or village_name or str(getattr(terminal, "code", terminal))


def person_label(user: Any) -> str:
    """A person as colleagues name them: full name and login, or the login alone; "" for nobody."""
    if user is None:
        return ""
    login = user.get_username() if hasattr(user, "get_username") else str(user)
    full = (user.get_full_name() if hasattr(user, "get_full_name") else "").strip()
    return f"{full} ({login})" if full and full != login else login


def duration_label(seconds: Any) -> str:
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


def duration_ms_label(milliseconds: Any) -> str:
    """Milliseconds as m:ss (see `duration_label`)."""
    try:
        return duration_label(float(milliseconds) / 1000)
    except (TypeError, ValueError):
        return "—"


# Python's weekday numbers, 0 Monday … 6 Sunday, as the slot model stores them.
WEEKDAY_NAMES = (
    pgettext_lazy("in a set of weekdays", "Monday"),
    pgettext_lazy("in a set of weekdays", "Tuesday"),
    pgettext_lazy("in a set of weekdays", "Wednesday"),
    pgettext_lazy("in a set of weekdays", "Thursday"),
    pgettext_lazy("in a set of weekdays", "Friday"),
    pgettext_lazy("in a set of weekdays", "Saturday"),
    pgettext_lazy("in a set of weekdays", "Sunday"),
)


def weekdays_label(days: Iterable[Any] | None) -> str:
    """A set of weekdays as words: "周一至周五", "周一、周三", "每天"; a run of three or more becomes a range."""
    chosen = sorted({int(d) for d in (days or []) if str(d).strip().lstrip("-").isdigit() and 0 <= int(d) <= 6})
    if not chosen:
        return ""
    if len(chosen) == 7:
        return _("every day")
    runs: list[list[int]] = []
    for day in chosen:
        if runs and day == runs[-1][-1] + 1:
            runs[-1].append(day)
        else:
            runs.append([day])
    parts: list[str] = []
    for run in runs:
        if len(run) >= 3:
            parts.append(_("%(first)s to %(last)s") % {"first": WEEKDAY_NAMES[run[0]], "last": WEEKDAY_NAMES[run[-1]]})
        else:
            parts.extend(str(WEEKDAY_NAMES[d]) for d in run)
    return _(", ").join(parts)


# A tier is the owner's region level (county 3 before township 4 before village 5: the terminal's
# `priority.tier_of`); regions.codes.Level has the same numbers for the regions themselves.
TIER_NAMES: dict[int, Promise] = {
    0: gettext_lazy("national level"),
    1: gettext_lazy("province level"),
    2: gettext_lazy("city level"),
    3: gettext_lazy("county level"),
    4: gettext_lazy("township level"),
    5: gettext_lazy("village level"),
}


def tier_label(tier: Any) -> str:
    """A priority tier by the level it stands for ("县级"); unknown tiers as their number."""
    try:
        return str(TIER_NAMES[int(tier)])
    except (KeyError, TypeError, ValueError):
        return "" if tier is None else str(tier)


LANGUAGE_NAMES: dict[str, Promise] = {
    "zh": gettext_lazy("Chinese"),
    "en": gettext_lazy("English"),
}


def language_label(code: Any) -> str:
    """A language code ("zh", "zh-hans", "en") by its name in the reader's language; "" for none."""
    if not code:
        return ""
    raw = str(code).strip().replace("_", "-").lower()
    if raw.split("-")[0] in LANGUAGE_NAMES:  # the languages our content comes in, named as people say them
        return str(LANGUAGE_NAMES[raw.split("-")[0]])
    for candidate in (raw, raw.split("-")[0]):
        try:
            return str(get_language_info(candidate)["name_translated"])
        except KeyError:
            continue
    return str(code)


def _is_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


def refusal_label(message: Any, fields: Mapping[str, Iterable[Any]] | None = None) -> str:
    """A refusal as one sentence for people: the message, then any field message that adds something,
    without the field's programme name ("— file: …" is for developers, who read the JSON)."""
    text = str(message or "").strip()
    extra = []
    for messages in (fields or {}).values():
        for item in messages:
            said = str(item).strip()
            if said and said not in text and said not in extra:
                extra.append(said)
    return " ".join([text, *extra]).strip()


def change_label(values: Any) -> str:
    """An audit record's before/after mapping as "key: value; …" instead of Python's dict text."""
    if not values:
        return ""
    if isinstance(values, Mapping):
        return "; ".join(f"{key}: {_plain(value)}" for key, value in values.items())
    return _plain(values)


def _plain(value: Any) -> str:
    if isinstance(value, list | tuple | set):
        return ", ".join(_plain(v) for v in value)
    if isinstance(value, Mapping):
        return "{" + change_label(value) + "}"
    if value is None:
        return "—"
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    return str(value)
