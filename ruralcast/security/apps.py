from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SecurityConfig(AppConfig):
    name = "ruralcast.security"
    label = "security"
    verbose_name = _("Security events")

    def ready(self) -> None:
        # Imports here: models are not loaded when apps.py is imported.
        from django.contrib.auth.signals import user_login_failed

        from ruralcast.security.logins import on_login_failed
        from ruralcast.security.metrics import metrics_register

        user_login_failed.connect(on_login_failed, dispatch_uid="security.login_failed")
        metrics_register()
