from django.urls import path

from ruralcast.live import views

app_name = "live"
urlpatterns = [
    path("", views.live_index, name="index"),
    path("start/", views.live_start, name="start"),
    path("<int:session_id>/", views.live_detail, name="detail"),
    path("<int:session_id>/status/", views.live_status, name="status"),
    path("<int:session_id>/stop/", views.live_stop, name="stop"),
]
