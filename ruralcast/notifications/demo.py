"""The demo county's duty roster: its approver on duty around the clock, reachable by e-mail (written
to files in RUN_DIR/mail) and SMS (the log-only stand-in, RUN_DIR/sms-stand-in.log), so a newcomer who
submits a drill as `rongjiang-operator` sees the page arrive (`make run`, demo_setup)."""

from datetime import time

from django.db import transaction

from ruralcast.accounts.models import User
from ruralcast.notifications.models import DutySlot, Tier
from ruralcast.notifications.services import contact_update, duty_slot_add
from ruralcast.regions.models import Region

DEMO_APPROVER = "rongjiang-approver"
# Not a real number or mailbox: SMS and e-mail in the demo are stand-ins that never leave the machine.
DEMO_PHONE = "+86 000 0000 0001"
DEMO_EMAIL = "rongjiang-approver@example.invalid"


def demo_roster_create(*, county: Region) -> int:
    """Put the demo approver on the county's roster (tier 1, every day, all day). Idempotent;
    returns the number of slots created."""
    approver = User.objects.filter(username=DEMO_APPROVER).first()
    admin = User.objects.filter(username="admin").first()
    if approver is None or admin is None or DutySlot.objects.filter(region=county).exists():
        return 0
    with transaction.atomic():
        contact_update(
            actor=approver, user=approver, phone=DEMO_PHONE, email=DEMO_EMAIL, sms_enabled=True, email_enabled=True
        )
        slots = duty_slot_add(
            actor=admin, region=county, user=approver, tier=Tier.FIRST, weekdays=range(7), starts=time(0), ends=time(0)
        )
    return len(slots)
