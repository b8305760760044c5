from django.urls import path

from ruralcast.security import views

app_name = "security"
urlpatterns = [
    path("", views.panel, name="panel"),
    path("events.csv", views.export, name="export"),
]
