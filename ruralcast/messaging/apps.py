from django.apps import AppConfig
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from ruralcast.messaging.health import broker_check
from ruralcast.ops.health import register_check


class MessagingConfig(AppConfig):
    name = "ruralcast.messaging"
    label = "messaging"
    verbose_name = _("Messaging")

    def ready(self) -> None:
        from ruralcast.messaging.handlers import register_outbox_handler, register_uplink_handler
        from ruralcast.messaging.timesync import TIME_OUTBOX_KIND, build_time_answer, time_requests_store
        from ruralcast.messaging.topics import TIME

        register_uplink_handler(TIME, time_requests_store)
        register_outbox_handler(TIME_OUTBOX_KIND, build_time_answer)
        # Only where the environment names a broker (RURALCAST_MQTT_HOST/PORT): a developer running
        # the test suite has none, and /healthz must not report them unhealthy for it.
        if settings.RURALCAST_MQTT.get("CONFIGURED"):
            register_check("broker", broker_check)
