from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class MediaConfig(AppConfig):
    name = "ruralcast.media"
    label = "media"
    verbose_name = _("Media")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.media import services, tasks

        services.job_enqueue_set(lambda job_id: str(tasks.media_job_run.enqueue(job_id).id))
