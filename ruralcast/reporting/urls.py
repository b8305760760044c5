from django.urls import path

from ruralcast.reporting import views

app_name = "reporting"
urlpatterns = [
    path("", views.index, name="index"),
    path("entry/<slug:code>/", views.entry, name="entry"),
    path("entry/<slug:code>/template.xlsx", views.entry_template, name="entry_template"),
    path("entry/<slug:code>/upload/", views.entry_upload, name="entry_upload"),
    path("completeness/<slug:code>/", views.completeness, name="completeness"),
    path("approval/<slug:code>/", views.approval, name="approval"),
    path("pivot/", views.pivot, name="pivot"),
    path("dashboard/", views.dashboard, name="dashboard"),
    path("circulars/", views.circular_list, name="circulars"),
    path("circulars/<int:pk>/", views.circular_detail, name="circular"),
    path("circulars/<int:pk>/circular.pdf", views.circular_download, name="circular_pdf"),
    path("posts/", views.post_list, name="posts"),
    path("posts/<int:pk>/", views.post_detail, name="post"),
    path("posts/<int:pk>/files/<int:attachment>/", views.post_attachment, name="post_attachment"),
]
