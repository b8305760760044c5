"""Security keys (WebAuthn) as a second factor beside the authenticator app (issue 13 item 24).

A person whose session is already verified (the app's code, or a key) registers a key on the keys
page: the browser asks the authenticator (a USB/NFC key, the phone's or laptop's fingerprint or PIN)
to make a key pair for this site and hands us the public key (`security_key_add`). At the next
login the code page offers "use my security key": the authenticator signs a fresh challenge and
`security_key_check` verifies the signature; the session is then verified exactly as with a code.

The rules:
- Who we are (`relying_party`): the host name the person typed (validated by ALLOWED_HOSTS) is the
  relying-party id and the origin is that host with the scheme of the connection; the scheme comes
  from X-Forwarded-Proto only when the peer is one of `RURALCAST_TRUSTED_PROXIES` (as
  `core.addresses` reads the client address). A key made at one host name works only there.
  Browsers refuse WebAuthn at a bare IP address, so there the page offers the app only.
- A challenge is 32 random bytes kept in the session, used once and for at most five minutes.
- The signature counter must grow: when the stored or the new count is above zero and the new one is
  not greater, the key may have been cloned; the login is refused and audited
  (`second_factor.key_clone_suspected`). Authenticators that keep no counter send 0 every time.
- Failures count in the same per-(username, address) throttle as wrong codes.
- Adding and removing a key are audited; an administrator's `second_factor_reset` removes keys too.
"""

import json
import time
from dataclasses import dataclass
from ipaddress import ip_address
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.db import IntegrityError, transaction
from django.http import HttpRequest
from django.http.request import split_domain_port
from django.utils import timezone
from django.utils.translation import gettext as _
from webauthn import (
    generate_authentication_options,
    generate_registration_options,
    verify_authentication_response,
    verify_registration_response,
)
from webauthn.helpers import base64url_to_bytes, bytes_to_base64url, options_to_json_dict
from webauthn.helpers.exceptions import WebAuthnException
from webauthn.helpers.structs import (
    AuthenticatorSelectionCriteria,
    AuthenticatorTransport,
    PublicKeyCredentialDescriptor,
    ResidentKeyRequirement,
    UserVerificationRequirement,
)

from ruralcast.accounts.lockout import login_failure_record, login_locked_until, login_success_record
from ruralcast.accounts.models import LoginThrottle, User, WebAuthnCredential
from ruralcast.audit.services import audit_record
from ruralcast.core.addresses import address_in, parse_address, trusted_proxies
from ruralcast.core.errors import PermissionDenied, ValidationError

CHALLENGE_SESSION_KEY = "accounts.webauthn"
CHALLENGE_SECONDS = 300
KEY_NAME_LENGTH = 64
RP_NAME = "ruralcast"


class SecurityKeyLocked(ValidationError):
    """Too many failed attempts from this address; the same wait as for wrong codes."""

    status_code = 429
    code = "locked"


@dataclass(frozen=True)
class RelyingParty:
    """Who the browser talks to: the host name (WebAuthn's RP id) and the page origin."""

    id: str
    origin: str


def _connection_scheme(request: HttpRequest) -> str:
    scope = getattr(request, "scope", None)  # ASGI; WSGI keeps it in the environ
    scheme = scope.get("scheme", "http") if isinstance(scope, dict) else request.META.get("wsgi.url_scheme", "http")
    if address_in(parse_address(request.META.get("REMOTE_ADDR") or ""), trusted_proxies()):
        forwarded = request.META.get("HTTP_X_FORWARDED_PROTO", "").split(",")[0].strip().lower()
        if forwarded in ("http", "https"):
            scheme = forwarded
    return "https" if scheme in ("https", "wss") else "http"


def relying_party(request: HttpRequest) -> RelyingParty | None:
    """This site as WebAuthn sees it, or None when it was reached by an IP address (no keys there)."""
    domain, port = split_domain_port(request.get_host())
    if not domain:
        return None
    try:
        ip_address(domain.strip("[]"))
    except ValueError:
        pass
    else:
        return None
    scheme = _connection_scheme(request)
    default_port = {"http": "80", "https": "443"}[scheme]
    origin = f"{scheme}://{domain}" + (f":{port}" if port and port != default_port else "")
    return RelyingParty(id=domain, origin=origin)


