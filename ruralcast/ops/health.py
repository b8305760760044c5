"""Health checks: each returns (ok, detail). `/healthz` runs them all.

Later modules register their dependency here (the MQTT broker, the task worker).
"""

from collections.abc import Callable

from django.db import connection

HealthCheck = Callable[[], tuple[bool, str]]
_CHECKS: dict[str, HealthCheck] = {}


def register_check(name: str, check: HealthCheck) -> None:
    _CHECKS[name] = check


def database_check() -> tuple[bool, str]:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as error:  # noqa: BLE001 — any failure means unhealthy, reported as text
        return False, f"{type(error).__name__}: {error}"
    return True, connection.vendor


register_check("database", database_check)


def run_checks() -> dict[str, dict[str, object]]:
    results: dict[str, dict[str, object]] = {}
    for name, check in _CHECKS.items():
        ok, detail = check()
        results[name] = {"ok": ok, "detail": detail}
    return results
