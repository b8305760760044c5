"""The villagers' portal's own pages under /portal/. Every app's registered pages are mounted beside
them by config/urls.py (core.registries.portal.portal_urlpatterns, under /portal/<prefix>/)."""

from django.urls import path

from ruralcast.portal import views
from ruralcast.portal.push import views as push_views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    # The emergency overlay's fallback poll; its event stream is served beside Django (config/asgi.py).
    path("push/poll", push_views.poll, name="push-poll"),
]
