"""Playlists: an ordered list of library items that a slot plays as one block.

A playlist belongs to a region's library (`programme.edit` there). Changing the items of a
playlist that slots play re-sends the documents of the villages whose programme changes.
"""

from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.models import Playlist, PlaylistItem, ProgrammeItem, Schedule
from ruralcast.broadcasting.services.library import content_usable_by, tags_clean
from ruralcast.broadcasting.services.publishing import programme_change_publish
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.models import Region

MAX_PLAYLIST_ITEMS = 100
MAX_PLAYLIST_SECONDS = 6 * 3600


def _clean_name(name: str) -> str:
    name = (name or "").strip()
    if not name:
        raise ValidationError(_("Give the playlist a name."), fields={"name": [_("This field is required.")]})
    if len(name) > 200:
        raise ValidationError(_("The name is too long."), fields={"name": [_("At most 200 characters.")]})
    return name


def _playlist_state(playlist: Playlist) -> dict[str, Any]:
    return {
        "name": playlist.name,
        "owner": playlist.owner_region_id,
        "tags": playlist.tag_list,
        "items": [row.item_id for row in playlist.ordered_items()],
    }


def playlist_create(*, actor: User, owner_region: Region, name: str, tags: list[str] | str = "") -> Playlist:
    """An empty playlist of `owner_region` (items are added with `playlist_items_set`)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    name, tag_list = _clean_name(name), tags_clean(tags=tags)
    with transaction.atomic():
        playlist = Playlist.objects.create(
            name=name, owner_region=owner_region, tags=",".join(tag_list), created_by=actor
        )
        audit_record(
            actor=actor, verb="playlist.create", obj=playlist, region_code=owner_region.code,
            after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def playlist_update(*, actor: User, playlist: Playlist, name: str, tags: list[str] | str = "") -> Playlist:
    """Rename a playlist or change its tags (what terminals play does not change)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    name, tag_list = _clean_name(name), tags_clean(tags=tags)
    before = _playlist_state(playlist)
    with transaction.atomic():
        playlist.name, playlist.tags = name, ",".join(tag_list)
        playlist.save(update_fields=["name", "tags", "updated_at"])
        audit_record(
            actor=actor, verb="playlist.update", obj=playlist, region_code=playlist.owner_region_id,
            before=before, after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def _playlist_users(playlist: Playlist) -> list[Schedule]:
    return list(
        Schedule.objects.filter(slots__playlist=playlist).select_related("target_region").distinct().order_by("id")
    )


def playlist_items_set(*, actor: User, playlist: Playlist, items: list[ProgrammeItem]) -> Playlist:
    """Make `items` (in this order; an item may come back) the playlist's content: add, remove, reorder.

    Each item must belong to the playlist's region, one above or one below it. The documents of the
    villages whose programme this changes are sent again, as after a slot change. A playlist that
    slots play may not be emptied (400): delete or change those slots first.
    """
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    if len(items) > MAX_PLAYLIST_ITEMS:
        raise ValidationError(
            _("A playlist holds at most %(n)s items.") % {"n": MAX_PLAYLIST_ITEMS},
            fields={"items": [_("Too many items.")]},
        )
    for item in items:
        if not content_usable_by(actor=actor, owner=playlist.owner_region, region=item.owner_region):
            raise ValidationError(
                _("“%(title)s” is not in this playlist's library (its own region, a region above or below it).")
                % {"title": item.title},
                fields={"items": [_("Not available to this playlist.")]},
            )
    if sum(item.audio_seconds for item in items) > MAX_PLAYLIST_SECONDS:
        raise ValidationError(_("A playlist plays at most six hours."), fields={"items": [_("Too long.")]})
    with transaction.atomic():
        _current_items(playlist)  # one writer at a time, and `before` as stored
        before = _playlist_state(playlist)
        users = _playlist_users(playlist)
        if not items and users:
            raise ValidationError(
                _("Slots of %(schedules)s play this playlist: it may not be emptied.")
                % {"schedules": ", ".join(f"“{schedule.name}”" for schedule in users)},
                fields={"items": [_("Keep at least one item.")]},
            )

        def write() -> None:
            PlaylistItem.objects.filter(playlist=playlist).delete()
            PlaylistItem.objects.bulk_create(
                [PlaylistItem(playlist=playlist, item=item, position=n) for n, item in enumerate(items)]
            )
            playlist.save(update_fields=["updated_at"])
            getattr(playlist, "_prefetched_objects_cache", {}).pop("entries", None)

        if users:
            areas = list({schedule.target_region_id: schedule.target_region for schedule in users}.values())
            programme_change_publish(schedule=None, verb="playlist.items", areas=areas, mutate=write)
        else:
            write()
        audit_record(
            actor=actor, verb="playlist.items", obj=playlist, region_code=playlist.owner_region_id,
            before=before, after=_playlist_state(playlist),
        )  # fmt: skip
    return playlist


def _current_items(playlist: Playlist) -> list[ProgrammeItem]:
    """The playlist's items as stored now, the row locked (call inside a transaction)."""
    Playlist.objects.select_for_update().filter(pk=playlist.pk).first()
    getattr(playlist, "_prefetched_objects_cache", {}).pop("entries", None)
    return [row.item for row in playlist.entries.select_related("item").order_by("position", "id")]


def playlist_item_add(*, actor: User, playlist: Playlist, item: ProgrammeItem) -> Playlist:
    """Append `item` to the playlist."""
    with transaction.atomic():
        current = _current_items(playlist)
        return playlist_items_set(actor=actor, playlist=playlist, items=[*current, item])


def _position_check(current: list[ProgrammeItem], position: int) -> None:
    if not 0 <= position < len(current):
        raise ValidationError(
            _("The playlist has no item at position %(n)s.") % {"n": position + 1},
            fields={"position": [_("No such position.")]},
        )


def playlist_item_remove(*, actor: User, playlist: Playlist, position: int) -> Playlist:
    """Remove the item at `position` (0 is the first)."""
    with transaction.atomic():
        current = _current_items(playlist)
        _position_check(current, position)
        del current[position]
        return playlist_items_set(actor=actor, playlist=playlist, items=current)


def playlist_item_move(*, actor: User, playlist: Playlist, position: int, offset: int) -> Playlist:
    """Move the item at `position` by `offset` places (-1 up, +1 down; kept within the list)."""
    with transaction.atomic():
        current = _current_items(playlist)
        _position_check(current, position)
        target = min(max(position + offset, 0), len(current) - 1)
        current.insert(target, current.pop(position))
        return playlist_items_set(actor=actor, playlist=playlist, items=current)


def playlist_delete(*, actor: User, playlist: Playlist) -> None:
    """Delete an unused playlist; one that slots play is refused (409) naming their schedules."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=playlist.owner_region)
    with transaction.atomic():
        users = _playlist_users(playlist)
        if users:
            raise Conflict(
                _("Slots of %(schedules)s play this playlist: change or delete them first.")
                % {"schedules": ", ".join(f"“{schedule.name}”" for schedule in users)},
                fields={"playlist": [_("In use by a schedule.")]},
            )
        before, pk, label = _playlist_state(playlist), playlist.pk, str(playlist)
        playlist.delete()
        audit_record(
            actor=actor, verb="playlist.delete", object_type="broadcasting.playlist", object_id=str(pk),
            object_label=label, region_code=before["owner"], before=before,
        )  # fmt: skip
