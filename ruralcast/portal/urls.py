"""The villagers' portal under /portal/: its own pages, then every app's registered pages
(core.registries.portal.portal_urlpatterns, mounted under /portal/<prefix>/)."""

from django.urls import path

from ruralcast.core.registries.portal import portal_urlpatterns
from ruralcast.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
]


def all_urlpatterns() -> list:
    """The portal's own pages and, beside them (outside the `portal` namespace), the apps' pages.
    Called once from config/urls.py after every AppConfig.ready() has registered its pages."""
    return portal_urlpatterns()
