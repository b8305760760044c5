from django.urls import path

from ruralcast.alerts import views
from ruralcast.alerts.feeds import views as feed_views

app_name = "alerts"
urlpatterns = [
    path("", views.alert_list, name="list"),
    path("new/", views.alert_create, name="create"),
    path("audio/<str:sha256>.mp3", views.audio, name="audio"),
    path("import/", views.alert_import, name="import"),
    path("feeds/", feed_views.feed_list, name="feeds"),
    path("feeds/new/", feed_views.feed_create, name="feed_create"),
    path("feeds/<int:feed_id>/", feed_views.feed_detail, name="feed"),
    path("feeds/<int:feed_id>/poll/", feed_views.feed_poll, name="feed_poll"),
    path("feeds/<int:feed_id>/delete/", feed_views.feed_delete, name="feed_delete"),
    path("<str:ebm_id>/", views.alert_detail, name="detail"),
    path("<str:ebm_id>/edit/", views.alert_edit, name="edit"),
    path("<str:ebm_id>/status/", views.alert_status, name="status"),
    path("<str:ebm_id>/proof.<str:fmt>", views.proof_export, name="proof"),
    path("<str:ebm_id>/<str:action>/", views.alert_action, name="action"),
]
