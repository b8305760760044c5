"""Reads of users, grants, tokens and security keys, filtered to what the reader may see."""

from django.core.exceptions import ObjectDoesNotExist
from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from ruralcast.accounts.access import action_scope_q
from ruralcast.accounts.models import ApiToken, RoleGrant, User, WebAuthnCredential
from ruralcast.accounts.roles import SYSTEM_ROLES, Action
from ruralcast.core.errors import NotFound


class AccountKind:
    """Which accounts a users list shows: people (the default page), system accounts, or both."""

    PEOPLE = "people"
    SYSTEM = "system"
    ALL = "all"


def system_account_q() -> Q:
    """Accounts that hold a system role (`roles.SYSTEM_ROLES`): a CAP feed's drafting account."""
    return Q(pk__in=RoleGrant.objects.filter(role__in=SYSTEM_ROLES).values("user_id"))


def is_system_account(user: User) -> bool:
    return RoleGrant.objects.filter(user=user, role__in=SYSTEM_ROLES).exists()


def user_list(*, viewer: User, query: str = "", kind: str = AccountKind.ALL) -> QuerySet[User]:
    """Users whose home region lies where `viewer` holds `user.view`; `kind` keeps people or system accounts."""
    scope = action_scope_q(user=viewer, action=Action.USER_VIEW, field="home_region_id")
    if scope is None:
        return User.objects.none()
    users = User.objects.filter(scope).select_related("home_region")
    if kind == AccountKind.PEOPLE:
        users = users.exclude(system_account_q())
    elif kind == AccountKind.SYSTEM:
        users = users.filter(system_account_q())
    if query:
        users = users.filter(Q(username__icontains=query) | Q(full_name__icontains=query))
    return users.order_by("username")


def system_account_owner(*, user: User) -> object | None:
    """What a system account belongs to: its CAP feed (the feed's `account` is a one-to-one with
    related name `feed`; read through the relation because alerts sits above accounts)."""
    try:
        return user.feed  # type: ignore[attr-defined]
    except ObjectDoesNotExist:
        return None


def access_user(*, viewer: User, username: str) -> User:
    """A user the viewer may see, or NotFound (never revealing users outside their scope)."""
    user = user_list(viewer=viewer).filter(username=username).first()
    if user is None:
        raise NotFound(_("No user “%(name)s” in your regions.") % {"name": username})
    return user


def role_grant_list(*, user: User) -> QuerySet[RoleGrant]:
    return RoleGrant.objects.filter(user=user).select_related("region").order_by("region_id", "role")


def access_role_grant(*, viewer: User, grant_id: int) -> RoleGrant:
    grant = RoleGrant.objects.select_related("user", "region").filter(pk=grant_id).first()
    if grant is None or not user_list(viewer=viewer).filter(pk=grant.user_id).exists():
        raise NotFound(_("No such role grant."))
    return grant


def api_token_list(*, user: User) -> QuerySet[ApiToken]:
    return ApiToken.objects.filter(user=user).order_by("-created_at")


def access_api_token(*, user: User, token_id: int) -> ApiToken:
    token = api_token_list(user=user).filter(pk=token_id).first()
    if token is None:
        raise NotFound(_("No such token."))
    return token


def security_key_list(*, user: User) -> QuerySet[WebAuthnCredential]:
    """The person's own security keys (nobody else lists them: an administrator only resets them)."""
    return WebAuthnCredential.objects.filter(user=user).order_by("created_at", "pk")


def access_security_key(*, user: User, key_id: int) -> WebAuthnCredential:
    key = security_key_list(user=user).filter(pk=key_id).first()
    if key is None:
        raise NotFound(_("No such security key."))
    return key
