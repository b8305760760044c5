"""The first screen's JavaScript budget for weak boxes (≤ 150 KB gzip, no inline script)."""

import gzip
import re

import pytest
from django.contrib.staticfiles import finders
from django.urls import reverse

pytestmark = pytest.mark.django_db

FIRST_SCREEN_JS_BUDGET = 150 * 1024


def test_the_first_screens_javascript_is_within_150_kb_gzip(screen_client, dashizi):
    page = screen_client(dashizi).get(reverse("portal:home")).content.decode()
    sources = re.findall(r'<script[^>]+src="/static/([^"]+)"', page)
    assert "vendor/lrud/lrud.js" in sources and "portal/portal.js" in sources
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>\s*\S", page), "no inline script on the first screen"
    total = 0
    for source in sources:
        path = finders.find(source)
        assert path, source
        with open(path, "rb") as handle:
            total += len(gzip.compress(handle.read(), compresslevel=9))
    assert 0 < total <= FIRST_SCREEN_JS_BUDGET, f"{total} bytes of gzip JavaScript on the first screen"
