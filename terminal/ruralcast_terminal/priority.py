"""What a loudspeaker plays when several things want it: one arbitration for all of them.

The rules of the national village-broadcast network (三级可控、三级插播、上级优先、应急优先):

1. **Emergency first (应急优先).** An emergency alert outranks everything else; among alerts the
   more severe (level 1, 特别重大, first), then the higher issuing level, then a real alert before a
   drill, then first come.
2. **Live voice and cut-ins next (三级插播).** A county, township or village may speak live or cut a
   recording in; it outranks the scheduled programme.
3. **The higher tier wins (上级优先).** Among live voices, and among scheduled programmes, the
   higher administrative level (national > province > city > county > township > village) wins.
4. **The scheduled programme (定时广播)** plays when nothing above wants the loudspeaker.

`Claim.rank` orders claims (smaller first); `Claim.preempts` says whether a newcomer interrupts
what is playing (only a strictly higher class, severity or tier does; arrival order never does).
`after_preemption` says what becomes of the interrupted claim: an alert plays again from the start
once the more urgent one ends (a warning is heard whole), a live voice is dropped (it cannot be
replayed live; its operator sees it cut off), a programme resumes where it stopped if its slot is
still open (the schedule decides when a slot ends).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from ruralcast_terminal.protocol import CODE_LENGTH, code_prefix

# Significant prefix length of a region code → tier (0 national … 5 village); see protocol.code_prefix.
_TIER_BY_PREFIX_LENGTH = {0: 0, 2: 1, 4: 2, 6: 3, 9: 4, 12: 5}
VILLAGE_TIER = 5


class Kind(enum.IntEnum):
    EMERGENCY = 0  # an emergency alert (应急广播)
    LIVE = 1  # live voice or a cut-in (实时喊话、插播)
    PROGRAMME = 2  # the scheduled programme (定时广播)


class AfterPreemption(enum.Enum):
    RESTART = "restart"  # queued again, plays from the start when its turn comes
    DROP = "drop"  # gone
    RESUME = "resume"  # continues from where it stopped, if still wanted


def tier_of(region_code: str) -> int:
    """0 for the national root … 5 for a village, from the code's significant prefix."""
    if len(region_code) != CODE_LENGTH or not region_code.isdigit():
        raise ValueError(f"a region code is 12 digits, not {region_code!r}")
    return _TIER_BY_PREFIX_LENGTH[len(code_prefix(region_code))]


def sender_tier(sender: object) -> int:
    """The tier of an alert's sender: its 23-digit resource code holds its region at digits 2–13.

    An unreadable sender counts as a village (the lowest tier): it never outranks anyone by level.
    """
    if isinstance(sender, str) and len(sender) == 23 and sender.isdigit():
        try:
            return tier_of(sender[1:13])
        except (ValueError, KeyError):
            return VILLAGE_TIER
    return VILLAGE_TIER


@dataclass(frozen=True)
class Claim:
    """Something that wants the loudspeaker."""

    kind: Kind
    tier: int  # of the region that issued it: 0 national … 5 village
    severity: int = 4  # alerts: 1 (特别重大) … 4 (一般); the others leave it at 4
    drill: bool = False  # an exercise or test alert, announced as such
    seq: int = 0  # arrival order, the last tie-breaker

    @property
    def rank(self) -> tuple[int, int, int, int, int]:
        """Smaller plays first."""
        severity = self.severity if self.kind == Kind.EMERGENCY else 0
        return (int(self.kind), severity, self.tier, int(self.drill), self.seq)

    def preempts(self, playing: Claim) -> bool:
        """Whether this claim interrupts `playing` (arrival order alone never does)."""
        return self.rank[:4] < playing.rank[:4]


def alert_claim(*, severity: int, sender: object, drill: bool, seq: int) -> Claim:
    return Claim(kind=Kind.EMERGENCY, tier=sender_tier(sender), severity=severity, drill=drill, seq=seq)


def after_preemption(claim: Claim) -> AfterPreemption:
    """What becomes of `claim` when something more important cuts it off."""
    if claim.kind == Kind.EMERGENCY:
        return AfterPreemption.RESTART
    if claim.kind == Kind.LIVE:
        return AfterPreemption.DROP
    return AfterPreemption.RESUME
