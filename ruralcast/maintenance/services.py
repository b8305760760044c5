"""Writes on work orders by people: take one, add a note or photo, resolve it by hand."""

import secrets

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.core.filetypes import content_type_of_upload, extension_for
from ruralcast.maintenance.models import OrderState, WorkOrder, WorkOrderNote
from ruralcast.regions.selectors import region_get

PHOTO_MAX_BYTES = 8 * 1024 * 1024
# JPEG, PNG, WebP by their first bytes (the name and the browser's declared type prove nothing).
PHOTO_TYPES = frozenset({"image/jpeg", "image/png", "image/webp"})


def _require(actor: User, order: WorkOrder) -> None:
    access_require(user=actor, action=Action.TERMINAL_MAINTAIN, region=region_get(code=order.village_code))


def work_order_take(*, actor: User, order: WorkOrder) -> WorkOrder:
    """The maintainer takes the order: assigned to them, in progress."""
    _require(actor, order)
    if not order.is_open:
        raise Conflict(_("This work order is already resolved."))
    with transaction.atomic():
        before = order.assignee_id
        order.assignee, order.state = actor, OrderState.IN_PROGRESS
        order.save(update_fields=["assignee", "state"])
        audit_record(
            actor=actor,
            verb="work_order.take",
            obj=order,
            region_code=order.village_code,
            before={"assignee": before},
            after={"assignee": actor.pk},
        )
    return order


def work_order_note_add(
    *, actor: User, order: WorkOrder, text: str = "", photo: UploadedFile | None = None
) -> WorkOrderNote:
    """A note, a photo (JPEG, PNG or WebP, at most 8 MB), or both.

    The photo is stored under a name the platform chooses, with the type its content shows, and
    served as that type (core.serving): never under the uploader's file name."""
    _require(actor, order)
    text = (text or "").strip()
    if not text and photo is None:
        raise ValidationError(_("Write a note or attach a photo."), fields={"text": [_("Empty.")]})
    if len(text) > 4000:
        raise ValidationError(_("At most 4,000 characters."), fields={"text": [_("Too long.")]})
    content_type = ""
    if photo is not None:
        if (photo.size or 0) > PHOTO_MAX_BYTES:
            raise ValidationError(_("A photo is at most 8 MB."), fields={"photo": [_("Too large.")]})
        content_type = content_type_of_upload(photo)
        if content_type not in PHOTO_TYPES:
            raise ValidationError(_("Attach a JPEG, PNG or WebP photo."), fields={"photo": [_("Not a photo.")]})
        photo.name = f"{secrets.token_hex(8)}.{extension_for(content_type)}"
    with transaction.atomic():
        note = WorkOrderNote.objects.create(
            order=order,
            author=actor,
            text=text,
            photo=photo or "",
            photo_content_type=content_type,
        )
        audit_record(
            actor=actor,
            verb="work_order.note",
            obj=order,
            region_code=order.village_code,
            after={"note": note.pk, "photo": bool(photo)},
        )
    return note


def work_order_resolve(*, actor: User, order: WorkOrder, resolution: str) -> WorkOrder:
    """Resolved by hand (repaired, replaced…). A rule opens a new order if the fault is still there."""
    _require(actor, order)
    resolution = (resolution or "").strip()
    if not resolution or len(resolution) > 200:
        raise ValidationError(_("Say what was done (at most 200 characters)."), fields={"resolution": [_("Required.")]})
    if not order.is_open:
        raise Conflict(_("This work order is already resolved."))
    with transaction.atomic():
        order.state, order.resolved_at, order.resolution = OrderState.RESOLVED, timezone.now(), resolution
        order.save(update_fields=["state", "resolved_at", "resolution"])
        audit_record(
            actor=actor,
            verb="work_order.resolve",
            obj=order,
            region_code=order.village_code,
            after={"resolution": resolution},
        )
    return order
