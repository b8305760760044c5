"""The programme library: items spoken by the speech app or uploaded as recordings.

`programme.edit` on the owner region adds items to that region's library. Content (an item, a
playlist) may be used by something owned by its own region, a region above or one below it, never
a neighbour's (`content_usable_by`); the tags rule (`tags_clean`) is shared with playlists.
"""

from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.utils.translation import gettext as _

from ruralcast.accounts.access import access_check, access_require
from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Action
from ruralcast.audit.services import audit_record
from ruralcast.broadcasting.audio import StoredAudio, audio_from_text, audio_from_upload
from ruralcast.broadcasting.models import ProgrammeItem, Source
from ruralcast.broadcasting.programme import covering_codes
from ruralcast.core.errors import ValidationError
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
