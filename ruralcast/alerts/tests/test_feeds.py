"""CAP feed subscriptions (issue 15 item 8): a local HTTP server serves Atom feeds and CAP messages;
the poller drafts them through the CAP import, and the two-person rule still needs two humans."""

import hashlib
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from django.utils import timezone
from lxml import etree
from signxml import XMLSigner

from ruralcast.accounts.models import User
from ruralcast.alerts.feeds.poller import feed_poll, feeds_poll_due
from ruralcast.alerts.feeds.services import FeedFields, feed_create, feed_delete, feed_update
from ruralcast.alerts.models import Alert, EntryOutcome, FeedEntry, FeedSubscription, MsgType, State
from ruralcast.alerts.services import alert_submit, approval_refusal
from ruralcast.alerts.tests.conftest import stand_in_audio
from ruralcast.audit.models import AuditEvent
from ruralcast.core.errors import PermissionDenied, ValidationError
from ruralcast.notifications.models import Escalation
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


# ---------------------------------------------------------------------------- the test server


@dataclass
class FeedServer:
    """Serves `routes` (path → bytes) with ETags and 304s; `fail` paths answer 500."""

    base: str = ""
    routes: dict[str, bytes] = field(default_factory=dict)
    fail: set[str] = field(default_factory=set)
    requests: list[tuple[str, str]] = field(default_factory=list)  # (path, If-None-Match)

    def url(self, path: str) -> str:
        return self.base + path

    def hits(self, path: str) -> int:
        return sum(1 for p, _ in self.requests if p == path)


@pytest.fixture
def server(settings: Any) -> Iterator[FeedServer]:
    state = FeedServer()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            state.requests.append((self.path, self.headers.get("If-None-Match", "")))
            if self.path in state.fail:
                self.send_response(500)
                self.end_headers()
                return
            body = state.routes.get(self.path)
            if body is None:
                self.send_response(404)
                self.end_headers()
                return
            etag = '"' + hashlib.sha1(body).hexdigest() + '"'
            if self.headers.get("If-None-Match") == etag:
                self.send_response(304)
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("ETag", etag)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    settings.RURALCAST_CAP_FEED_HOSTS = ["127.0.0.1"]
    yield state
    httpd.shutdown()
    httpd.server_close()


def atom(*links: str) -> bytes:
    entries = "".join(
        f"<entry><id>urn:test:{i}</id><title>warning {i}</title><updated>2026-12-02T08:00:00Z</updated>"
        f'<link rel="alternate" type="application/cap+xml" href="{href}"/></entry>'
        for i, href in enumerate(links)
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        "<id>urn:test:feed</id><title>榕江县气象台</title><updated>2026-12-02T08:00:00Z</updated>"
        f"{entries}</feed>"
    ).encode()


def _t(value: datetime) -> str:
    return timezone.localtime(value).replace(microsecond=0).isoformat()


def cap(
    identifier: str,
    *,
    msg_type: str = "Alert",
    references: str = "",
    geocode: str = "522632100000",
    sent: datetime | None = None,
    description: str = "预计今天夜间古州镇将出现50毫米以上强降雨，请做好防范。",
) -> bytes:
    sent = sent or timezone.now() - timedelta(minutes=5)
    refs = f"<references>{references}</references>" if references else ""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2">
  <identifier>{identifier}</identifier>
  <sender>qx@rongjiang.gov.cn</sender>
  <sent>{_t(sent)}</sent>
  <status>Exercise</status>
  <msgType>{msg_type}</msgType>
  <scope>Public</scope>{refs}
  <info>
    <language>zh-CN</language>
    <category>Met</category>
    <event>暴雨</event>
    <urgency>Expected</urgency>
    <severity>Severe</severity>
    <certainty>Likely</certainty>
    <expires>{_t(timezone.now() + timedelta(hours=3))}</expires>
    <senderName>榕江县气象台</senderName>
    <headline>暴雨橙色预警（演练）</headline>
    <description>{description}</description>
    <area>
      <areaDesc>古州镇</areaDesc>
      <geocode><valueName>GB/T 2260</valueName><value>{geocode}</value></geocode>
    </area>
  </info>
