"""URL map: console pages, the API under /api/v1, operations endpoints."""

from django.urls import include, path

from config.api import api
from ruralcast.core.registries.portal import portal_urlpatterns
from ruralcast.ops import views as ops_views

urlpatterns = [
    path("", include("ruralcast.web.urls")),
    path("accounts/", include("ruralcast.accounts.urls")),
    path("regions/", include("ruralcast.regions.urls")),
    path("audit/", include("ruralcast.audit.urls")),
    path("security/", include("ruralcast.security.urls")),
    path("alerts/", include("ruralcast.alerts.urls")),
    path("reporting/", include("ruralcast.reporting.urls")),
    path("broadcasting/", include("ruralcast.broadcasting.urls")),
    path("live/", include("ruralcast.live.urls")),
    path("media/", include("ruralcast.media.urls")),
    path("terminals/", include("ruralcast.terminals.urls")),
    path("maintenance/", include("ruralcast.maintenance.urls")),
    path("notifications/", include("ruralcast.notifications.urls")),
    path("villagers/", include("ruralcast.villagers.urls")),
    path("portal/", include("ruralcast.portal.urls")),
    # The apps' portal pages (registered in their AppConfig.ready(), which has run by now).
    path("portal/", include(portal_urlpatterns())),
    path("i18n/", include("django.conf.urls.i18n")),
    path("api/v1/", api.urls),
    path("healthz", ops_views.healthz, name="healthz"),
    path("metrics", ops_views.metrics, name="prometheus-django-metrics"),
    # Browsers ask for /favicon.ico on pages without an icon link (the API docs, error pages of nginx).
    path("favicon.ico", ops_views.favicon, name="favicon"),
]

handler400 = "ruralcast.web.errors.handler400"
handler403 = "ruralcast.web.errors.handler403"
handler404 = "ruralcast.web.errors.handler404"
handler500 = "ruralcast.web.errors.handler500"
