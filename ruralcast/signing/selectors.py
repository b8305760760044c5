"""Reading signing keys and building the trust list terminals verify against.

Keys and the trust list are public material (no region scope): the trust list is published to every
terminal, and nothing here reveals a private key.
"""

from django.db.models import QuerySet
from django.utils.translation import gettext as _
from ruralcast_terminal.protocol import TrustedKey, TrustList

from ruralcast.core.errors import NotFound
from ruralcast.signing.errors import NoActiveKey
from ruralcast.signing.models import SigningKey


def signing_key_list() -> QuerySet[SigningKey]:
    return SigningKey.objects.order_by("created_at", "serial")


def signing_key_get(*, serial: str) -> SigningKey:
    try:
        return SigningKey.objects.get(serial=serial)
    except SigningKey.DoesNotExist:
        raise NotFound(
            _("There is no signing key %(serial)s.") % {"serial": serial}, fields={"serial": [_("Unknown key.")]}
        ) from None


def signing_key_active(*, purpose: str = SigningKey.Purpose.BROADCAST) -> SigningKey:
    """The key that signs for `purpose` now; NoActiveKey (with the command that fixes it) when none."""
    key = SigningKey.objects.filter(status=SigningKey.Status.ACTIVE, purpose=purpose).first()
    if key is None:
        if purpose == SigningKey.Purpose.FIRMWARE:
            raise NoActiveKey(
                _(
                    "There is no active firmware signing key: run “manage.py signing_key_generate "
                    "--purpose firmware”, then provision the terminals with the trust list that names it."
                )
            )
        raise NoActiveKey(_("There is no active signing key: run “manage.py signing_key_generate” first."))
    return key


def trust_list_build() -> TrustList:
    """Every key the platform ever made: pending, active and retired ones trusted, revoked ones flagged.

    Revoked keys stay listed (flagged) so that a terminal holding an older list learns to refuse them.
    Each key's `usage` is its purpose.
    """
    return TrustList(
        TrustedKey(
            serial=key.serial,
            alg=key.alg,
            public_key=key.public_key_bytes,
            revoked=key.status == SigningKey.Status.REVOKED,
            usage=(key.purpose,),
        )
        for key in signing_key_list()
    )