def _challenge_store(session: SessionBase, *, purpose: str, challenge: bytes, rp: RelyingParty) -> None:
    session[CHALLENGE_SESSION_KEY] = {
        "purpose": purpose,
        "challenge": bytes_to_base64url(challenge),
        "rp": rp.id,
        "at": time.time(),
    }


def _challenge_take(session: SessionBase, *, purpose: str, rp: RelyingParty) -> bytes:
    """The pending challenge for `purpose`, removed from the session (each works once)."""
    stored = session.pop(CHALLENGE_SESSION_KEY, None)
    if (
        not isinstance(stored, dict)
        or stored.get("purpose") != purpose
        or stored.get("rp") != rp.id
        or time.time() - float(stored.get("at", 0)) > CHALLENGE_SECONDS
    ):
        raise ValidationError(_("The request to your security key expired. Try again."))
    return base64url_to_bytes(stored["challenge"])


def _credential_json(credential: str) -> dict[str, Any]:
    try:
        parsed = json.loads(credential)
    except ValueError:
        parsed = None
    if not isinstance(parsed, dict) or not isinstance(parsed.get("id"), str):
        raise ValidationError(_("The browser sent no answer from a security key. Try again."))
    return parsed


def _transports(values: list[str]) -> list[AuthenticatorTransport]:
    known = {transport.value for transport in AuthenticatorTransport}
    return [AuthenticatorTransport(value) for value in values if value in known]


def security_key_registration_options(*, user: User, rp: RelyingParty, session: SessionBase) -> dict[str, Any]:
    """What the browser passes to navigator.credentials.create(); the challenge stays in the session."""
    existing = WebAuthnCredential.objects.filter(user=user, rp_id=rp.id)
    options = generate_registration_options(
        rp_id=rp.id,
        rp_name=RP_NAME,
        user_name=user.username,
        user_id=f"ruralcast-user-{user.pk}".encode(),
        user_display_name=str(user),
        exclude_credentials=[
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(key.credential_id), transports=_transports(key.transports)
            )
            for key in existing
        ],
        authenticator_selection=AuthenticatorSelectionCriteria(
            resident_key=ResidentKeyRequirement.DISCOURAGED,
            user_verification=UserVerificationRequirement.PREFERRED,
        ),
    )
    _challenge_store(session, purpose="register", challenge=options.challenge, rp=rp)
    return options_to_json_dict(options)


def security_key_add(
    *, user: User, rp: RelyingParty, session: SessionBase, credential: str, name: str
) -> WebAuthnCredential:
    """Register the key that answered the registration challenge, under a name the person chose."""
    name = " ".join(name.split())
    if not name:
        raise ValidationError(
            _("Give the key a name you will recognise (e.g. “blue USB key”)."), fields={"name": [_("Required.")]}
        )
    if len(name) > KEY_NAME_LENGTH:
        raise ValidationError(
            _("Keep the name to %(count)s characters.") % {"count": KEY_NAME_LENGTH},
            fields={"name": [_("Too long.")]},
        )
    answer = _credential_json(credential)
    challenge = _challenge_take(session, purpose="register", rp=rp)
    try:
        verified = verify_registration_response(
            credential=answer, expected_challenge=challenge, expected_rp_id=rp.id, expected_origin=rp.origin
        )
    except WebAuthnException as error:
        raise ValidationError(_("The security key's answer could not be verified. Try again.")) from error
    transports = answer.get("response", {}).get("transports") if isinstance(answer.get("response"), dict) else None
    try:
        with transaction.atomic():
            key = WebAuthnCredential.objects.create(
                user=user,
                name=name,
                confirmed=True,
                credential_id=bytes_to_base64url(verified.credential_id),
                public_key=verified.credential_public_key,
                sign_count=verified.sign_count,
                rp_id=rp.id,
                aaguid=str(verified.aaguid)[:36],
                transports=[str(t) for t in transports][:10] if isinstance(transports, list) else [],
            )
            audit_record(
                actor=user,
                verb="second_factor.key_add",
                obj=user,
                region_code=user.home_region_id or "",
                after={"key": key.pk, "name": name, "host": rp.id, "aaguid": key.aaguid},
            )
    except IntegrityError as error:
        raise ValidationError(_("This security key is registered already.")) from error
    return key


