"""Chinese first: the console speaks zh-Hans unless the person chose another language.

Django's LocaleMiddleware would follow the browser's Accept-Language, so a county office PC with
an English system would get an English console nobody asked for. Here only an explicit choice
(the language switch, stored in the language cookie) changes the language.

The API (`/api/`) is read by programs, which say what they want: there the caller's
`Accept-Language` is honoured when it names a language we have (`en`, `en-US`, `zh-CN`, …), and the
person's choice (the cookie), then Chinese, is the fallback.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.translation.trans_real import parse_accept_lang_header


class ChosenLanguageMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request: HttpRequest) -> HttpResponse:
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        language = chosen if chosen in self.supported else settings.LANGUAGE_CODE
        api = request.path.startswith("/api/")
        if api:
            language = self._accepted(request.headers.get("Accept-Language", "")) or language
        translation.activate(language)
        request.LANGUAGE_CODE = language
        response = self.get_response(request)
        patch_vary_headers(response, ("Cookie", "Accept-Language") if api else ("Cookie",))
        response.headers.setdefault("Content-Language", language)
        return response

    def _accepted(self, header: str) -> str | None:
        """The first language of an Accept-Language header that we have (`zh-CN` → zh-hans)."""
        for tag, _quality in parse_accept_lang_header(header):
            try:
                found = translation.get_supported_language_variant(tag)
            except LookupError:
                found = "zh-hans" if tag.lower().startswith("zh") else ""
            if found in self.supported:
                return found
        return None
