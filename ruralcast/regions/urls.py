from django.urls import path

from ruralcast.regions import views

app_name = "regions"
urlpatterns = [
    path("", views.browse, name="browse"),
    path("picker/", views.picker, name="picker"),
    path("designations/", views.designations, name="designations"),
    path("designations/import/", views.designation_import_view, name="designation_import"),
    path("designations/<slug:key>/", views.designation_detail, name="designation"),
    path("designations/<slug:key>/export.csv", views.designation_export, name="designation_export"),
    path("<str:code>/", views.browse, name="detail"),
]
