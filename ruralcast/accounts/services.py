"""Writes to users, role grants and API tokens. Every one checks scope and is audited."""

import hashlib
import secrets
from datetime import datetime
from typing import Any

from django.contrib.auth import password_validation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from ruralcast.accounts.access import (
    access_require,
    access_require_manage_user,
    forget_cached_scopes,
    is_platform_admin,
)
from ruralcast.accounts.models import ApiToken, RoleGrant, User
from ruralcast.accounts.roles import RESERVED_ROLES, SYSTEM_ROLES, Action, Role
from ruralcast.audit.services import audit_record
from ruralcast.core.errors import Conflict, PermissionDenied, ValidationError
from ruralcast.regions.models import Region

TOKEN_PREFIX = "rc"  # noqa: S105 — a public marker, not a secret


def refuse_system_account(user: User) -> None:
    """System accounts (a CAP feed's drafting account, `roles.SYSTEM_ROLES`) are not edited as people:
    no roles granted or revoked, no deactivation or password by hand. What owns them manages them
    (deleting a feed deactivates its account)."""
    if RoleGrant.objects.filter(user=user, role__in=SYSTEM_ROLES).exists():
        raise Conflict(
            _("“%(name)s” is a system account (a CAP feed's), not a person: manage it from its feed's page.")
            % {"name": user.get_username()}
        )


def _user_summary(user: User) -> dict[str, Any]:
    return {
        "username": user.username,
        "full_name": user.full_name,
        "email": user.email,
        "home_region": user.home_region_id,
        "is_active": user.is_active,
    }


def password_check(*, password: str, user: User | None = None) -> None:
    """Apply the password policy; raise ValidationError naming what is wrong."""
    try:
        password_validation.validate_password(password, user=user)
    except DjangoValidationError as error:
        raise ValidationError(" ".join(error.messages), fields={"password": list(error.messages)}) from error


def user_create(
    *,
    actor: User | None,
    username: str,
    password: str,
    home_region: Region,
    full_name: str = "",
    email: str = "",
) -> User:
    """Create a person's account. `actor` None means the system itself (set-up, demo)."""
    if actor is not None:
        access_require(user=actor, action=Action.USER_MANAGE, region=home_region)
    username = username.strip()
    if not username or len(username) > 150 or not all(c.isalnum() or c in "@.+-_" for c in username):
        raise ValidationError(
            _("Usernames use letters, digits and @ . + - _ (at most 150 characters)."),
            fields={"username": [_("Invalid username.")]},
        )
    if User.objects.filter(username__iexact=username).exists():
        raise Conflict(_("The username “%(name)s” is taken.") % {"name": username}, fields={"username": [_("Taken.")]})
    candidate = User(username=username, full_name=full_name.strip(), email=email.strip(), home_region=home_region)
    password_check(password=password, user=candidate)
    with transaction.atomic():
        candidate.set_password(password)
        try:
            candidate.save()
        except IntegrityError as error:
            raise Conflict(_("The username “%(name)s” is taken.") % {"name": username}) from error
        audit_record(
            actor=actor,
            verb="user.create",
            obj=candidate,
            region_code=home_region.code,
            after=_user_summary(candidate),
        )
    return candidate


def user_set_active(*, actor: User, user: User, is_active: bool) -> User:
    """Deactivate (or reactivate) an account; users are never deleted so the audit trail holds.

    The actor's scope must cover the target's home region and every one of its grants.
    """
    access_require_manage_user(actor=actor, target=user)
    refuse_system_account(user)
    if actor.pk == user.pk and not is_active:
        raise ValidationError(_("You cannot deactivate your own account."))
    before = _user_summary(user)
    with transaction.atomic():
        user.is_active = is_active
        user.save(update_fields=["is_active"])
        audit_record(
            actor=actor,
            verb="user.activate" if is_active else "user.deactivate",
            obj=user,
            region_code=user.home_region.code if user.home_region else "",
            before=before,
            after=_user_summary(user),
        )
    return user


def user_password_change(*, actor: User, user: User, new_password: str, old_password: str | None = None) -> None:
    """A user changes their own password (with the old one) or an admin resets someone's."""
    if actor.pk == user.pk:
        if old_password is None or not user.check_password(old_password):
            raise ValidationError(_("The current password is wrong."), fields={"old_password": [_("Wrong password.")]})
    else:
        access_require_manage_user(actor=actor, target=user)
        refuse_system_account(user)
    password_check(password=new_password, user=user)
    with transaction.atomic():
        user.set_password(new_password)
        user.save(update_fields=["password"])
        audit_record(
            actor=actor,
            verb="user.password",
            obj=user,
            region_code=user.home_region.code if user.home_region else "",
            after={"changed_by_self": actor.pk == user.pk},
        )


