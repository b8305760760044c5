from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core import checks
from django.utils.translation import gettext_lazy as _
from ruralcast_terminal.crypto import ALGORITHMS


class SigningConfig(AppConfig):
    name = "ruralcast.signing"
    label = "signing"
    verbose_name = _("Signing keys")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.messaging.handlers import register_outbox_handler, register_payload_signer
        from ruralcast.signing.services import payload_sign
        from ruralcast.signing.trust import TRUST_OUTBOX_KIND, build_trust_update

        checks.register(signing_alg_check)
        register_outbox_handler(TRUST_OUTBOX_KIND, build_trust_update)
        # The dispatcher seals what it publishes with the active key; messaging asks through this door.
        register_payload_signer(lambda payload: payload_sign(payload=payload))


def signing_alg_check(app_configs: Any = None, **kwargs: Any) -> list[checks.CheckMessage]:
    """RURALCAST_SIGNING_ALG names an algorithm the terminals understand."""
    alg = getattr(settings, "RURALCAST_SIGNING_ALG", None)
    if alg in ALGORITHMS:
        return []
    return [
        checks.Error(
            f"RURALCAST_SIGNING_ALG is {alg!r}; it must be one of {', '.join(ALGORITHMS)}.",
            id="signing.E001",
        )
    ]