</alert>""".encode()


def ref(identifier: str, sent: datetime) -> str:
    return f"qx@rongjiang.gov.cn,{identifier},{_t(sent)}"


# ---------------------------------------------------------------------------- signatures


@dataclass
class SigningKey:
    key_pem: bytes
    cert_pem: str


def _signing_key(name: str) -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
    now = timezone.now()
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return SigningKey(key_pem=key_pem, cert_pem=cert.public_bytes(serialization.Encoding.PEM).decode())


@pytest.fixture(scope="module")
def sender_key() -> SigningKey:
    return _signing_key("榕江县气象台")


@pytest.fixture(scope="module")
def other_key() -> SigningKey:
    return _signing_key("somebody else")


def signed(xml: bytes, key: SigningKey) -> bytes:
    root = etree.fromstring(xml)
    result = XMLSigner().sign(root, key=key.key_pem, cert=key.cert_pem)
    return etree.tostring(result, xml_declaration=True, encoding="UTF-8")


# ---------------------------------------------------------------------------- subscriptions


@pytest.fixture
def make_feed(
    county_bureau_admin: User, rongjiang: Region, guzhou: Region, server: FeedServer
) -> Callable[..., FeedSubscription]:
    def make(path: str = "/feed.atom", **overrides: Any) -> FeedSubscription:
        values: dict[str, Any] = {"name": "榕江县气象台", "url": server.url(path), "regions": [guzhou]}
        values.update(overrides)
        return feed_create(actor=county_bureau_admin, issuer_region=rongjiang, fields=FeedFields(**values))

    return make


def outcomes(feed: FeedSubscription) -> list[tuple[str, str]]:
    return [(e.url.rsplit("/", 1)[-1], e.outcome) for e in feed.entries.order_by("pk")]


def test_a_new_feed_message_becomes_a_draft_by_the_feeds_account(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed()
    result = feed_poll(feed=feed)
    assert result.status == "polled"
    entry = feed.entries.get()
    assert entry.outcome == EntryOutcome.IMPORTED
    alert = entry.alert
    assert alert is not None and alert.state == State.DRAFT
    assert alert.created_by_id == feed.account_id
    assert alert.imported.identifier == "rj-qx-001" and alert.imported.sender == "qx@rongjiang.gov.cn"
    assert [t.code for t in alert.targets.all()] == ["522632100000"]
    event = AuditEvent.objects.get(verb="alert.import", object_id=str(alert.pk))
    assert event.after is not None and any("from CAP feed" in note for note in event.after["notes"])
    feed.refresh_from_db()
    assert feed.last_error == "" and feed.failures == 0 and feed.etag


def test_the_feeds_draft_pages_the_approvers_and_needs_two_humans(
    make_feed: Callable[..., FeedSubscription],
    server: FeedServer,
    county_station_operator: User,
    county_alert_approver: User,
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed()
    feed_poll(feed=feed)
    alert = feed.entries.get().alert
    assert alert is not None
    page = Escalation.objects.get(subject_type="alerts.alert", subject_id=alert.ebm_id)
    assert page.kind == "approval.warning" and feed.account_id in page.excluded
    # The feed is not a person: one human submits, a different human approves.
    stand_in_audio(alert)
    alert = alert_submit(actor=county_station_operator, alert=Alert.objects.get(pk=alert.pk))
    assert isinstance(approval_refusal(approver=county_station_operator, alert=alert), PermissionDenied)
    assert approval_refusal(approver=county_alert_approver, alert=alert) is None


def test_a_second_poll_answered_304_does_nothing(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed()
    feed_poll(feed=feed)
    feed.refresh_from_db()
    again = feed_poll(feed=feed)
    assert again.status == "not-modified"
    assert server.requests[-1] == ("/feed.atom", feed.etag)
    assert server.hits("/cap/1.xml") == 1
    assert Alert.objects.count() == 1


def test_the_same_message_again_is_skipped_as_a_duplicate(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    sent = timezone.now() - timedelta(minutes=5)
    server.routes["/feed.atom"] = atom("/cap/1.xml", "/cap/1-mirror.xml")
    server.routes["/cap/1.xml"] = server.routes["/cap/1-mirror.xml"] = cap("rj-qx-001", sent=sent)
    feed = make_feed()
    feed_poll(feed=feed)
    assert outcomes(feed) == [("1.xml", EntryOutcome.IMPORTED), ("1-mirror.xml", EntryOutcome.DUPLICATE)]
    first, second = feed.entries.order_by("pk")
    assert second.alert_id == first.alert_id
    assert Alert.objects.count() == 1


def test_an_update_and_a_cancel_link_to_the_feeds_earlier_message(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    sent = timezone.now() - timedelta(minutes=30)
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001", sent=sent)
    feed = make_feed()
    feed_poll(feed=feed)
    original = feed.entries.get().alert
    update_sent = timezone.now() - timedelta(minutes=10)
    server.routes["/cap/2.xml"] = cap(
        "rj-qx-002", msg_type="Update", references=ref("rj-qx-001", sent), sent=update_sent
    )
    server.routes["/cap/3.xml"] = cap("rj-qx-003", msg_type="Cancel", references=ref("rj-qx-002", update_sent))
    server.routes["/feed.atom"] = atom("/cap/3.xml", "/cap/2.xml", "/cap/1.xml")
    feed.refresh_from_db()
    feed_poll(feed=feed)
    by_id = {e.identifier: e.alert for e in feed.entries.all() if e.alert is not None}
    assert original is not None and set(by_id) == {"rj-qx-001", "rj-qx-002", "rj-qx-003"}
    assert by_id["rj-qx-002"].msg_type == MsgType.UPDATE and by_id["rj-qx-003"].msg_type == MsgType.CANCEL
    assert by_id["rj-qx-002"].references_id == original.pk
    assert by_id["rj-qx-003"].references_id == original.pk


def test_a_message_signed_with_the_pinned_certificate_is_accepted(
    make_feed: Callable[..., FeedSubscription], server: FeedServer, sender_key: SigningKey
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = signed(cap("rj-qx-001"), sender_key)
    feed = make_feed(certificate_pem=sender_key.cert_pem)
    feed_poll(feed=feed)
    assert outcomes(feed) == [("1.xml", EntryOutcome.IMPORTED)]


def test_a_pinned_feed_refuses_tampered_unsigned_and_foreign_signed_messages(
    make_feed: Callable[..., FeedSubscription],
    server: FeedServer,
    sender_key: SigningKey,
    other_key: SigningKey,
    english: None,
) -> None:
    good = signed(cap("rj-qx-001"), sender_key).decode()
    server.routes["/cap/tampered.xml"] = good.replace("50毫米", "500毫米").encode()
    server.routes["/cap/unsigned.xml"] = cap("rj-qx-002")
    server.routes["/cap/other.xml"] = signed(cap("rj-qx-003"), other_key)
    server.routes["/feed.atom"] = atom("/cap/tampered.xml", "/cap/unsigned.xml", "/cap/other.xml")
    feed = make_feed(certificate_pem=sender_key.cert_pem)
    feed_poll(feed=feed)
    entries = {e.url.rsplit("/", 1)[-1]: e for e in feed.entries.all()}
    assert {name: e.outcome for name, e in entries.items()} == dict.fromkeys(
        ["tampered.xml", "unsigned.xml", "other.xml"], EntryOutcome.REFUSED
    )
    assert "unsigned" in entries["unsigned.xml"].reason
    assert "does not verify" in entries["tampered.xml"].reason
    assert "does not verify" in entries["other.xml"].reason
    assert Alert.objects.count() == 0
    feed.refresh_from_db()
    assert "unsigned" in feed.last_error and "tampered.xml" in feed.last_error


def test_a_foreign_host_is_refused_without_being_fetched(
    make_feed: Callable[..., FeedSubscription],
    server: FeedServer,
    county_bureau_admin: User,
    rongjiang: Region,
    guzhou: Region,
) -> None:
    with pytest.raises(ValidationError) as caught:
        feed_create(
            actor=county_bureau_admin,
            issuer_region=rongjiang,
            fields=FeedFields(name="x", url="http://cap.example.org/feed.atom", regions=[guzhou]),
        )
    assert "url" in caught.value.fields
    server.routes["/feed.atom"] = atom("http://cap.example.org/cap/1.xml")
    feed = make_feed()
    feed_poll(feed=feed)
    entry = feed.entries.get()
    assert entry.outcome == EntryOutcome.REFUSED and "cap.example.org" in entry.reason


def test_an_oversize_message_or_index_is_refused(
    make_feed: Callable[..., FeedSubscription], server: FeedServer, settings: Any, english: None
) -> None:
    settings.RURALCAST_CAP_FEED = {**settings.RURALCAST_CAP_FEED, "MESSAGE_MAX_BYTES": 1000}
    server.routes["/feed.atom"] = atom("/cap/big.xml")
    server.routes["/cap/big.xml"] = cap("rj-qx-001", description="雨" * 2000)
    feed = make_feed()
    feed_poll(feed=feed)
    entry = feed.entries.get()
    assert entry.outcome == EntryOutcome.REFUSED and "larger than the limit" in entry.reason
    settings.RURALCAST_CAP_FEED = {**settings.RURALCAST_CAP_FEED, "INDEX_MAX_BYTES": 100}
    feed.refresh_from_db()
    feed.etag = ""
    result = feed_poll(feed=feed)
    assert result.status == "failed" and "larger than the limit" in result.error


def test_a_message_for_a_region_outside_the_subscription_is_refused(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    server.routes["/feed.atom"] = atom("/cap/congjiang.xml")
    server.routes["/cap/congjiang.xml"] = cap("rj-qx-001", geocode="522633000000")
    feed = make_feed()
    feed_poll(feed=feed)
    entry = feed.entries.get()
    assert entry.outcome == EntryOutcome.REFUSED and "522633000000" in entry.reason
    assert Alert.objects.count() == 0


def test_the_back_off_doubles_on_each_failed_poll_and_resets_after_a_good_one(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    server.fail.add("/feed.atom")
    feed = make_feed(interval_seconds=300)
    now = timezone.now()
    waits = []
    for _ in range(3):
        result = feed_poll(feed=feed, now=now)
        assert result.status == "failed" and "HTTP 500" in result.error
        waits.append((feed.next_poll_at - now).total_seconds())
        now = feed.next_poll_at
    assert waits == [600, 1200, 2400]
    assert feed.failures == 3
    server.fail.clear()
    server.routes["/feed.atom"] = atom()
    feeds_poll_due(now=now)
    feed.refresh_from_db()
    assert feed.failures == 0 and (feed.next_poll_at - now).total_seconds() == 300


def test_an_unreachable_message_is_tried_again_at_the_next_poll(
    make_feed: Callable[..., FeedSubscription], server: FeedServer
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.fail.add("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed()
    assert feed_poll(feed=feed).status == "failed"
    assert not feed.entries.exists()
    server.fail.clear()
    feed_poll(feed=feed)
    assert outcomes(feed) == [("1.xml", EntryOutcome.IMPORTED)]


def test_a_plain_list_of_urls_is_an_index_too(make_feed: Callable[..., FeedSubscription], server: FeedServer) -> None:
    server.routes["/list.txt"] = b"# today's warnings\n/cap/1.xml\n"
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed("/list.txt")
    feed_poll(feed=feed)
    assert outcomes(feed) == [("1.xml", EntryOutcome.IMPORTED)]


# ---------------------------------------------------------------------------- scope and audit


def test_a_county_admin_registers_feeds_only_for_regions_in_scope(
    county_bureau_admin: User,
    neighbour_county_bureau_admin: User,
    county_station_operator: User,
    rongjiang: Region,
    guzhou: Region,
    congjiang: Region,
    server: FeedServer,
) -> None:
    def fields(regions: list[Region]) -> FeedFields:
        return FeedFields(name="气象台", url=server.url("/feed.atom"), regions=regions)

    with pytest.raises(PermissionDenied):
        feed_create(actor=neighbour_county_bureau_admin, issuer_region=rongjiang, fields=fields([guzhou]))
    with pytest.raises(PermissionDenied):
        feed_create(actor=county_bureau_admin, issuer_region=rongjiang, fields=fields([guzhou, congjiang]))
    with pytest.raises(PermissionDenied):
        feed_create(actor=county_station_operator, issuer_region=rongjiang, fields=fields([guzhou]))
    feed = feed_create(actor=county_bureau_admin, issuer_region=rongjiang, fields=fields([guzhou]))
    with pytest.raises(PermissionDenied):
        feed_update(actor=county_bureau_admin, feed=feed, fields=fields([congjiang]))
    assert not feed.account.has_usable_password()


def test_create_update_and_delete_are_audited(
    make_feed: Callable[..., FeedSubscription], county_bureau_admin: User, guzhou: Region, rongjiang: Region
) -> None:
    feed = make_feed()
    account = feed.account
    feed_update(
        actor=county_bureau_admin,
        feed=feed,
        fields=FeedFields(name="新名字", url=feed.url, regions=[rongjiang], enabled=False),
    )
    feed_delete(actor=county_bureau_admin, feed=feed)
    verbs = list(AuditEvent.objects.filter(verb__startswith="feed.").order_by("pk").values_list("verb", flat=True))
    assert verbs == ["feed.create", "feed.update", "feed.delete"]
    update = AuditEvent.objects.get(verb="feed.update")
    assert update.before is not None and update.after is not None
    assert update.before["regions"] == [guzhou.code] and update.after["regions"] == [rongjiang.code]
    assert not FeedSubscription.objects.exists() and not FeedEntry.objects.exists()
    account.refresh_from_db()
    assert not account.is_active


def test_a_disabled_feed_is_not_polled(make_feed: Callable[..., FeedSubscription], server: FeedServer) -> None:
    server.routes["/feed.atom"] = atom()
    make_feed(enabled=False)
    assert feeds_poll_due() == []
    assert server.requests == []


# ---------------------------------------------------------------------------- console


def test_an_administrator_registers_edits_polls_and_removes_a_feed_in_the_console(
    client: Any, county_bureau_admin: User, server: FeedServer, guzhou: Region, rongjiang: Region
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml", "/cap/congjiang.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    server.routes["/cap/congjiang.xml"] = cap("rj-qx-002", geocode="522633000000")
    client.force_login(county_bureau_admin)
    assert client.get("/alerts/feeds/").status_code == 200
    form = {
        "name": "榕江县气象台",
        "url": server.url("/feed.atom"),
        "issuer_region": rongjiang.code,
        "regions": guzhou.code,
        "interval_seconds": "300",
        "enabled": "on",
    }
    response = client.post("/alerts/feeds/new/", form)
    feed = FeedSubscription.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/alerts/feeds/{feed.pk}/"
    assert client.post(f"/alerts/feeds/{feed.pk}/poll/").status_code == 302
    page = client.get(f"/alerts/feeds/{feed.pk}/").content.decode()
    assert "暴雨橙色预警（演练）" in page and "522633000000" in page  # the draft, and the refused one
    draft = feed.entries.get(outcome=EntryOutcome.IMPORTED).alert
    assert draft is not None
    assert "data-import-feed" in client.get(f"/alerts/{draft.ebm_id}/").content.decode()
    bad = client.post(f"/alerts/feeds/{feed.pk}/", {**form, "certificate_pem": "not a certificate"})
    assert bad.status_code == 400 and "not a certificate" in bad.content.decode()  # refused, input kept
    assert 'class="error"' in bad.content.decode()
    client.post(f"/alerts/feeds/{feed.pk}/", {**form, "name": "气象台", "enabled": ""})
    feed.refresh_from_db()
    assert feed.name == "气象台" and not feed.enabled
    assert client.post(f"/alerts/feeds/{feed.pk}/delete/").status_code == 302
    assert not FeedSubscription.objects.exists()


def test_a_neighbouring_admin_neither_sees_nor_changes_the_feed(
    client: Any,
    make_feed: Callable[..., FeedSubscription],
    neighbour_county_bureau_admin: User,
    county_station_operator: User,
) -> None:
    feed = make_feed()
    client.force_login(neighbour_county_bureau_admin)
    assert "榕江县气象台" not in client.get("/alerts/feeds/").content.decode()
    assert client.get(f"/alerts/feeds/{feed.pk}/").status_code == 404
    assert client.post(f"/alerts/feeds/{feed.pk}/delete/").status_code == 404
    client.force_login(county_station_operator)
    assert client.get("/alerts/feeds/").status_code == 403


def test_the_api_lists_a_feed_and_what_it_read(
    client: Any, make_feed: Callable[..., FeedSubscription], server: FeedServer, county_bureau_admin: User
) -> None:
    server.routes["/feed.atom"] = atom("/cap/1.xml")
    server.routes["/cap/1.xml"] = cap("rj-qx-001")
    feed = make_feed()
    feed_poll(feed=feed)
    client.force_login(county_bureau_admin)
    listing = client.get("/api/v1/alerts/feeds").json()
    assert [(f["id"], f["regions"], f["pinned"]) for f in listing] == [(feed.pk, ["522632100000"], False)]
    detail = client.get(f"/api/v1/alerts/feeds/{feed.pk}").json()
    entry = feed.entries.get()
    assert entry.alert is not None
    assert [(e["identifier"], e["outcome"], e["alert"]) for e in detail["entries"]] == [
        ("rj-qx-001", "imported", entry.alert.ebm_id)
    ]
    assert client.get("/api/v1/alerts/feeds/999999").status_code == 404