def security_key_authentication_options(*, user: User, rp: RelyingParty, session: SessionBase) -> dict[str, Any] | None:
    """What navigator.credentials.get() needs for the person's keys at this host (None: they have none)."""
    keys = list(WebAuthnCredential.objects.filter(user=user, rp_id=rp.id, confirmed=True))
    if not keys:
        return None
    options = generate_authentication_options(
        rp_id=rp.id,
        allow_credentials=[
            PublicKeyCredentialDescriptor(
                id=base64url_to_bytes(key.credential_id), transports=_transports(key.transports)
            )
            for key in keys
        ],
        user_verification=UserVerificationRequirement.PREFERRED,
    )
    _challenge_store(session, purpose="authenticate", challenge=options.challenge, rp=rp)
    return options_to_json_dict(options)


def _refused(user: User, address: str) -> ValidationError:
    step = LoginThrottle.Step.SECOND_FACTOR
    if login_failure_record(username=user.username, address=address, step=step) is not None:
        return SecurityKeyLocked(_("Too many failed attempts from your address. Wait a few minutes and try again."))
    return ValidationError(_("Your security key's answer was not accepted. Try again, or type a code instead."))


def security_key_check(
    *, user: User, rp: RelyingParty, session: SessionBase, credential: str, address: str
) -> WebAuthnCredential:
    """The key of `user` that signed the pending challenge, or an error (counted like a wrong code)."""
    step = LoginThrottle.Step.SECOND_FACTOR
    if login_locked_until(username=user.username, address=address, step=step) is not None:
        raise SecurityKeyLocked(_("Too many failed attempts from your address. Wait a few minutes and try again."))
    try:
        answer = _credential_json(credential)
        challenge = _challenge_take(session, purpose="authenticate", rp=rp)
    except ValidationError:
        raise _refused(user, address) from None
    clone: tuple[WebAuthnCredential, int] | None = None
    with transaction.atomic():
        key = (
            WebAuthnCredential.objects.select_for_update()
            .filter(user=user, rp_id=rp.id, confirmed=True, credential_id=answer["id"])
            .first()
        )
        if key is None:
            raise _refused(user, address)
        try:
            # The counter is compared below, not by the library, so that a clone is told apart.
            verified = verify_authentication_response(
                credential=answer,
                expected_challenge=challenge,
                expected_rp_id=rp.id,
                expected_origin=rp.origin,
                credential_public_key=bytes(key.public_key),
                credential_current_sign_count=0,
            )
        except WebAuthnException:
            verified = None
        if verified is not None:
            new_count = verified.new_sign_count
            if (new_count > 0 or key.sign_count > 0) and new_count <= key.sign_count:
                clone = (key, new_count)
            else:
                key.sign_count = new_count
                key.last_used_at = timezone.now()
                key.save(update_fields=["sign_count", "last_used_at"])
    if verified is None:
        raise _refused(user, address)
    if clone is not None:
        key, new_count = clone
        audit_record(
            actor=user,
            verb="second_factor.key_clone_suspected",
            obj=user,
            region_code=user.home_region_id or "",
            before={"sign_count": key.sign_count},
            after={"key": key.pk, "name": key.name, "sign_count": new_count, "address": address},
        )
        raise ValidationError(
            _(
                "This security key reported a use count that did not grow: it may have been copied. "
                "It was not accepted; use the authenticator app and tell your administrator."
            )
        )
    login_success_record(username=user.username, address=address, step=step)
    return key


def security_key_remove(*, actor: User, key: WebAuthnCredential) -> None:
    """The person removes one of their own keys (their authenticator app and recovery codes stay)."""
    if key.user_id != actor.pk:
        raise PermissionDenied(_("You can remove only your own security keys."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="second_factor.key_remove",
            obj=actor,
            region_code=actor.home_region_id or "",
            before={"key": key.pk, "name": key.name, "host": key.rp_id},
        )
        key.delete()
