"""The API's request parser: JSON and query strings, refusing text no database column can hold.

PostgreSQL text cannot contain NUL (U+0000); SQLite silently truncates at it. Django's forms refuse
it in the console (ProhibitNullCharactersValidator); this does the same for every API input, so such
a request is a clear 400 instead of a database error.
"""

from typing import Any

from django.http import HttpRequest
from django.utils.datastructures import MultiValueDict
from django.utils.translation import gettext as _
from ninja.parser import Parser

from ruralcast.core.errors import ValidationError


def _reject_nul(value: Any, path: str = "") -> None:
    if isinstance(value, str):
        if "\x00" in value:
            raise ValidationError(
                _("Text may not contain the NUL character (U+0000)."), fields={path or "request": [_("Remove U+0000.")]}
            )
    elif isinstance(value, dict):
        for key, item in value.items():
            _reject_nul(str(key), path)
            _reject_nul(item, f"{path}.{key}" if path else str(key))
    elif isinstance(value, list):
        for item in value:
            _reject_nul(item, path)


class StrictParser(Parser):
    def parse_body(self, request: HttpRequest) -> Any:
        data = super().parse_body(request)
        _reject_nul(data)
        return data

    def parse_querydict(self, data: MultiValueDict[str, Any], list_fields: list[str], request: HttpRequest) -> Any:
        result = super().parse_querydict(data, list_fields, request)
        _reject_nul(result)
        return result
