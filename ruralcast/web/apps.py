from django.apps import AppConfig


class WebConfig(AppConfig):
    name = "ruralcast.web"
    label = "web"
