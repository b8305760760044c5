from django.urls import path

from ruralcast.villagers import views

app_name = "villagers"
urlpatterns = [
    path("screens/", views.screen_list, name="screens"),
    path("screens/pair/", views.screen_pair, name="screen_pair"),
    path("screens/<int:pk>/revoke/", views.screen_revoke, name="screen_revoke"),
]
