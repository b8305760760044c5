"""Test-only URLs: every real one, plus a portal page with a playing <video> (the portal's home and
player are built elsewhere; this page extends portal/base.html like them, overlay included)."""

from pathlib import Path

from django.http import HttpRequest, HttpResponse
from django.template import engines
from django.urls import path

from config.urls import urlpatterns as real_urlpatterns

CLIP: dict[str, Path] = {}

PAGE = """{% extends "portal/base.html" %}{% block content %}
<a href="#" id="tile" class="tile">节目</a>
<video id="video" src="/test-push/clip.webm" muted autoplay loop playsinline></video>
{% endblock %}"""


def video_page(request: HttpRequest) -> HttpResponse:
    return HttpResponse(engines["django"].from_string(PAGE).render({}, request))


def clip(request: HttpRequest) -> HttpResponse:
    return HttpResponse(CLIP["path"].read_bytes(), content_type="video/webm")


urlpatterns = [
    path("test-push/video/", video_page),
    path("test-push/clip.webm", clip),
    *real_urlpatterns,
]
