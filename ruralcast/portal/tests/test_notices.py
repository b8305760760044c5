"""The notice board: who may post where (the notice's own region decides), what each screen sees
(its village and the regions above it, never a neighbour's), and the console page's round trip."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ruralcast.accounts.roles import Role
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.core.registries.portal import Screen
from ruralcast.portal.models import Notice
from ruralcast.portal.portal import notice_tiles
from ruralcast.portal.services import notice_post, notice_withdraw

pytestmark = pytest.mark.django_db


@pytest.fixture
def editor(make_user, rongjiang):
    return make_user(role=Role.CONTENT_EDITOR, region=rongjiang, username="rongjiang-editor")


def _post(editor, region, title):
    return notice_post(actor=editor, region=region, title=title, body="", expires_at=timezone.now() + timedelta(days=1))


def test_a_village_sees_its_own_and_its_townships_notices_but_not_the_neighbours(editor, guzhou, dashizi, liziyuan):
    _post(editor, guzhou, "镇里的通知")
    _post(editor, dashizi, "大十字的通知")
    _post(editor, liziyuan, "梨子园的通知")
    titles = [tile.title for tile in notice_tiles(screen=Screen(region_code=dashizi.code), limit=12)]
    assert sorted(titles) == ["大十字的通知", "镇里的通知"]
    neighbour = [tile.title for tile in notice_tiles(screen=Screen(region_code=liziyuan.code), limit=12)]
    assert sorted(neighbour) == ["梨子园的通知", "镇里的通知"]


def test_an_unpaired_screen_sees_the_top_regions_notices_only(screen_client, editor, guzhou, dashizi, make_user):
    province_editor = make_user(role=Role.CONTENT_EDITOR, region=guzhou.parent.parent.parent, username="gz-editor")
    notice_post(
        actor=province_editor,
        region=guzhou.parent.parent.parent,
        title="全省通知",
        body="",
        expires_at=timezone.now() + timedelta(days=1),
    )
    _post(editor, dashizi, "大十字的通知")
    page = screen_client(None).get(reverse("portal:home")).content.decode()
    assert "全省通知" in page and "大十字的通知" not in page
    paired = screen_client(dashizi).get(reverse("portal:home")).content.decode()
    assert "全省通知" in paired and "大十字的通知" in paired


def test_an_expired_or_withdrawn_notice_leaves_the_screens(editor, dashizi):
    notice = _post(editor, dashizi, "过期的通知")
    assert len(notice_tiles(screen=Screen(region_code=dashizi.code), limit=12)) == 1
    notice_withdraw(actor=editor, notice=notice)
    assert notice_tiles(screen=Screen(region_code=dashizi.code), limit=12) == []
    assert AuditEvent.objects.filter(verb="portal.notice_withdraw").count() == 1


def test_a_township_editor_cannot_post_to_a_village_of_another_township(make_user, guzhou, congjiang):
    township_editor = make_user(role=Role.CONTENT_EDITOR, region=guzhou, username="guzhou-editor")
    other_village = congjiang.children.first().children.first()
    with pytest.raises(PermissionDenied):
        _post(township_editor, other_village, "越界的通知")
    assert not Notice.objects.exists()


def test_posting_is_audited_and_refuses_an_empty_title_or_a_past_expiry(editor, dashizi):
    _post(editor, dashizi, "义诊")
    assert AuditEvent.objects.filter(verb="portal.notice_post", region_code=dashizi.code).count() == 1
    with pytest.raises(ValidationError) as empty:
        _post(editor, dashizi, "  ")
    assert "title" in empty.value.fields
    with pytest.raises(ValidationError) as past:
        notice_post(actor=editor, region=dashizi, title="晚了", body="", expires_at=timezone.now() - timedelta(hours=1))
    assert "expires_at" in past.value.fields
    assert Notice.objects.count() == 1


def test_the_console_page_posts_a_notice_and_keeps_bad_input(editor, dashizi, liziyuan):
    client = Client()
    client.force_login(editor)
    url = reverse("portal:notice_board")
    assert client.get(url).status_code == 200
    bad = client.post(url, {"region": dashizi.code, "title": "", "body": "正文留着", "expires_at": "2030-01-01T08:00"})
    assert bad.status_code == 400
    assert "正文留着" in bad.content.decode()
    past = client.post(url, {"region": dashizi.code, "title": "太晚", "body": "", "expires_at": "2001-01-01T08:00"})
    assert past.status_code == 400 and "太晚" in past.content.decode()
    good = client.post(url, {"region": dashizi.code, "title": "停水通知", "body": "", "expires_at": "2030-01-01T08:00"})
    assert good.status_code == 302
    notice = Notice.objects.get()
    assert notice.title == "停水通知" and notice.region_id == dashizi.code
    assert client.post(reverse("portal:notice_withdraw", args=[notice.pk])).status_code == 302
    notice.refresh_from_db()
    assert notice.expires_at <= timezone.now()


def test_a_viewer_may_not_open_the_notice_board(make_user, guzhou):
    client = Client()
    client.force_login(make_user(role=Role.VIEWER, region=guzhou, username="viewer"))
    assert client.get(reverse("portal:notice_board")).status_code == 403


def test_a_screen_opens_its_notice_but_not_a_neighbours(screen_client, editor, dashizi, liziyuan):
    mine = _post(editor, dashizi, "我的通知")
    theirs = _post(editor, liziyuan, "别人的通知")
    client = screen_client(dashizi)
    page = client.get(reverse("portal:notice", args=[mine.pk]))
    assert page.status_code == 200 and "我的通知" in page.content.decode()
    assert client.get(reverse("portal:notice", args=[theirs.pk])).status_code == 404
