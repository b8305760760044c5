"""Pages of the villagers' portal: the TV's ten-foot screens and the same pages on a phone."""

from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse

from ruralcast.villagers.selectors import portal_screen, screen_for_request


def home(request: HttpRequest) -> HttpResponse:
    """The home screen: rails of large tiles for the screen's village (or the top region)."""
    screen = screen_for_request(request)
    return TemplateResponse(request, "portal/home.html", {"screen": screen, "portal_screen": portal_screen(screen)})
