"""The one access helper every service calls: may user U do action A on region R?

A grant of role X on region G lets its holder do X's actions on G and everything below it (the
grant region's code prefix is a prefix of the target's code). Nothing else grants anything: no
superuser shortcut, no implicit rights of a user's home region.

Grants are loaded once per user object and cached on it, so checking many regions in one request
costs one query.
"""

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q
from django.utils.translation import gettext as _

from ruralcast.accounts.models import RoleGrant, User
from ruralcast.accounts.roles import ROLE_ACTIONS, Action, Role
from ruralcast.core.errors import PermissionDenied
from ruralcast.regions.codes import prefix_of, subtree_q
from ruralcast.regions.models import Region

_CACHE_ATTRIBUTE = "_ruralcast_grants"


@dataclass(frozen=True)
class Scope:
    """One grant as the access helper sees it: a role and the prefix of the subtree it covers."""

    role: str
    prefix: str
    region_code: str


def user_scopes(user: User) -> list[Scope]:
    """The user's grants (cached on the user object for the rest of the request)."""
    cached: list[Scope] | None = getattr(user, _CACHE_ATTRIBUTE, None)
    if cached is not None:
        return cached
    scopes: list[Scope] = []
    if user.is_authenticated and user.is_active:
        for role, code, level in RoleGrant.objects.filter(user=user).values_list(
            "role", "region__code", "region__level"
        ):
            scopes.append(Scope(role=role, prefix=prefix_of(code, level), region_code=code))
    setattr(user, _CACHE_ATTRIBUTE, scopes)
    return scopes


def user_scopes_of(user: User) -> list[Scope]:
    """Every grant `user` holds, whether or not the account is active (to judge who may manage it).

    `user_scopes` gives an inactive account no rights; managing it must still see what it holds.
    """
    return [
        Scope(role=role, prefix=prefix_of(code, level), region_code=code)
        for role, code, level in RoleGrant.objects.filter(user=user).values_list(
            "role", "region__code", "region__level"
        )
    ]


def forget_cached_scopes(user: User) -> None:
    """Call after changing a user's grants so the next check reads them afresh."""
    if hasattr(user, _CACHE_ATTRIBUTE):
        delattr(user, _CACHE_ATTRIBUTE)


def access_check(*, user: User, action: str, region: Region) -> bool:
    """True when one of the user's grants allows `action` on a region containing `region`."""
    return any(
        region.code.startswith(scope.prefix) and action in ROLE_ACTIONS[scope.role] for scope in user_scopes(user)
    )


def access_require(*, user: User, action: str, region: Region) -> None:
    """Raise PermissionDenied unless `access_check` allows the action."""
    if not access_check(user=user, action=action, region=region):
        raise PermissionDenied(
            _("You may not do “%(action)s” in %(region)s.") % {"action": _action_label(action), "region": region.name}
        )


def access_require_somewhere(*, user: User, action: str) -> None:
    """For pages that list what a user may act on: PermissionDenied unless a grant allows `action`
    somewhere (the listing itself is then filtered to those regions by the selectors)."""
    if not action_prefixes(user=user, action=action):
        raise PermissionDenied(
            _("Your roles do not allow “%(action)s” in any region.") % {"action": _action_label(action)}
        )


def access_require_all(*, user: User, action: str, regions: Iterable[Region]) -> None:
    """`access_require` over every region an act touches (an alert's targets, a command's areas):
    the first region the user may not act on refuses the whole act."""
    for region in regions:
        access_require(user=user, action=action, region=region)


def access_require_manage_user(*, actor: User, target: User, action: str = Action.USER_MANAGE) -> None:
    """Raise PermissionDenied unless `actor` may manage `target` (deactivate, reset, grant, revoke, edit).

    Managing a person is judged by the target's grants, not only by where they live: the actor's
    `action` must cover the target's home region and every region the target holds a role on. A county
    administrator therefore cannot deactivate, reset or re-role a provincial approver who happens to
    live in the county. A target without a home region is managed by platform administrators only.
    """
    home = target.home_region
    if home is None:
        if not is_platform_admin(actor):
            raise PermissionDenied(_("Only a platform administrator may change this account."))
    else:
        access_require(user=actor, action=action, region=home)
    outside = [
        scope.region_code
        for scope in user_scopes_of(target)
        if not any(scope.region_code.startswith(prefix) for prefix in action_prefixes(user=actor, action=action))
    ]
    if outside:
        raise PermissionDenied(
            _(
                "%(user)s also holds roles outside your regions (%(regions)s); an administrator whose "
                "regions cover all of them must make this change."
            )
            % {"user": target, "regions": ", ".join(sorted(set(outside)))}
        )


def _outermost(prefixes: Iterable[str]) -> list[str]:
    """The prefixes with those nested inside another removed (shortest first)."""
    kept: list[str] = []
    for prefix in sorted(set(prefixes), key=len):
        if not any(prefix.startswith(outer) for outer in kept):
            kept.append(prefix)
    return kept


def action_prefixes(*, user: User, action: str) -> list[str]:
    """Prefixes of the subtrees where the user may do `action` (redundant nested ones removed)."""
    return _outermost(scope.prefix for scope in user_scopes(user) if action in ROLE_ACTIONS[scope.role])


def granted_prefixes(*, user: User) -> list[str]:
    """Prefixes of the subtrees where the user holds any role at all (nested ones removed): the
    regions that are "theirs" for overviews such as the dashboard, whatever each role may do."""
    return _outermost(scope.prefix for scope in user_scopes(user))


def prefixes_q(prefixes: Iterable[str], field: str = "code") -> Q:
    """A filter selecting rows whose region `field` lies in any of the subtrees `prefixes` name."""
    prefixes = list(prefixes)
    if not prefixes:
        return Q(pk__in=[])  # nowhere
    if "" in prefixes:
        return Q()  # the national root: everything (an empty Q would vanish in an OR)
    query = Q()
    for prefix in prefixes:
        query |= subtree_q(prefix, field)
    return query


def action_scope_q(*, user: User, action: str, field: str = "code") -> Q | None:
    """A filter selecting rows whose region `field` lies where the user may do `action`.

    Returns None when the user may do it nowhere; selectors then return an empty queryset.
    """
    prefixes = action_prefixes(user=user, action=action)
    return prefixes_q(prefixes, field) if prefixes else None


def user_has_role(*, user: User, role: str) -> bool:
    return any(scope.role == role for scope in user_scopes(user))


def is_platform_admin(user: User) -> bool:
    return any(scope.role == Role.PLATFORM_ADMIN and scope.prefix == "" for scope in user_scopes(user))


def _action_label(action: str) -> str:
    try:
        return str(Action(action).label)
    except ValueError:
        return action
