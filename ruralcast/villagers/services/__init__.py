"""Writes of villagers, households and screens, by noun: `screens` (register, pair, revoke),
`identity` (sign-in codes, accounts, households), `privacy` (consent withdrawn, deletion, pruning),
and `throttle` (the counted tries behind the limits)."""

from ruralcast.villagers.services.identity import (
    household_create,
    household_member_add,
    phone_normalise,
    villager_code_send,
    villager_enrol,
    villager_sign_in,
)
from ruralcast.villagers.services.privacy import consent_withdraw, villager_delete, villagers_prune
from ruralcast.villagers.services.screens import (
    pairing_code_minutes,
    screen_code_refresh,
    screen_pair,
    screen_pair_by_villager,
    screen_register,
    screen_revoke,
)
from ruralcast.villagers.services.throttle import TooManyAttempts

__all__ = [
    "TooManyAttempts",
    "consent_withdraw",
    "household_create",
    "household_member_add",
    "pairing_code_minutes",
    "phone_normalise",
    "screen_code_refresh",
    "screen_pair",
    "screen_pair_by_villager",
    "screen_register",
    "screen_revoke",
    "villager_code_send",
    "villager_delete",
    "villager_enrol",
    "villager_sign_in",
    "villagers_prune",
]
