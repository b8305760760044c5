from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "ruralcast.core"
    label = "core"
