"""Helpers for files people open in spreadsheet programs."""

from typing import Any

_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: Any) -> Any:
    """Neutralise text a spreadsheet would run as a formula (CSV injection, OWASP): prefix a quote.

    Numbers stay numbers; only strings that begin like a formula are changed.
    """
    if isinstance(value, str) and value.startswith(_FORMULA_STARTS):
        return "'" + value
    return value


def safe_row(values: list[Any]) -> list[Any]:
    return [spreadsheet_safe(value) for value in values]
