"""`manage.py demo_setup`: the demo province, its designation list and one user per role.

Idempotent. Passwords are random, printed once and written to .run/demo-credentials.txt. It seeds
every app (users, designations, signing key, terminals, schedules, reporting), so it lives in web,
the console shell at the top of the layers, which may import them all.
"""

import os
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.utils.translation import override

from ruralcast.accounts.demo import demo_users_create
from ruralcast.accounts.models import User
from ruralcast.alerts.demo import demo_alert_history_create, demo_feed_subscribe
from ruralcast.alerts.demo_feed import DEFAULT_PORT, demo_feed_url
from ruralcast.alerts.feeds.fetch import FetchError, host_check
from ruralcast.broadcasting.demo import demo_schedules_create
from ruralcast.portal.demo import demo_notices_create
from ruralcast.regions.models import Designation, Region
from ruralcast.regions.services import designation_import
from ruralcast.reporting.demo import demo_values_create
from ruralcast.signing.models import SigningKey
from ruralcast.signing.services import signing_key_generate
from ruralcast.terminals.demo import demo_terminals_register
from ruralcast.villagers.demo import demo_villagers_create

DESIGNATION_FILE = Path(settings.BASE_DIR) / "data" / "designations" / "guizhou-last-nine-poverty-counties-2020.csv"
CREDENTIALS_FILE = Path(settings.RUN_DIR) / "demo-credentials.txt"
# 榕江县: the demo county whose villages get simulated loudspeakers.
DEMO_COUNTY = "522632000000"


class Command(BaseCommand):
    help = "Set up the demo: regions of the demo province, a designation list and demo users."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--reset-passwords", action="store_true", help="Give the demo users new passwords.")

    def handle(self, *args: Any, **options: Any) -> None:
        province = settings.DEMO_PROVINCE
        if not Region.objects.filter(code=province.ljust(12, "0")).exists():
            call_command("regions_import", province=province, stdout=self.stdout, stderr=self.stderr)
        created = demo_users_create(reset_passwords=options["reset_passwords"])
        if not Designation.objects.filter(key="gz-last-nine-poverty-counties-2020").exists():
            with override("zh-hans"):
                report = designation_import(
                    actor=User.objects.get(username="admin"),
                    key="gz-last-nine-poverty-counties-2020",
                    name="贵州省最后脱贫的9个贫困县（2020年11月）",
                    description="2014–2020 national poverty counties of Guizhou that exited last (23 Nov 2020).",
                    source="Guizhou provincial government announcement of 23 Nov 2020 as reported in the press; "
                    "see data/designations/README.md.",
                    csv_text=DESIGNATION_FILE.read_text(encoding="utf-8"),
                )
            self.stdout.write(f"designation imported: {len(report.matched)} matched, {len(report.unmatched)} unmatched")
        self._signing_and_terminals()
        self._alerts()
        self._reporting()
        self._duty_roster()
        self._villagers()
        if created:
            CREDENTIALS_FILE.parent.mkdir(parents=True, exist_ok=True)
            lines = [f"{c.username}\t{c.password}\t{c.role}\t{c.totp_secret}\t{c.totp_uri}" for c in created]
            header = "username\tpassword\trole\ttotp_secret\ttotp_uri\n"
            CREDENTIALS_FILE.write_text(header + "\n".join(lines) + "\n", encoding="utf-8")
            CREDENTIALS_FILE.chmod(0o600)
            self.stdout.write(self.style.WARNING(f"Demo users (passwords shown once; also in {CREDENTIALS_FILE}):"))
            for c in created:
                self.stdout.write(f"  {c.username}\t{c.password}\t{c.role}")
                if c.totp_secret:
                    self.stdout.write(f"      second factor: key {c.totp_secret}  ({c.totp_uri})")
            self.stdout.write(
                "Admin, bureau admin and approver log in with a code too: add the key to an authenticator app, "
                "or print the current code with `manage.py demo_totp <username>`."
            )
        else:
            self.stdout.write(
                f"Demo users exist; their passwords are in {CREDENTIALS_FILE} (run `make demo-passwords` for new ones)."
            )

    def _alerts(self) -> None:
        """A year of past alerts with their receipts, and the demo CAP feed's subscription."""
        county = Region.objects.get(code=DEMO_COUNTY)
        made = demo_alert_history_create(county=county)
        if made:
            self.stdout.write(f"{made} past alerts of {DEMO_COUNTY} with their receipts (a year of history)")
        url = demo_feed_url(int(os.environ.get("RURALCAST_DEMO_FEED_PORT") or DEFAULT_PORT))
        try:
            host_check(url)
        except FetchError:
            self.stdout.write(f"demo CAP feed not subscribed: 127.0.0.1 is not in RURALCAST_CAP_FEED_HOSTS ({url})")
            return
        if demo_feed_subscribe(county=county, url=url):
            self.stdout.write(
                f"demo CAP feed subscribed for {DEMO_COUNTY}: {url} (a demo stand-in for the county meteorological "
                "bureau, served by the Procfile's demofeed process; its warnings arrive as drafts)"
            )

    def _duty_roster(self) -> None:
        """The demo county's approver on duty: submitting a drill pages them (inbox, e-mail file, SMS stand-in)."""
        from ruralcast.notifications.demo import demo_roster_create

        if demo_roster_create(county=Region.objects.get(code=DEMO_COUNTY)):
            self.stdout.write(f"duty roster of {DEMO_COUNTY}: rongjiang-approver on duty all week")

    def _villagers(self) -> None:
        """A few paired household screens in the demo county and a villager who signs in on the phone."""
        made = demo_villagers_create(county=Region.objects.get(code=DEMO_COUNTY))
        if made:
            self.stdout.write(f"{made.screens} household screens paired in {DEMO_COUNTY}")
        self.stdout.write(
            "Villagers' portal: a TV opens /portal/pair/ and shows a code; rongjiang-operator confirms it at "
            "/villagers/screens/. A villager signs in at /portal/me/ with the number 10000000017; the code is "
            f"in the log-only SMS stand-in's file {settings.RUN_DIR}/sms-stand-in.log (nothing is sent)."
        )

    def _reporting(self) -> None:
        """The starter reporting metadata and twelve months of demo figures."""
        call_command("reporting_metadata", stdout=self.stdout)
        values = demo_values_create(
            province=Region.objects.get(code=settings.DEMO_PROVINCE.ljust(12, "0")),
            county=Region.objects.get(code=DEMO_COUNTY),
        )
        if values:
            self.stdout.write(f"{values} demo reporting values")

    def _signing_and_terminals(self) -> None:
        """A signing key (first start) and one simulated terminal per village of the demo county."""
        if not SigningKey.objects.filter(status=SigningKey.Status.ACTIVE).exists():
            key = signing_key_generate(actor=None)
            self.stdout.write(f"signing key {key.serial} ({key.alg}) generated")
        files = demo_terminals_register(county=Region.objects.get(code=DEMO_COUNTY))
        self.stdout.write(f"{files.count} demo terminals in {DEMO_COUNTY} (simulated by `manage.py demo_simulator`)")
        created = demo_schedules_create(county=Region.objects.get(code=DEMO_COUNTY))
        self.stdout.write(f"{created} demo broadcasting schedules created in {DEMO_COUNTY}")
        self.stdout.write(f"{demo_notices_create()} demo notices posted to the portal's notice board")
