"""Counted tries and the limits on them: what keeps anyone from pairing a stranger's screen or
signing in as someone else by guessing.

A pairing code is 6 digits (a million values), lives 15 minutes and only while its screen waits;
an address that enters 5 wrong codes waits 15 minutes (`PAIR_FAILURES_PER_ADDRESS`,
`PAIR_BACKOFF_MINUTES`) — a guesser gets 5 tries in a million per quarter hour per address. A
sign-in code is void after 5 wrong entries; a number gets at most 5 codes an hour, an address
asks for at most 20 and enters at most 10 wrong ones an hour. The numbers are settings
(`RURALCAST_VILLAGERS`). Addresses are counted as the login lock-out counts them (IPv6 by /64,
through the trusted proxies only: `core.addresses.client_address`).

Each try is one `Attempt` row, written by these helpers with no person acting and no audit record
(a deliberate bulk writer: what anonymous clients cause, counted; the outcome is the refusal).
"""

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.lockout import address_key
from ruralcast.core.errors import ApplicationError
from ruralcast.villagers.models import Attempt


class TooManyAttempts(ApplicationError):
    """Too many tries from this address or for this number: wait, then try again."""

    status_code = 429
    code = "too_many_attempts"


def villagers_setting(name: str) -> int:
    value = settings.RURALCAST_VILLAGERS[name]
    if not isinstance(value, int):
        raise TypeError(f"RURALCAST_VILLAGERS[{name!r}] must be a whole number, not {value!r}")
    return value


def attempt_key(value: str, *, address: bool = True) -> str:
    return address_key(value) if address else value[:64]


def attempt_count(*, kind: str, key: str, within: timedelta) -> int:
    return Attempt.objects.filter(kind=kind, key=key, at__gte=timezone.now() - within).count()


def attempt_record(*, kind: str, key: str) -> None:
    Attempt.objects.create(kind=kind, key=key)


def attempt_limit(*, kind: str, key: str, limit: int, within: timedelta) -> None:
    """Refuse (429) when `key` already made `limit` tries of `kind` within `within`."""
    if key and attempt_count(kind=kind, key=key, within=within) >= limit:
        minutes = max(1, int(within.total_seconds() // 60))
        raise TooManyAttempts(
            _("Too many attempts. Please wait %(minutes)d minutes, then try again.") % {"minutes": minutes}
        )
