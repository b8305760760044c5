"""Suite-wide pytest settings: the Debian Chromium for Playwright (never a downloaded browser)."""

import os
import shutil

import pytest

# The `demo_server` fixture (a real server set up like `make run`) for every browser test module.
pytest_plugins = ["ruralcast.web.tests.browser"]

# Playwright's sync API runs an event loop in the test thread; the Django ORM calls our browser
# tests make between page actions are synchronous and safe there.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("RURALCAST_CHROMIUM", shutil.which("chromium") or "/usr/bin/chromium")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict) -> dict:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture(autouse=True)
def _empty_audit_trail_before_flush(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """Transactional tests end with a flush, which the append-only triggers would refuse.

    Requesting pytest-django's database helper here makes this teardown run before its flush, so
    the audit events can be removed through the documented maintenance door first.
    """
    marker = request.node.get_closest_marker("django_db")
    transactional = "transactional_db" in request.fixturenames or "live_server" in request.fixturenames
    if marker is not None and marker.kwargs.get("transaction"):
        transactional = True
    if not transactional:
        yield
        return
    request.getfixturevalue("_django_db_helper")
    yield
    from ruralcast.audit.maintenance import audit_maintenance_window
    from ruralcast.audit.models import AuditEvent

    with audit_maintenance_window(reason="test teardown"):
        AuditEvent.objects.all()._raw_delete(AuditEvent.objects.db)
