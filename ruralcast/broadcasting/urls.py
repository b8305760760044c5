from django.urls import path

from ruralcast.broadcasting import views

app_name = "broadcasting"
urlpatterns = [
    path("", views.schedule_list, name="schedules"),
    path("schedules/new/", views.schedule_create, name="schedule_create"),
    path("schedules/<int:schedule_id>/", views.schedule_detail, name="schedule"),
    path("schedules/<int:schedule_id>/edit/", views.schedule_edit, name="schedule_edit"),
    path("schedules/<int:schedule_id>/delete/", views.schedule_delete, name="schedule_delete"),
    path("schedules/<int:schedule_id>/slots/new/", views.slot_create, name="slot_create"),
    path("schedules/<int:schedule_id>/slots/check/", views.slot_check, name="slot_check"),
    path("slots/<int:slot_id>/edit/", views.slot_edit, name="slot_edit"),
    path("slots/<int:slot_id>/delete/", views.slot_delete, name="slot_delete"),
    path("library/", views.library, name="library"),
    path("library/speech/", views.item_speech, name="item_speech"),
    path("library/upload/", views.item_upload, name="item_upload"),
    path("library/<int:item_id>/edit/", views.item_edit, name="item_edit"),
    path("library/<int:item_id>/delete/", views.item_delete, name="item_delete"),
    path("playlists/", views.playlist_list, name="playlists"),
    path("playlists/new/", views.playlist_create, name="playlist_create"),
    path("playlists/<int:playlist_id>/", views.playlist_detail, name="playlist"),
    path("playlists/<int:playlist_id>/edit/", views.playlist_edit, name="playlist_edit"),
    path("playlists/<int:playlist_id>/change/", views.playlist_change, name="playlist_change"),
    path("playlists/<int:playlist_id>/delete/", views.playlist_delete, name="playlist_delete"),
    path("effective/", views.effective, name="effective"),
    path("playlogs/", views.playlogs, name="playlogs"),
    path("audio/<str:sha256>.mp3", views.audio, name="audio"),
]
