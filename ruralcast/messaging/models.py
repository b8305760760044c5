"""The transactional outbox: what the platform has decided to publish over MQTT.

A domain write (an alert's approval) and its `OutboxMessage` row commit in one database transaction,
so an approved alert is never left unpublished and nothing is published for a write that rolled
back. The dispatcher (`messaging.dispatcher`) then publishes each pending row:

1. prepare: on the first attempt, the registered handler builds the messages and the dispatcher
   signs them; the exact bytes are stored in `messages` and committed *before* anything is sent;
2. publish every message at QoS 1 and wait for the broker's PUBACKs;
3. mark the row published (and run the handler's `on_published`) in one transaction.

A crash between any two steps leaves a pending row whose stored bytes are sent again, identical,
so terminals (which drop a repeated `ebm_id` + `msg_type`) act on it once.

A pending (or failed) row can be *withdrawn* (`outbox_withdraw`): no dispatcher publishes it after
that. A row withdrawn before step 1 stored its bytes never reached the broker; once its bytes are
stored, some may be out (a dispatcher may be publishing them, or waiting for the PUBACKs of a copy
the broker has received), so the caller must treat it as possibly published.
"""

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxState(models.TextChoices):
    PENDING = "pending", _("pending")
    PUBLISHED = "published", _("published")
    FAILED = "failed", _("failed")
    WITHDRAWN = "withdrawn", _("withdrawn")


class OutboxMessage(models.Model):
    kind = models.CharField(_("kind"), max_length=50)
    key = models.CharField(_("key"), max_length=100)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    state = models.CharField(_("state"), max_length=10, choices=OutboxState.choices, default=OutboxState.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    # When the dispatcher may try again after a failure (backoff); due at once when created.
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    # The prepared messages, filled once on the first attempt:
    # [{"topic": str, "retain": bool, "qos": 0|1, "payload_b64": base64 of the exact bytes}]
    messages = models.JSONField(_("messages"), default=list, blank=True)
    prepared_at = models.DateTimeField(_("prepared at"), null=True, blank=True)
    published_at = models.DateTimeField(_("published at"), null=True, blank=True)

    class Meta:
        ordering = ["id"]
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox messages")
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="messaging_outbox_kind_key_unique")]
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="messaging_outbox_due")]

    def __str__(self) -> str:
        return f"{self.kind}:{self.key}"


class RetainedMessage(models.Model):
    """What the broker holds retained on one topic, as the platform last published it.

    Written with the outbox row's mark (step 3), so it is what the platform believes is out. The
    broker saves its retained messages to disk only every few seconds: after a crash it may come
    back with an older state (an alert missing, or one that was cleared since). The dispatcher
    therefore publishes these again, identical bytes, each time its connection to the broker is
    (re)established. An empty payload is a clearing; those are kept a day (`RETAINED_CLEAR_KEEP`).
    """

    topic = models.CharField(_("topic"), max_length=200, unique=True)
    payload = models.BinaryField(_("payload"), blank=True)
    published_at = models.DateTimeField(_("published at"), default=timezone.now)

    class Meta:
        ordering = ["published_at", "id"]
        verbose_name = _("retained message")
        verbose_name_plural = _("retained messages")

    def __str__(self) -> str:
        return self.topic
