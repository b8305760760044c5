from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _


class SigningConfig(AppConfig):
    name = "ruralcast.signing"
    label = "signing"
    verbose_name = _("Signing keys")

    def ready(self) -> None:
        from ruralcast.messaging.handlers import register_outbox_handler
        from ruralcast.signing.trust import TRUST_OUTBOX_KIND, build_trust_update

        checks.register(signing_alg_check)
        register_outbox_handler(TRUST_OUTBOX_KIND, build_trust_update)


def signing_alg_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """RURALCAST_SIGNING_ALG names an algorithm the terminals understand."""
    from ruralcast_terminal.crypto import ALGORITHMS

    alg = getattr(settings, "RURALCAST_SIGNING_ALG", None)
    if alg in ALGORITHMS:
        return []
    return [
        checks.Error(
            f"RURALCAST_SIGNING_ALG is {alg!r}; it must be one of {', '.join(ALGORITHMS)}.",
            id="signing.E001",
        )
    ]
