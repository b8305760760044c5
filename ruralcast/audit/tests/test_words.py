"""The audit page in Chinese: verbs as phrases, regions by name, changes as key: value (no dict text)."""

import pytest
from django.test import Client

from ruralcast.accounts.models import User
from ruralcast.audit.services import audit_record
from ruralcast.regions.models import Region

pytestmark = pytest.mark.django_db


def test_the_audit_page_reads_verbs_and_regions_as_words(
    client: Client, county_bureau_admin: User, guzhou: Region
) -> None:
    audit_record(actor=None, verb="alert.dispatched", region_code=guzhou.code, after={"volume": 60}, object_label="x")
    client.force_login(county_bureau_admin)
    page = client.get("/audit/").content.decode()
    assert "发出了预警" in page
    assert guzhou.name in page
    assert "volume: 60" in page
    assert f"<code>{guzhou.code}</code>" not in page
    assert "<code>alert.dispatched</code>" not in page
    assert "{&#x27;volume&#x27;" not in page and "{'volume'" not in page
