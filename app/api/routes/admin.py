"""The admin API (/admin/...): accounts, invites, run-time settings, the audit log. Every
route needs an admin (403 otherwise); the work is in app/admin/ and each action records an
"admin.*" audit event with the request's address and user agent."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request, Response, status

from app.accounts import audit
from app.admin import invites, service, usage_view
from app.admin import settings as admin_settings
from app.admin.schemas import (
    AdminUserOut,
    AdminUserPage,
    AdminUserPatch,
    AuditEventOut,
    AuditPage,
    InviteCreatedOut,
    InviteIn,
    InviteOut,
    InvitePage,
    PasswordResetLinkOut,
    SiteSettingsOut,
    SiteSettingsPatch,
)
from app.admin.service import AdminError
from app.api.deps import AdminUser, Responses, StateDep, request_client
from app.core.db import write_transaction
from app.models import Invite
from app.schemas import ErrorOut, Text

router = APIRouter(
    prefix="/admin",
    tags=["admin"],
    responses={
        401: {"model": ErrorOut, "description": "Not signed in"},
        403: {"model": ErrorOut, "description": "Admins only"},
    },
)

ERR_404: Responses = {404: {"model": ErrorOut, "description": "No such user"}}
ERR_409: Responses = {409: {"model": ErrorOut, "description": "The last admin"}}

UserId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Limit = Annotated[int, Query(ge=1, le=100)]
Offset = Annotated[int, Query(ge=0, le=10**9)]


def _origin(request: Request) -> str:
    """The site's origin as the admin's browser sees it (links are opened there)."""
    origin = request.headers.get("origin")
    if origin and origin.startswith(("https://", "http://")) and len(origin) <= 300:
        return origin.rstrip("/")
    return str(request.base_url).rstrip("/")


@contextmanager
def _admin_errors() -> Iterator[None]:
    try:
        yield
    except AdminError as exc:
        raise HTTPException(exc.status, exc.detail) from exc


# -- users ---------------------------------------------------------------------------------
@router.get("/users", response_model=AdminUserPage)
def list_users(
    admin: AdminUser,
    state: StateDep,
    q: Annotated[Text | None, Query(max_length=254)] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> AdminUserPage:
    """Accounts, oldest first; `q` matches username or email (case-insensitive, anywhere)."""
    with state.session_factory() as session:
        users, total = service.list_users(session, q=q, limit=limit, offset=offset)
        return AdminUserPage(items=usage_view.user_views(session, users), total=total)


@router.patch("/users/{user_id}", response_model=AdminUserOut, responses={**ERR_404, **ERR_409})
def update_user(
    user_id: UserId, body: AdminUserPatch, admin: AdminUser, state: StateDep, request: Request
) -> AdminUserOut:
    """Promote/demote (`role`) and disable/enable (`disabled`). Disabling ends every
    sign-in of the account at once."""
    with _admin_errors(), write_transaction(state.session_factory) as session:
        user = service.update_user(
            session,
            admin,
            user_id,
            role=body.role,
            disabled=body.disabled,
            info=request_client(request, state.settings),
        )
        return usage_view.user_views(session, [user])[0]


@router.delete(
    "/users/{user_id}", status_code=status.HTTP_204_NO_CONTENT, responses={**ERR_404, **ERR_409}
)
def delete_user(user_id: UserId, admin: AdminUser, state: StateDep, request: Request) -> Response:
    """Delete the account and all its conversations."""
    with _admin_errors(), write_transaction(state.session_factory) as session:
        service.delete_user(session, admin, user_id, info=request_client(request, state.settings))
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/users/{user_id}/password-reset", response_model=PasswordResetLinkOut, responses=ERR_404
)
def password_reset_link(
    user_id: UserId, admin: AdminUser, state: StateDep, request: Request
) -> PasswordResetLinkOut:
    """A one-time link (24 h) that sets a new password for the account; hand it over
    yourself. A newer link replaces an unused older one."""
    with _admin_errors(), write_transaction(state.session_factory) as session:
        token, expires_at = service.create_password_reset(
            session, admin, user_id, info=request_client(request, state.settings)
        )
    return PasswordResetLinkOut(url=f"{_origin(request)}/#/reset/{token}", expires_at=expires_at)


# -- invites -------------------------------------------------------------------------------
def _invite_out(invite: Invite, used_by: list[str]) -> dict[str, Any]:
    return {
        "id": invite.id,
        "note": invite.note,
        "max_uses": invite.max_uses,
        "uses": invite.uses,
        "expires_at": invite.expires_at,
        "revoked": invite.revoked_at is not None,
        "created_at": invite.created_at,
        "created_by": invite.created_by,
        "used_by": used_by,
    }


@router.get("/invites", response_model=InvitePage)
def list_invites(
    admin: AdminUser, state: StateDep, limit: Limit = 50, offset: Offset = 0
) -> InvitePage:
    """Invites, newest first, with who signed up with each (revoked ones stay listed)."""
    with state.session_factory() as session:
        rows, total = invites.page(session, limit=limit, offset=offset)
    return InvitePage(items=[InviteOut(**_invite_out(i, used)) for i, used in rows], total=total)


@router.post("/invites", status_code=status.HTTP_201_CREATED, response_model=InviteCreatedOut)
def create_invite(
    body: InviteIn, admin: AdminUser, state: StateDep, request: Request
) -> InviteCreatedOut:
    """A sign-up link for `max_uses` accounts within `expires_in_hours`. Its URL (with the
    token) is shown only in this answer."""
    info = request_client(request, state.settings)
    with write_transaction(state.session_factory) as session:
        invite, token = invites.create(
            session,
            by=admin,
            note=body.note,
            max_uses=body.max_uses,
            expires_in_hours=body.expires_in_hours,
        )
        audit.record(
            session,
            audit.ADMIN_INVITE_CREATED,
            actor=admin,
            ip=info.ip,
            user_agent=info.user_agent,
            details={
                "invite_id": invite.id,
                "max_uses": invite.max_uses,
                "expires_at": invite.expires_at.isoformat(),
                "note": invite.note,
            },
        )
    return InviteCreatedOut(**_invite_out(invite, []), url=f"{_origin(request)}/#/invite/{token}")


@router.delete(
    "/invites/{invite_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={404: {"model": ErrorOut, "description": "No such invite"}},
)
def revoke_invite(
    invite_id: Annotated[int, Path(ge=1, le=2**31 - 1)],
    admin: AdminUser,
    state: StateDep,
    request: Request,
) -> Response:
    """Revoke an invite: its link stops working; it stays in the list as revoked."""
    info = request_client(request, state.settings)
    with write_transaction(state.session_factory) as session:
        invite = invites.get(session, invite_id)
        if invite is None:
            raise HTTPException(status.HTTP_404_NOT_FOUND, "Invite not found")
        if invites.revoke(session, invite):
            audit.record(
                session,
                audit.ADMIN_INVITE_REVOKED,
                actor=admin,
                ip=info.ip,
                user_agent=info.user_agent,
                details={"invite_id": invite.id, "note": invite.note},
            )
    return Response(status_code=status.HTTP_204_NO_CONTENT)


# -- settings ------------------------------------------------------------------------------
@router.get("/settings", response_model=SiteSettingsOut)
def get_settings(admin: AdminUser, state: StateDep) -> SiteSettingsOut:
    """The effective run-time settings: an admin's override, else the env's value."""
    with state.session_factory() as session:
        return SiteSettingsOut(**admin_settings.current(session, state.settings).as_dict())


# Requiring two-factor sign-in of admins would lock out the admin who asks for it.
TOTP_FIRST = "Turn on two-factor sign-in for your own account before requiring it of admins"


@router.patch(
    "/settings",
    response_model=SiteSettingsOut,
    responses={409: {"model": ErrorOut, "description": "Two-factor sign-in is off for this admin"}},
)
def patch_settings(
    body: SiteSettingsPatch, admin: AdminUser, state: StateDep, request: Request
) -> SiteSettingsOut:
    """Change any subset; every worker and host sees it at once. A key sent as null goes
    back to the env's value. Answers the whole object. Requiring two-factor sign-in of
    admins needs it on the asking admin's own account first (409)."""
    changes = {key: getattr(body, key) for key in body.model_fields_set}
    if changes.get("require_admin_totp") is True and not admin.totp_enabled:
        raise HTTPException(status.HTTP_409_CONFLICT, TOTP_FIRST)
    info = request_client(request, state.settings)
    with write_transaction(state.session_factory) as session:
        after, changed = admin_settings.change(session, state.settings, changes, by=admin.username)
        if changed:
            audit.record(
                session,
                audit.ADMIN_SETTINGS_CHANGED,
                actor=admin,
                ip=info.ip,
                user_agent=info.user_agent,
                details=changed,
            )
    return SiteSettingsOut(**after.as_dict())


