"""Writes of daily broadcasting, one module per noun: library items, playlists, schedules, slots,
and the publishing of what terminals play.

Every write checks the actor's role on the owner region (`access_require`), runs in one
transaction with its audit record and, when what a village hears changes, with the outbox row
that sends the changed effective-schedule documents to terminals
(`publishing.programme_change_publish`).

Who may do what:
- `programme.edit` on the owner region adds items to that region's library and makes its playlists;
- `schedule.manage` on the owner region creates and changes its schedules. The owner's level is the
  schedule's tier: a township operator cannot touch the county's schedule (the county is outside
  the township's subtree) and a village broadcaster schedules only for their own village.
- The target must lie inside the owner's subtree; only counties, townships and villages own schedules.

Callers import from this package (`from ruralcast.broadcasting import services`); the modules are
its rooms.
"""

from ruralcast.broadcasting.services.library import (
    MAX_TAGS,
    content_usable_by,
    item_users,
    programme_item_create_from_text,
    programme_item_create_from_upload,
    programme_item_delete,
    programme_item_update,
    tags_clean,
)
from ruralcast.broadcasting.services.playlists import (
    MAX_PLAYLIST_ITEMS,
    MAX_PLAYLIST_SECONDS,
    playlist_create,
    playlist_delete,
    playlist_item_add,
    playlist_item_move,
    playlist_item_remove,
    playlist_items_set,
    playlist_update,
)
from ruralcast.broadcasting.services.publishing import (
    OUTBOX_PUBLISH,
    REFRESH_VERB,
    programme_change_publish,
    scheduled_villages,
    schedules_refresh,
)
from ruralcast.broadcasting.services.schedules import (
    require_schedule_manage,
    schedule_create,
    schedule_delete,
    schedule_update,
)
from ruralcast.broadcasting.services.slots import (
    MAX_DATES,
    SlotFields,
    slot_create,
    slot_delete,
    slot_fields_validate,
    slot_update,
)

__all__ = [
    "MAX_DATES",
    "MAX_PLAYLIST_ITEMS",
    "MAX_PLAYLIST_SECONDS",
    "MAX_TAGS",
    "OUTBOX_PUBLISH",
    "REFRESH_VERB",
    "SlotFields",
    "content_usable_by",
    "item_users",
    "playlist_create",
    "playlist_delete",
    "playlist_item_add",
    "playlist_item_move",
    "playlist_item_remove",
    "playlist_items_set",
    "playlist_update",
    "programme_change_publish",
    "programme_item_create_from_text",
    "programme_item_create_from_upload",
    "programme_item_delete",
    "programme_item_update",
    "require_schedule_manage",
    "schedule_create",
    "schedule_delete",
    "schedule_update",
    "scheduled_villages",
    "schedules_refresh",
    "slot_create",
    "slot_delete",
    "slot_fields_validate",
    "slot_update",
    "tags_clean",
]
