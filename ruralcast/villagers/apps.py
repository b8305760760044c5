from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class VillagersConfig(AppConfig):
    name = "ruralcast.villagers"
    label = "villagers"
    verbose_name = _("Villagers, households and screens")