# -- audit ---------------------------------------------------------------------------------
@router.get("/audit", response_model=AuditPage)
def audit_log(
    admin: AdminUser,
    state: StateDep,
    event: Annotated[str | None, Query(max_length=40, pattern=r"^[a-z_.]+$")] = None,
    username: Annotated[Text | None, Query(max_length=254)] = None,
    since: datetime | None = None,
    before_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    limit: Limit = 50,
) -> AuditPage:
    """Newest first. `event` is a name or a prefix ending in "." ("admin."); `username`
    matches who acted or was acted on; page back with `before_id` (the last id seen)."""
    problem = None
    if since is not None and since.tzinfo is None:
        problem = "needs a time zone (Z or +00:00)"
    elif since is not None:
        try:
            since = since.astimezone(UTC)
        except OverflowError:  # 0001-01-01T00:00+14:00 is before the first UTC datetime
            problem = "is out of range"
    if problem:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"loc": ["query", "since"], "msg": problem, "type": "value_error"}],
        )
    with state.session_factory() as session:
        rows = audit.events(
            session,
            since=since,
            event=event,
            username=username,
            before_id=before_id,
            limit=limit + 1,
        )
    items = [AuditEventOut.model_validate(audit.as_dict(r)) for r in rows[:limit]]
    return AuditPage(items=items, has_more=len(rows) > limit)
