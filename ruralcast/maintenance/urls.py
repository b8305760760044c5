from django.urls import path

from ruralcast.maintenance import views

app_name = "maintenance"
urlpatterns = [
    path("", views.order_list, name="list"),
    path("statistics/", views.statistics, name="statistics"),
    path("export.<str:fmt>", views.order_export, name="export"),
    path("<int:pk>/", views.order_detail, name="detail"),
    path("<int:pk>/photos/<int:note_id>/", views.note_photo, name="photo"),
]
