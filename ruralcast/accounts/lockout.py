"""Login lock-out per (username, client address), with exponential back-off.

The rule (audit item 14): failures count for one username *from one address*. After
`FREE_FAILURES` failures that pair waits `BASE_SECONDS`, and every further failure after a wait
doubles it, up to `MAX_SECONDS`; a success clears the pair, and failures older than
`FORGET_AFTER_HOURS` are forgotten. Nothing ever locks a username from everywhere: an attacker
failing from address X never keeps the duty approver out at address Y, which the audit found
possible when every client looked like the proxy (`core.addresses` reads the client's address
through the trusted proxies only). While a pair waits, its attempts are refused without checking
the password, so a locked pair learns nothing. The same throttle guards the second-factor step.

An administrator who may manage the person can clear their waits (`login_throttle_clear`).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from ipaddress import IPv6Address, ip_address, ip_network

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from ruralcast.accounts.access import access_require_manage_user
from ruralcast.accounts.models import LoginThrottle, User
from ruralcast.audit.services import audit_record


@dataclass(frozen=True)
class LockoutPolicy:
    free_failures: int = 5
    base_seconds: int = 60
    max_seconds: int = 3600
    forget_after_hours: int = 24

    def wait_after(self, failures: int) -> timedelta | None:
        """How long a pair waits after its `failures`-th failure (None: not yet)."""
        if failures < self.free_failures:
            return None
        doublings = min(failures - self.free_failures, 30)
        return timedelta(seconds=min(self.base_seconds * 2**doublings, self.max_seconds))


def lockout_policy() -> LockoutPolicy:
    return LockoutPolicy(**getattr(settings, "RURALCAST_LOGIN_LOCKOUT", {}))


def address_key(address: str) -> str:
    """The address as the throttle counts it: IPv4 as is, IPv6 by its /64."""
    try:
        parsed = ip_address(address)
    except ValueError:
        return address[:64]
    if isinstance(parsed, IPv6Address):
        return str(ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def _username_key(username: str) -> str:
    return username.strip().lower()[:150]


def login_locked_until(*, username: str, address: str, step: str = LoginThrottle.Step.PASSWORD) -> datetime | None:
    """When this (username, address) pair may try again, or None if it may now."""
    until = (
        LoginThrottle.objects.filter(username=_username_key(username), address=address_key(address), step=step)
        .values_list("locked_until", flat=True)
        .first()
    )
    return until if until is not None and until > timezone.now() else None


def login_failure_record(*, username: str, address: str, step: str = LoginThrottle.Step.PASSWORD) -> datetime | None:
    """Count one failure of the pair; returns the time it may try again if it must now wait.

    A failure while the pair already waits is not counted (it was refused unchecked).
    """
    policy, now = lockout_policy(), timezone.now()
    key = {"username": _username_key(username), "address": address_key(address), "step": step}
    try:
        with transaction.atomic():
            LoginThrottle.objects.get_or_create(**key, defaults={"failures": 0, "last_failure_at": now})
    except IntegrityError:
        pass  # a concurrent first failure of the same pair inserted the row: count on it below
    with transaction.atomic():
        throttle = LoginThrottle.objects.select_for_update().get(**key)
        if throttle.locked_until is not None and throttle.locked_until > now:
            return throttle.locked_until
        if now - throttle.last_failure_at > timedelta(hours=policy.forget_after_hours):
            throttle.failures = 0
        throttle.failures += 1
        throttle.last_failure_at = now
        wait = policy.wait_after(throttle.failures)
        throttle.locked_until = now + wait if wait is not None else None
        throttle.save(update_fields=["failures", "last_failure_at", "locked_until"])
        if wait is not None:
            person = User.objects.filter(username__iexact=key["username"]).first()
            audit_record(
                actor=None,
                verb="login.lockout",
                object_type="accounts.user",
                object_id=str(person.pk) if person is not None else "",
                object_label=key["username"],
                region_code=(person.home_region_id or "") if person is not None else "",
                after={
                    "username": key["username"],
                    "address": key["address"],
                    "step": step,
                    "failures": throttle.failures,
                    "until": throttle.locked_until,
                },
            )
            return throttle.locked_until
    return None


def login_success_record(*, username: str, address: str, step: str = LoginThrottle.Step.PASSWORD) -> None:
    LoginThrottle.objects.filter(username=_username_key(username), address=address_key(address), step=step).delete()
    # Housekeeping: forget pairs nobody has failed with for a long time (bounded table).
    horizon = timezone.now() - timedelta(hours=lockout_policy().forget_after_hours)
    LoginThrottle.objects.filter(
        Q(locked_until__isnull=True) | Q(locked_until__lt=timezone.now()), last_failure_at__lt=horizon
    ).delete()


def login_throttle_list(*, user: User) -> list[LoginThrottle]:
    """The waits currently imposed on `user`'s username, at every address (for the user's page)."""
    return list(
        LoginThrottle.objects.filter(username=user.username.lower(), locked_until__gt=timezone.now()).order_by(
            "-locked_until"
        )
    )


def login_throttle_clear(*, actor: User, user: User) -> int:
    """An administrator lets `user` try again at once from every address; audited."""
    access_require_manage_user(actor=actor, target=user)
    with transaction.atomic():
        rows = list(LoginThrottle.objects.filter(username=user.username.lower()).values_list("address", "step"))
        LoginThrottle.objects.filter(username=user.username.lower()).delete()
        audit_record(
            actor=actor,
            verb="login.unlock",
            obj=user,
            region_code=user.home_region_id or "",
            after={"cleared": [f"{address} ({step})" for address, step in rows]},
        )
    return len(rows)
