from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ruralcast.ops"
    label = "ops"
