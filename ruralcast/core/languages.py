"""Language codes as the platform writes them: an alert's translations and a terminal's preference.

One check for both: an alert's languages (`alerts.translations`) and the ordered list of languages a
terminal plays (`terminals`, provisioned as `languages`, docs/protocols.md §4) take ISO 639 codes
(`zho`, `iii`, `eng`, or a two-letter code), optionally with a region or script subtag (`zh-CN`),
within the 8 characters an alert translation stores. Pure functions, no models: every app may call them.
"""

import re

from django.utils.translation import gettext as _

# ISO 639-1/2/3 code, optionally followed by subtags (RFC 5646 shape), within the 8 characters stored.
LANGUAGE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{1,4})?$")
# A terminal's preference names at most this many languages (an alert carries at most 1 + 8).
MAX_PREFERENCE = 9
# How people separate codes when they type a list: commas (also Chinese ones), 、, semicolons, spaces.
_SEPARATORS = re.compile(r"[\s,，、;；]+")


def is_language_code(code: str) -> bool:
    """Whether `code` is a language code the platform accepts (see the module docstring)."""
    return bool(LANGUAGE_RE.match(code))


def language_list_parse(text: str) -> list[str]:
    """The codes in a typed list ("iii, zho", "iii、zho", "iii zho"), in order, as typed (unchecked)."""
    return [code for code in _SEPARATORS.split(text or "") if code]


def language_list_problems(codes: list[str]) -> list[str]:
    """Why `codes` cannot be an ordered language preference (empty: it can; [] is fine too)."""
    problems: list[str] = []
    bad = [code for code in codes if not isinstance(code, str) or not is_language_code(code)]
    if bad:
        problems.append(
            _("Not a language code: %(codes)s. Give codes such as iii, zho or eng, most preferred first.")
            % {"codes": ", ".join(str(code) for code in bad)}
        )
    twice = sorted({code for code in codes if isinstance(code, str) and codes.count(code) > 1})
    if twice:
        problems.append(_("Each language once: %(codes)s appears twice.") % {"codes": ", ".join(twice)})
    if len(codes) > MAX_PREFERENCE:
        problems.append(_("At most %(count)d languages.") % {"count": MAX_PREFERENCE})
    return problems
