from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PushConfig(AppConfig):
    name = "ruralcast.push"
    label = "push"
    verbose_name = _("Emergency overlay push")

    def ready(self) -> None:
        # The fallback poll, mounted by the portal under /portal/push/ (its event stream,
        # /portal/push/events, is served beside Django by config/asgi.py).
        from ruralcast.core.registries.portal import register_pages
        from ruralcast.push.portal import PAGES

        register_pages(PAGES)
