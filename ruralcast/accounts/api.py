"""Accounts API: who am I, users and their role grants (admins), my API tokens."""

from datetime import datetime

from django.urls import reverse
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from ruralcast.accounts import selectors, services
from ruralcast.accounts.models import ApiToken, RoleGrant, User
from ruralcast.accounts.requests import AuthenticatedHttpRequest
from ruralcast.accounts.roles import ROLE_ACTIONS, Role
from ruralcast.accounts.second_factor import second_factor_required, session_verified
from ruralcast.core.api_types import UtcDatetime
from ruralcast.core.errors import PermissionDenied
from ruralcast.regions.selectors import region_get

router = Router(tags=["accounts"])


class GrantOut(Schema):
    id: int
    role: str
    role_name: str = Field(..., alias="get_role_display")
    region_code: str = Field(..., alias="region_id")
    region_name: str = Field(..., alias="region.name")


class UserOut(Schema):
    username: str
    full_name: str
    email: str
    home_region: str | None = Field(None, alias="home_region_id")
    is_active: bool


class MeOut(UserOut):
    grants: list[GrantOut]


class RoleOut(Schema):
    role: str
    name: str
    actions: list[str]


@router.get("/me", response=MeOut, summary="The authenticated user and their grants")
def me(request: AuthenticatedHttpRequest) -> dict[str, object]:
    return _with_grants(request.user)


def _with_grants(user: User) -> dict[str, object]:
    return {**UserOut.from_orm(user).dict(by_alias=True), "grants": list(selectors.role_grant_list(user=user))}


@router.get("/roles", response=list[RoleOut], summary="The role catalogue and what each role may do")
def roles(request: AuthenticatedHttpRequest) -> list[dict[str, object]]:
    return [{"role": role.value, "name": str(role.label), "actions": sorted(ROLE_ACTIONS[role.value])} for role in Role]


class UserQuery(Schema):
    q: str = Field("", max_length=100)


@router.get("/users", response=list[UserOut], summary="Users in my regions")
@paginate
def user_list(request: AuthenticatedHttpRequest, params: Query[UserQuery]) -> object:
    return selectors.user_list(viewer=request.user, query=params.q)


class UserCreateIn(Schema):
    username: str = Field(..., max_length=150)
    password: str = Field(..., max_length=200)
    home_region: str = Field(..., max_length=12)
    full_name: str = Field("", max_length=150)
    email: str = Field("", max_length=254)


@router.post("/users", response={201: UserOut}, summary="Create a user")
def user_create(request: AuthenticatedHttpRequest, payload: UserCreateIn) -> Status[User]:
    user = services.user_create(
        actor=request.user,
        username=payload.username,
        password=payload.password,
        home_region=region_get(code=payload.home_region, field="home_region"),
        full_name=payload.full_name,
        email=payload.email,
    )
    return Status(201, user)


@router.get("/users/{username}", response=MeOut, summary="One user with grants")
def user_detail(request: AuthenticatedHttpRequest, username: str) -> dict[str, object]:
    return _with_grants(selectors.access_user(viewer=request.user, username=username))


class ActiveIn(Schema):
    is_active: bool


@router.post("/users/{username}/active", response=UserOut, summary="Activate or deactivate a user")
def user_set_active(request: AuthenticatedHttpRequest, username: str, payload: ActiveIn) -> User:
    user = selectors.access_user(viewer=request.user, username=username)
    return services.user_set_active(actor=request.user, user=user, is_active=payload.is_active)


class GrantIn(Schema):
    role: Role
    region: str = Field(..., max_length=12)


@router.post("/users/{username}/grants", response={201: GrantOut}, summary="Grant a role on a region")
def grant_create(request: AuthenticatedHttpRequest, username: str, payload: GrantIn) -> Status[RoleGrant]:
    user = selectors.access_user(viewer=request.user, username=username)
    grant = services.role_grant(
        actor=request.user,
        user=user,
        role=payload.role.value,
        region=region_get(code=payload.region),
    )
    return Status(201, grant)


@router.delete("/grants/{grant_id}", response={204: None}, summary="Revoke a role grant")
def grant_revoke(request: AuthenticatedHttpRequest, grant_id: int) -> Status[None]:
    grant = selectors.access_role_grant(viewer=request.user, grant_id=grant_id)
    services.role_revoke(actor=request.user, grant=grant)
    return Status(204, None)


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    last_used_at: datetime | None
    revoked_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str = Field(..., description="The secret; shown only in this answer.")


class TokenIn(Schema):
    name: str = Field(..., max_length=100)
    expires_at: UtcDatetime | None = None


@router.get("/tokens", response=list[TokenOut], summary="My API tokens")
def token_list(request: AuthenticatedHttpRequest) -> list[ApiToken]:
    return list(selectors.api_token_list(user=request.user))


@router.post("/tokens", response={201: TokenCreatedOut}, summary="Create an API token")
def token_create(request: AuthenticatedHttpRequest, payload: TokenIn) -> Status[dict[str, object]]:
    """People whose roles need a second factor create tokens only from a verified console session,
    never with another token: the token then stands for both factors."""
    if second_factor_required(request.user) and not session_verified(request.user):
        raise PermissionDenied(
            _(
                "Your roles need a second factor: create tokens on %(tokens)s in the console after entering "
                "the code from your authenticator app (TOTP) or using your security key on %(page)s."
            )
            % {"tokens": reverse("accounts:tokens"), "page": reverse("accounts:second_factor")}
        )
    token, secret = services.api_token_create(user=request.user, name=payload.name, expires_at=payload.expires_at)
    return Status(201, {**TokenOut.from_orm(token).dict(), "token": secret})


@router.delete("/tokens/{token_id}", response=TokenOut, summary="Revoke one of my API tokens")
def token_revoke(request: AuthenticatedHttpRequest, token_id: int) -> ApiToken:
    token = selectors.access_api_token(user=request.user, token_id=token_id)
    return services.api_token_revoke(actor=request.user, token=token)
