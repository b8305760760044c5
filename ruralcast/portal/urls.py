"""The villagers' portal's own pages under /portal/. Every app's registered pages are mounted beside
them by config/urls.py (core.registries.portal.portal_urlpatterns, under /portal/<prefix>/)."""

from django.urls import path

from ruralcast.portal import views

app_name = "portal"

urlpatterns = [
    path("", views.home, name="home"),
    path("notices/<int:notice_id>/", views.notice, name="notice"),
    # The console's page for the notice board (staff, logged in).
    path("console/notices/", views.notice_board, name="notice_board"),
    path("console/notices/<int:notice_id>/withdraw/", views.notice_withdraw, name="notice_withdraw"),
]
