from django.urls import path

from ruralcast.notifications import views

app_name = "notifications"
urlpatterns = [
    path("", views.inbox, name="inbox"),
    path("<int:pk>/open/", views.notification_open, name="open"),
    path("contact/", views.contact, name="contact"),
    path("duty/", views.roster, name="roster"),
    path("deliveries/", views.deliveries, name="deliveries"),
]
