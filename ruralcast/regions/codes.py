"""Statistical division codes: 12 digits, province 2 + city 2 + county 2 + township 3 + village 3.

A region's *prefix* is the part of its code that its descendants share (a county `522632000000` has
prefix `522632`), so the whole subtree of a region is the range of codes between prefix+"000…" and
prefix+"999…". That range is how every subtree query in ruralcast is written: one indexed range scan
on both SQLite and PostgreSQL, never a recursive walk up or down `parent`.

The synthetic national root `000000000000` has the empty prefix and so covers every region.
"""

from django.db.models import IntegerChoices, Q
from django.utils.translation import gettext_lazy as _

CODE_LENGTH = 12
NATIONAL_CODE = "0" * CODE_LENGTH


class Level(IntegerChoices):
    NATIONAL = 0, _("National")
    PROVINCE = 1, _("Province")
    CITY = 2, _("City")
    COUNTY = 3, _("County")
    TOWNSHIP = 4, _("Township")
    VILLAGE = 5, _("Village")


PREFIX_LENGTH: dict[int, int] = {
    Level.NATIONAL: 0,
    Level.PROVINCE: 2,
    Level.CITY: 4,
    Level.COUNTY: 6,
    Level.TOWNSHIP: 9,
    Level.VILLAGE: 12,
}


def is_valid_code(code: str) -> bool:
    """True for a string of exactly 12 ASCII digits."""
    return len(code) == CODE_LENGTH and code.isascii() and code.isdigit()


def level_of_code(code: str) -> int:
    """The level a well-formed code denotes, read from its trailing zeros."""
    if code == NATIONAL_CODE:
        return Level.NATIONAL
    for level in (Level.VILLAGE, Level.TOWNSHIP, Level.COUNTY, Level.CITY):
        start = PREFIX_LENGTH[level - 1]
        if code[start : PREFIX_LENGTH[level]].strip("0"):
            return level
    return Level.PROVINCE


def prefix_of(code: str, level: int) -> str:
    """The shared prefix of the subtree rooted at `code`."""
    return code[: PREFIX_LENGTH[level]]


def pad(short_code: str) -> str:
    """A 2/4/6/9-digit code padded with zeros to the full 12 digits."""
    return short_code.ljust(CODE_LENGTH, "0")


def ancestor_codes(code: str, level: int) -> list[str]:
    """Codes of every ancestor, root first, derived from the code alone (no query)."""
    codes = [NATIONAL_CODE]
    for upper in range(Level.PROVINCE, level):
        ancestor = pad(code[: PREFIX_LENGTH[upper]])
        # A city without counties (东莞 441900000000) is also its townships' county: list it once.
        if ancestor != codes[-1] and ancestor != code:
            codes.append(ancestor)
    return codes


def subtree_q(prefix: str, field: str = "code") -> Q:
    """Filter for every code in the subtree with this prefix, as an index-friendly range."""
    if not prefix:
        return Q()
    return Q(**{f"{field}__gte": prefix.ljust(CODE_LENGTH, "0"), f"{field}__lte": prefix.ljust(CODE_LENGTH, "9")})
