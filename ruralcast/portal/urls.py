"""The villagers' portal's own pages under /portal/. Every app's registered pages are mounted beside
them by config/urls.py (core.registries.portal.portal_urlpatterns, under /portal/<prefix>/)."""

from django.urls import path

from ruralcast.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
]
