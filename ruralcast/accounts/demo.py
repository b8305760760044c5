"""Demo users for `make run`: one per role, each with a random password shown once.

No password is ever fixed in code or shared between users. The passwords are written to
`.run/demo-credentials.txt` (mode 600, outside git) and printed by `make run` the first time.
Demo users whose roles need a second factor (admin, bureau admin, approver) get an authenticator
secret too, printed once beside the password with its otpauth:// URI: add it to an authenticator
app ("enter a setup key"), or print the current code with `manage.py demo_totp <username>`.
"""

import secrets
import string
from dataclasses import dataclass
from types import SimpleNamespace

from django.db import transaction

from ruralcast.accounts.models import User
from ruralcast.accounts.roles import Role, role_needs_second_factor
from ruralcast.accounts.second_factor import totp_provision, totp_secret
from ruralcast.accounts.services import password_check, role_grant, user_create
from ruralcast.regions.selectors import region_get

_ALPHABET = string.ascii_letters + string.digits + "-_.!@#%"


def random_password(length: int = 16, *, username: str = "") -> str:
    """A random password that satisfies the password policy for the person with `username`.

    The policy refuses a password too similar to the username, judged by the shared characters
    alone (about one draw in a few thousand against a 10-letter name), so a caller that knows who
    the password is for passes their username.
    """
    person = SimpleNamespace(username=username)
    while True:
        candidate = "".join(secrets.choice(_ALPHABET) for _ in range(length))
        try:
            password_check(password=candidate, user=person)  # type: ignore[arg-type]
        except Exception:  # noqa: BLE001,S112 — draw again until the policy accepts it
            continue
        return candidate


@dataclass(frozen=True)
class DemoCredentials:
    username: str
    password: str
    role: str
    totp_secret: str = ""
    totp_uri: str = ""


@dataclass(frozen=True)
class DemoUser:
    username: str
    full_name: str
    role: str
    region_code: str


DEMO_USERS = [
    DemoUser("admin", "平台管理员 Platform admin", Role.PLATFORM_ADMIN, "000000000000"),
    DemoUser("gz-bureau", "省局管理员 Guizhou bureau admin", Role.BUREAU_ADMIN, "520000000000"),
    DemoUser(
        "rongjiang-operator", "榕江县融媒体中心值班员 Rongjiang station operator", Role.STATION_OPERATOR, "522632000000"
    ),
    DemoUser(
        "rongjiang-approver", "榕江县应急广播审核员 Rongjiang alert approver", Role.ALERT_APPROVER, "522632000000"
    ),
    DemoUser("rongjiang-editor", "榕江县内容编辑 Rongjiang content editor", Role.CONTENT_EDITOR, "522632000000"),
    DemoUser("rongjiang-maintainer", "榕江县运维员 Rongjiang maintainer", Role.MAINTAINER, "522632000000"),
    DemoUser("guzhou-viewer", "古州镇观察员 Guzhou township viewer", Role.VIEWER, "522632100000"),
    DemoUser(
        "dashizi-broadcaster", "大十字社区广播员 Dashizi village broadcaster", Role.VILLAGE_BROADCASTER, "522632100001"
    ),
]


def demo_users_create(*, reset_passwords: bool = False) -> list[DemoCredentials]:
    """Create the demo users (or reset their passwords and authenticator secrets)."""
    created: list[DemoCredentials] = []
    with transaction.atomic():
        for demo in DEMO_USERS:
            region = region_get(code=demo.region_code)
            password = random_password(username=demo.username)
            user = User.objects.filter(username=demo.username).first()
            if user is None:
                user = user_create(
                    actor=None, username=demo.username, password=password, home_region=region, full_name=demo.full_name
                )
                role_grant(actor=None, user=user, role=demo.role, region=region)
            elif reset_passwords:
                user.set_password(password)
                user.save(update_fields=["password"])
            else:
                continue
            secret = uri = ""
            if role_needs_second_factor(demo.role):
                device = totp_provision(user=user)
                secret, uri = totp_secret(device), device.config_url
            created.append(DemoCredentials(demo.username, password, str(Role(demo.role).label), secret, uri))
    return created
