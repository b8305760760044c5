"""The programme library: items spoken by the speech app or uploaded as recordings.

`programme.edit` on the owner region adds items to that region's library, renames them or changes
their tags (the recording itself never changes: a new recording is a new item), and deletes those
nothing plays: an item that a schedule's slot or a playlist uses is refused, naming them. Content (an item, a
playlist) may be used by something owned by its own region, a region above or one below it, never
a neighbour's (`content_usable_by`); the tags rule (`tags_clean`) is shared with playlists.
"""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Q
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.audio import StoredAudio, audio_from_text, audio_from_upload
from ruralcast.broadcasting.models import Playlist, ProgrammeItem, Schedule, Source
from ruralcast.broadcasting.programme import covering_codes
from ruralcast.broadcasting.services.publishing import programme_change_publish
from ruralcast.core.errors import Conflict, ValidationError
from ruralcast.regions.models import Region

MAX_TAGS = 10


def tags_clean(*, tags: list[str] | str) -> list[str]:
    """Tags as stored: split on commas (also the full-width one), trimmed, unique, at most MAX_TAGS."""
    if isinstance(tags, str):
        tags = tags.replace("，", ",").split(",")
    cleaned: list[str] = []
    for tag in tags:
        tag = str(tag).replace(",", " ").strip()[:30]
        if tag and tag not in cleaned:
            cleaned.append(tag)
    if len(cleaned) > MAX_TAGS:
        raise ValidationError(_("At most %(n)s tags.") % {"n": MAX_TAGS}, fields={"tags": [_("Too many tags.")]})
    return cleaned


def _clean_title(title: str) -> str:
    title = (title or "").strip()
    if not title:
        raise ValidationError(_("Give the item a title."), fields={"title": [_("This field is required.")]})
    if len(title) > 200:
        raise ValidationError(_("The title is too long."), fields={"title": [_("At most 200 characters.")]})
    return title


def _item_save(
    *, actor: User, owner_region: Region, title: str, tags: list[str], source: str, text: str, audio: StoredAudio
) -> ProgrammeItem:
    with transaction.atomic():
        item = ProgrammeItem.objects.create(
            title=title,
            owner_region=owner_region,
            tags=",".join(tags),
            source=source,
            text=text,
            audio_name=audio.name,
            audio_sha256=audio.sha256,
            audio_bytes=audio.size,
            audio_seconds=audio.seconds,
            created_by=actor,
        )
        audit_record(
            actor=actor,
            verb="programme.create",
            obj=item,
            region_code=owner_region.code,
            after={"title": title, "source": source, "sha256": audio.sha256, "seconds": audio.seconds, "tags": tags},
        )
    return item


def programme_item_create_from_text(
    *, actor: User, owner_region: Region, title: str, text: str, tags: list[str] | str = ""
) -> ProgrammeItem:
    """A library item read aloud by the speech app (cached by text, so a repeat costs nothing)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    title, tag_list = _clean_title(title), tags_clean(tags=tags)
    audio = audio_from_text(text=text)
    return _item_save(
        actor=actor, owner_region=owner_region, title=title, tags=tag_list, source=Source.SPEECH, text=text.strip(),
        audio=audio,
    )  # fmt: skip


def programme_item_create_from_upload(
    *,
    actor: User,
    owner_region: Region,
    title: str,
    upload: UploadedFile,
    tags: list[str] | str = "",
    source: str = Source.UPLOAD,
) -> ProgrammeItem:
    """A library item from an uploaded recording: probed, loudness-normalised, re-encoded.

    A file that is not audio raises ValidationError (400) and nothing is stored. `source` is
    UPLOAD, or LIVE for the recording of a live-voice session (ruralcast.live).
    """
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=owner_region)
    title, tag_list = _clean_title(title), tags_clean(tags=tags)
    audio = audio_from_upload(upload)
    return _item_save(
        actor=actor, owner_region=owner_region, title=title, tags=tag_list, source=source, text="", audio=audio
    )


def content_usable_by(*, actor: User, owner: Region, region: Region) -> bool:
    """Whether content owned by `region` may be used by something owned by `owner`: the same region,
    one above or one below it (never a neighbour's), and the actor may see it."""
    related = region.code in covering_codes(owner) or owner.contains(region)
    return related and access_check(user=actor, action=Action.PROGRAMME_VIEW, region=region)


def item_users(*, item: ProgrammeItem) -> tuple[list[Schedule], list[Playlist]]:
    """The schedules whose slots play `item` (directly or in a playlist), and the playlists holding it."""
    schedules = list(
        Schedule.objects.filter(Q(slots__item=item) | Q(slots__playlist__entries__item=item))
        .select_related("target_region")
        .distinct()
        .order_by("id")
    )
    playlists = list(Playlist.objects.filter(entries__item=item).distinct().order_by("id"))
    return schedules, playlists


def programme_item_update(*, actor: User, item: ProgrammeItem, title: str, tags: list[str] | str = "") -> ProgrammeItem:
    """Rename an item or change its tags. The title is in the programme documents terminals keep, so
    the villages whose schedules play it get their documents again (only if they changed)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=item.owner_region)
    title, tag_list = _clean_title(title), tags_clean(tags=tags)
    before = {"title": item.title, "tags": item.tag_list}

    def write() -> None:
        item.title, item.tags = title, ",".join(tag_list)
        item.save(update_fields=["title", "tags"])

    with transaction.atomic():
        schedules, _playlists = item_users(item=item)
        if schedules:
            areas = list({s.target_region_id: s.target_region for s in schedules}.values())
            programme_change_publish(schedule=None, verb="programme.update", areas=areas, mutate=write)
        else:
            write()
        audit_record(
            actor=actor, verb="programme.update", obj=item, region_code=item.owner_region_id,
            before=before, after={"title": title, "tags": tag_list},
        )  # fmt: skip
    return item


def programme_item_delete(*, actor: User, item: ProgrammeItem) -> None:
    """Delete an item nothing plays. One that a schedule's slot or a playlist uses is refused (409),
    naming them: change those first. The audio file stays (files are shared by content)."""
    access_require(user=actor, action=Action.PROGRAMME_EDIT, region=item.owner_region)
    with transaction.atomic():
        schedules, playlists = item_users(item=item)
        if schedules or playlists:
            names = [_("schedule “%(name)s”") % {"name": s.name} for s in schedules]
            names += [_("playlist “%(name)s”") % {"name": p.name} for p in playlists]
            raise Conflict(
                _("%(users)s use this item: remove it from them first.") % {"users": "、".join(names)},
                fields={"item": [_("In use.")]},
            )
        pk, label, region = item.pk, item.title, item.owner_region_id
        before = {"title": item.title, "tags": item.tag_list, "sha256": item.audio_sha256, "source": item.source}
        item.delete()
        audit_record(
            actor=actor, verb="programme.delete", object_type="broadcasting.programmeitem", object_id=str(pk),
            object_label=label, region_code=region, before=before,
        )  # fmt: skip
