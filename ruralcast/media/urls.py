from django.urls import path

from ruralcast.media import views

app_name = "media"
urlpatterns = [
    path("", views.catalogue, name="catalogue"),
    path("upload/", views.asset_upload, name="upload"),
    path("a/<str:uid>/", views.asset_detail, name="detail"),
    path("a/<str:uid>/embed/", views.asset_embed, name="embed"),
    path("f/<str:key>/<path:path>", views.media_file, name="file"),
    path("jobs/<int:job_id>/", views.job_status, name="job"),
    path("jobs/<int:job_id>/retry/", views.job_retry, name="job_retry"),
    path("live/", views.live_list, name="live_list"),
    path("live/new/", views.live_create, name="live_create"),
    path("live/<str:uid>/", views.live_detail, name="live_detail"),
    path("live/<str:uid>/status/", views.live_status, name="live_status"),
    path("live/<str:uid>/end/", views.live_end, name="live_end"),
    path("l/<str:key>/<str:path>", views.live_file, name="live_file"),
    path("ingest/<str:uid>/<str:secret>/<str:name>", views.ingest, name="ingest"),
    path("collections/", views.collection_list, name="collections"),
    path("collections/<str:uid>/", views.collection_detail, name="collection"),
]
