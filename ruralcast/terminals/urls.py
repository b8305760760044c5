from django.urls import path

from ruralcast.terminals import firmware_views, views

app_name = "terminals"
urlpatterns = [
    path("", views.fleet, name="fleet"),
    path("fleet/rates/", views.fleet_rates, name="fleet_rates"),
    path("fleet/map/", views.fleet_map, name="fleet_map"),
    path("all/", views.terminal_list, name="list"),
    path("commands/", views.command_list, name="commands"),
    path("commands/new/", views.command_create, name="command_create"),
    path("commands/<str:key>/", views.command_detail, name="command"),
    path("commands/<str:key>/status/", views.command_status, name="command_status"),
    path("firmware/", firmware_views.release_list, name="firmware_releases"),
    path("firmware/<int:release_id>/", firmware_views.release_detail, name="firmware_release"),
    path("firmware/<int:release_id>/approve/", firmware_views.release_approve, name="firmware_approve"),
    path("firmware/<int:release_id>/reject/", firmware_views.release_reject, name="firmware_reject"),
    path("firmware/<int:release_id>/send/", firmware_views.release_send, name="firmware_send"),
    # What terminals download (u2 serves it through nginx's X-Accel-Redirect in the production shape).
    path("firmware/<str:sha256>.bin", firmware_views.firmware_file, name="firmware"),
    path("export.<str:fmt>", views.terminal_export, name="export"),
    path("import/", views.terminal_import, name="import"),
    path("import/template.<str:fmt>", views.terminal_import_template, name="import_template"),
    path("new/", views.terminal_create, name="create"),
    path("provision.zip", views.terminals_provision_zip, name="provision_zip"),
    path("<str:code>/", views.terminal_detail, name="detail"),
    path("<str:code>/edit/", views.terminal_edit, name="edit"),
    path("<str:code>/revoke/", views.terminal_revoke, name="revoke"),
    path("<str:code>/provision/", views.terminal_provision, name="provision"),
    path("<str:code>/label/", views.terminal_label, name="label"),
]