def role_grant(*, actor: User | None, user: User, role: str, region: Region) -> RoleGrant:
    """Grant `role` on `region` (and so on its subtree) to `user`.

    The actor needs `role.grant` on that region and on every region of the grantee's existing grants
    (see `access_require_manage_user`); nobody grants a role to themselves (a second person always
    decides who may approve); platform administrator can be granted only by a platform administrator
    (or the system at set-up). The audit record names role, region, grantee and granter, which
    `audit.selectors.role_grants_recent` reads back for the alert approval screen.
    """
    if role not in Role.values:
        raise ValidationError(_("Unknown role “%(role)s”.") % {"role": role}, fields={"role": [_("Unknown role.")]})
    if actor is not None:
        if actor.pk == user.pk:
            raise PermissionDenied(_("Nobody grants roles to themselves; ask another administrator."))
        access_require(user=actor, action=Action.ROLE_GRANT, region=region)
        access_require_manage_user(actor=actor, target=user, action=Action.ROLE_GRANT)
        if role in RESERVED_ROLES and not is_platform_admin(actor):
            raise PermissionDenied(_("Only a platform administrator may grant this role."))
        refuse_system_account(user)
    if RoleGrant.objects.filter(user=user, role=role, region=region).exists():
        raise Conflict(_("%(user)s already holds this role in %(region)s.") % {"user": user, "region": region.name})
    with transaction.atomic():
        grant = RoleGrant.objects.create(user=user, role=role, region=region, granted_by=actor)
        audit_record(
            actor=actor,
            verb="role.grant",
            obj=grant,
            region_code=region.code,
            after=_grant_summary(grant, actor),
        )
    forget_cached_scopes(user)
    return grant


def _grant_summary(grant: RoleGrant, granter: User | None) -> dict[str, Any]:
    """Role, region, grantee and granter of a grant, as the audit trail keeps them (codes, no labels)."""
    return {
        "user": grant.user.username,
        "user_id": grant.user_id,
        "role": grant.role,
        "region": grant.region_id,
        "granted_by": granter.get_username() if granter is not None else None,
    }


def role_revoke(*, actor: User, grant: RoleGrant) -> None:
    """Revoke a grant. Like granting, the actor's scope must cover every grant the holder has."""
    access_require(user=actor, action=Action.ROLE_GRANT, region=grant.region)
    if grant.user_id != actor.pk:
        access_require_manage_user(actor=actor, target=grant.user, action=Action.ROLE_GRANT)
    if grant.role in RESERVED_ROLES and not is_platform_admin(actor):
        raise PermissionDenied(_("Only a platform administrator may revoke this role."))
    refuse_system_account(grant.user)
    if grant.user_id == actor.pk and grant.role in (Role.PLATFORM_ADMIN, Role.BUREAU_ADMIN):
        raise ValidationError(_("Ask another administrator to revoke your own administrator role."))
    with transaction.atomic():
        audit_record(
            actor=actor,
            verb="role.revoke",
            obj=grant,
            region_code=grant.region_id,
            before={**_grant_summary(grant, grant.granted_by), "revoked_by": actor.get_username()},
        )
        grant.delete()
    forget_cached_scopes(grant.user)


def _hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def api_token_create(*, user: User, name: str, expires_at: datetime | None = None) -> tuple[ApiToken, str]:
    """Create a bearer token for `user`'s own scripts; returns (token, plaintext shown once)."""
    name = name.strip()
    if not name:
        raise ValidationError(_("Give the token a name that says what uses it."), fields={"name": [_("Required.")]})
    if expires_at is not None and timezone.is_naive(expires_at):
        # A time without zone (e.g. "2030-01-01T08:00" sent to the API) is read as the console's forms read it.
        expires_at = timezone.make_aware(expires_at)
    if expires_at is not None and expires_at <= timezone.now():
        raise ValidationError(_("The expiry must be in the future."), fields={"expires_at": [_("In the past.")]})
    prefix = secrets.token_hex(4)
    secret = secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(
            user=user, name=name, prefix=prefix, secret_hash=_hash_secret(secret), expires_at=expires_at
        )
        audit_record(
            actor=user,
            verb="api_token.create",
            obj=token,
            region_code=user.home_region_id or "",
            after={"name": name, "prefix": prefix, "expires_at": expires_at},
        )
    return token, f"{TOKEN_PREFIX}_{prefix}_{secret}"


def api_token_revoke(*, actor: User, token: ApiToken) -> ApiToken:
    if token.user_id != actor.pk:
        raise PermissionDenied(_("You may revoke only your own tokens."))
    if token.revoked_at is not None:
        return token
    with transaction.atomic():
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        audit_record(
            actor=actor,
            verb="api_token.revoke",
            obj=token,
            region_code=actor.home_region_id or "",
            after={"prefix": token.prefix},
        )
    return token


def api_token_authenticate(*, presented: str) -> User | None:
    """The active user owning a valid, unexpired, unrevoked token, or None."""
    parts = presented.split("_", 2)
    if len(parts) != 3 or parts[0] != TOKEN_PREFIX:
        return None
    token = ApiToken.objects.select_related("user").filter(prefix=parts[1]).first()
    if token is None or token.revoked_at is not None:
        return None
    if not secrets.compare_digest(token.secret_hash, _hash_secret(parts[2])):
        return None
    now = timezone.now()
    if token.expires_at is not None and token.expires_at <= now:
        return None
    if not token.user.is_active:
        return None
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
