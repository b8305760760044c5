"""Speech in the villagers' portal: the read-aloud audio of a focused tile's title (读给我听).

The portal's read-aloud option (static/portal/portal.js) asks for
`/portal/speech/<language>/<sha256 of the text>.mp3?text=…` and plays the answer. The page is this
app's, mounted through the portal registry like any app's pages (namespace `portal-speech`), so the
portal itself never imports the speech engine: it only knows the URL. The audio is made by
`speech_synthesize` (espeak-ng) and cached in its store, keyed by content; the address is keyed by
the text, so one URL always means the same audio and browsers and proxies may keep it for a year.
"""

import hashlib
from urllib.parse import urlencode

from django.core.files.storage import default_storage
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from ruralcast.core.errors import ValidationError
from ruralcast.core.registries.portal import Pages
from ruralcast.speech.services import MP3_MIME, speech_synthesize

# A tile title read aloud: longer text is not a title (a notice's body is not read).
SPEAK_MAX = 80
_ONE_YEAR = 365 * 24 * 3600


def speech_key(text: str) -> str:
    """The key of a text in the read-aloud address: the SHA-256 (hex) of its UTF-8 bytes."""
    return hashlib.sha256(text.encode()).hexdigest()


@require_GET
def speech(request: HttpRequest, language: str, digest: str) -> HttpResponseBase:
    """A tile title read aloud (MP3, `audio/mpeg`), for the portal's read-aloud option.

    The text comes along as `?text=` and must match `digest`; at most SPEAK_MAX characters. A
    second request for the same text runs no engine (speech_synthesize's cache)."""
    text = request.GET.get("text", "").strip()
    if speech_key(text) != digest:
        raise ValidationError(
            _("The text does not match its key: ask for /portal/speech/<language>/<sha256 of the text>.mp3?text=…"),
            fields={"text": [_("Does not match the key in the address.")]},
        )
    if len(text) > SPEAK_MAX:
        raise ValidationError(
            _("Only tile titles are read aloud: at most %(limit)s characters.") % {"limit": SPEAK_MAX},
            fields={"text": [_("Too long.")]},
        )
    audio = speech_synthesize(text=text, language=language)
    response = FileResponse(default_storage.open(audio.name, "rb"), content_type=MP3_MIME)
    response["Cache-Control"] = f"public, max-age={_ONE_YEAR}, immutable"
    response["Content-Length"] = str(audio.size)
    return response


@require_GET
def speech_redirect(request: HttpRequest, language: str) -> HttpResponse:
    """The keyed address of `?text=`, for browsers without crypto.subtle (plain http on a village LAN)."""
    text = request.GET.get("text", "").strip()
    url = reverse("portal-speech:speech", args=[language, speech_key(text)])
    return redirect(f"{url}?{urlencode({'text': text})}")


PAGES = [
    Pages(
        "speech",
        patterns=[
            path("<str:language>/<str:digest>.mp3", speech, name="speech"),
            path("<str:language>/", speech_redirect, name="speech_redirect"),
        ],
    )
]
