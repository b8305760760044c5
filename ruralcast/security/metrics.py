"""The Prometheus counter `ruralcast_security_events_total{kind, county}`, read from the counts.

Events are recorded by several processes (the ingest worker, the broker-log watch, the web), so a
process-local counter would show only the web's share: the collector sums the database's counts
at each scrape (one grouped query over a table of a few rows per county and day). Alert on it in
Prometheus with e.g. `increase(ruralcast_security_events_total[1h]) > 10`.
"""

import contextlib
from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, Metric
from prometheus_client.registry import REGISTRY, Collector

from ruralcast.security.selectors import security_totals_by_kind_and_county

METRIC = "ruralcast_security_events"


def _family() -> CounterMetricFamily:
    return CounterMetricFamily(
        METRIC, "Security events counted by the platform, by kind and county", labels=["kind", "county"]
    )


class SecurityCollector(Collector):
    def describe(self) -> Iterator[Metric]:
        yield _family()  # no samples: registration must not touch the database

    def collect(self) -> Iterator[Metric]:
        family = _family()
        for (kind, county), total in sorted(security_totals_by_kind_and_county().items()):
            family.add_metric([kind, county], total)
        yield family


_COLLECTOR = SecurityCollector()


def metrics_register() -> None:
    """Register the collector once per process (AppConfig.ready may run twice in tests)."""
    with contextlib.suppress(ValueError):  # already registered
        REGISTRY.register(_COLLECTOR)
