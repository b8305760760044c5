"""The portal's notice board (公告栏): short notices a village or township posts for its screens.

A `Notice` belongs to one region. A household screen sees the notices of its own village and of
every region above it (its township, county, …), never a neighbour's: a township's notice reaches
all its villages, a village's only that village. An unpaired screen sees the deployment's top
region's notices only. Notices are posted from the console by someone who may edit content in the
notice's region (scoped by the *notice's* region, recorded in the audit trail) and show until they
expire. The columns issue (栏目) replaces this board with full columns later; until then it is
deliberately small: a title short enough to read aloud, a body, an expiry.
"""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

TITLE_MAX = 40


class Notice(models.Model):
    region = models.ForeignKey(
        "regions.Region", on_delete=models.PROTECT, related_name="+", verbose_name=_("village or township")
    )
    title = models.CharField(_("title"), max_length=TITLE_MAX)
    body = models.TextField(_("text"), blank=True)
    posted_at = models.DateTimeField(_("posted"), auto_now_add=True, db_index=True)
    expires_at = models.DateTimeField(_("shown until"))
    posted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["-posted_at", "-pk"]
        verbose_name = _("notice")
        verbose_name_plural = _("notices")
        indexes = [models.Index(fields=["region", "expires_at"], name="portal_notice_region_expiry")]

    def __str__(self) -> str:
        return self.title
