from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _

from ruralcast.core.registries.portal import register_pages, register_rail, register_tile_type


class MediaConfig(AppConfig):
    name = "ruralcast.media"
    label = "media"
    verbose_name = _("Media")

    def ready(self) -> None:
        # Imported here, not at the top: Django imports this module before the app registry is
        # ready, and these modules import models.
        from ruralcast.media import portal, services, tasks

        services.job_enqueue_set(lambda job_id: str(tasks.media_job_run.enqueue(job_id).id))
        for tile_type in portal.TILE_TYPES:
            register_tile_type(tile_type)
        for rail in portal.RAILS:
            register_rail(rail)
        for pages in portal.PAGES:
            register_pages(pages)
