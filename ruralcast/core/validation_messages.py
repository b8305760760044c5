"""Pydantic's validation messages in the request's language, for the API's 400 answers.

Ninja validates bodies and queries with pydantic, whose messages are English ("Field required").
The API answers in the language of the request (Accept-Language or the user's choice), so a Chinese
client read "请求无效" next to "Field required". Each error carries a stable `type`; this table gives
the ones our schemas can raise words in the catalogue. An unknown type keeps pydantic's text, and a
message our own validators wrote (`value_error`) is already translated: only pydantic's prefix goes.
"""

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

MESSAGES: dict[str, Promise] = {
    "missing": gettext_lazy("This field is required."),
    "string_type": gettext_lazy("Send text here."),
    "string_too_short": gettext_lazy("At least %(min_length)s characters."),
    "string_too_long": gettext_lazy("At most %(max_length)s characters."),
    "string_pattern_mismatch": gettext_lazy("This is not in the expected form."),
    "int_type": gettext_lazy("Enter a whole number."),
    "int_parsing": gettext_lazy("Enter a whole number."),
    "int_from_float": gettext_lazy("Enter a whole number."),
    "float_type": gettext_lazy("Enter a number."),
    "float_parsing": gettext_lazy("Enter a number."),
    "decimal_parsing": gettext_lazy("Enter a number."),
    "decimal_type": gettext_lazy("Enter a number."),
    "bool_type": gettext_lazy("Enter true or false."),
    "bool_parsing": gettext_lazy("Enter true or false."),
    "greater_than": gettext_lazy("Must be more than %(gt)s."),
    "greater_than_equal": gettext_lazy("Must be at least %(ge)s."),
    "less_than": gettext_lazy("Must be less than %(lt)s."),
    "less_than_equal": gettext_lazy("Must be at most %(le)s."),
    "date_type": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "date_parsing": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "date_from_datetime_parsing": gettext_lazy("Enter a date (YYYY-MM-DD)."),
    "datetime_type": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "datetime_from_date_parsing": gettext_lazy("Enter a date and time (ISO 8601)."),
    "time_parsing": gettext_lazy("Enter a time (HH:MM)."),
    "time_type": gettext_lazy("Enter a time (HH:MM)."),
    "literal_error": gettext_lazy("Choose one of: %(expected)s."),
    "enum": gettext_lazy("Choose one of: %(expected)s."),
    "list_type": gettext_lazy("Send a list here."),
    "too_short": gettext_lazy("At least %(min_length)s items."),
    "too_long": gettext_lazy("At most %(max_length)s items."),
    "dict_type": gettext_lazy("Send an object here."),
    "model_type": gettext_lazy("Send an object here."),
    "model_attributes_type": gettext_lazy("Send an object here."),
    "extra_forbidden": gettext_lazy("This field is not accepted here."),
    "json_invalid": gettext_lazy("The body is not valid JSON."),
    "uuid_parsing": gettext_lazy("Enter a valid identifier."),
    "url_parsing": gettext_lazy("Enter a valid address (URL)."),
}

_OWN_PREFIXES = ("Value error, ", "Assertion failed, ")


def validation_message(item: Mapping[str, Any]) -> str:
    """One pydantic error (an item of `errors()`) as a sentence in the active language."""
    kind = str(item.get("type", ""))
    said = str(item.get("msg", ""))
    if kind in ("value_error", "assertion_error"):
        for prefix in _OWN_PREFIXES:
            if said.startswith(prefix):
                return said[len(prefix) :]
        return said
    template = MESSAGES.get(kind)
    if template is None:
        return said or _("This value is not valid.")
    context = dict(item.get("ctx") or {})
    try:
        return str(template) % context if "%(" in str(template) else str(template)
    except (KeyError, TypeError, ValueError):
        return said
