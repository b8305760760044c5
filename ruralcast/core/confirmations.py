"""What a dangerous button will do, said before it is pressed: the console's one confirmation pattern.

A command to every loudspeaker of a county, a report's submission (上报) or approval (审核通过) and
an alert's approval act on many things at once and cannot be taken back. Each such page builds a
`Confirmation` — one sentence saying what will happen to how many, the first few names and how
many more — and renders it with `includes/confirm.html` (the sentence on the page, beside the
button) and `includes/confirm_button.html` (the button; disabled, with the reason shown, when the
action cannot succeed). The form carries `data-confirm="{{ confirmation.question }}"`, which
console.js asks before submitting; `{choice}` in it is replaced by the form's chosen option
(`data-confirm-choice` on the select), so a command form names the command actually chosen.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.utils.translation import gettext as _
from django.utils.translation import ngettext

NAMES_SHOWN = 10


@dataclass(frozen=True)
class Confirmation:
    what: str  # "Reboot will be sent to 252 terminals of 榕江县" (no trailing punctuation)
    names: list[str] = field(default_factory=list)  # the first NAMES_SHOWN of what is affected
    more: int = 0  # how many are not named
    blocked: str = ""  # why the action cannot succeed now ("" when it can)

    @property
    def what_shown(self) -> str:
        """The sentence on the page before a choice is made (console.js fills in the choice)."""
        return self.what.replace("{choice}", _("the chosen command"))

    @property
    def names_text(self) -> str:
        """The names as one line: "大寨村、小寨村 and 247 more"."""
        text = "、".join(self.names)
        if self.more:
            text = ngettext("%(names)s and %(n)d more", "%(names)s and %(n)d more", self.more) % {
                "names": text,
                "n": self.more,
            }
        return text

    @property
    def question(self) -> str:
        """The browser's confirmation dialog: the sentence, the names, a question."""
        if self.names:
            return _("%(what)s: %(names)s. Continue?") % {"what": self.what, "names": self.names_text}
        return _("%(what)s. Continue?") % {"what": self.what}


def confirmation(*, what: str, names: Iterable[str], total: int, blocked: str = "") -> Confirmation:
    """A Confirmation naming at most NAMES_SHOWN of `names` (of `total` in all)."""
    shown = list(names)[:NAMES_SHOWN]
    return Confirmation(what=what, names=shown, more=max(0, total - len(shown)), blocked=blocked)
