"""Accounts: register, login, token refresh, logout, me, change password, delete account."""

from __future__ import annotations

import contextlib
import uuid
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Cookie, HTTPException, Request, Response, status
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError

from app import crud
from app.api.deps import CurrentUser, StateDep, client_ip
from app.core import ratelimit
from app.core.db import write_transaction
from app.core.security import (
    create_access_token,
    hash_refresh_secret,
    new_refresh_secret,
)
from app.schemas import (
    ChangePasswordIn,
    DeleteAccountIn,
    ErrorOut,
    ExportConversation,
    ExportMessage,
    ExportOut,
    LoginIn,
    MeOut,
    RegisterIn,
    TokenOut,
    UserOut,
)

router = APIRouter(tags=["accounts"])

REFRESH_COOKIE = "refresh_token"
# Two tabs refreshing at once present the same token; within this grace the second one is
# refused without treating it as theft (its browser already holds the rotated cookie).
REFRESH_REUSE_GRACE = timedelta(seconds=10)

ERR_401 = {401: {"model": ErrorOut, "description": "Wrong or missing credentials"}}
ERR_429 = {429: {"model": ErrorOut, "description": "Too many attempts (see Retry-After)"}}


def _too_many(retry_after: int, what: str) -> HTTPException:
    return HTTPException(
        status.HTTP_429_TOO_MANY_REQUESTS,
        f"Too many {what}; try again in {retry_after} s",
        headers={"Retry-After": str(retry_after)},
    )


def _set_refresh_cookie(response: Response, state: StateDep, secret: str) -> None:
    response.set_cookie(
        REFRESH_COOKIE,
        secret,
        max_age=state.settings.refresh_token_ttl_days * 86_400,
        httponly=True,
        secure=state.settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def _clear_refresh_cookie(response: Response, state: StateDep) -> None:
    response.delete_cookie(
        REFRESH_COOKIE,
        httponly=True,
        secure=state.settings.secure_cookies,
        samesite="strict",
        path="/",
    )


def _issue_tokens(
    state: StateDep,
    response: Response,
    *,
    user_id: int,
    username: str,
    family_id: uuid.UUID | None = None,
) -> TokenOut:
    """Access token in the body, a new refresh token (same family when rotating) in the
    cookie. Runs in a worker thread: it writes."""
    secret = new_refresh_secret()
    with write_transaction(state.session_factory) as session:
        crud.purge_dead_refresh_tokens(session, user_id=user_id)
        crud.add_refresh_token(
            session,
            user_id=user_id,
            family_id=family_id or uuid.uuid4(),
            token_hash=hash_refresh_secret(secret, state.signing_key),
            ttl=timedelta(days=state.settings.refresh_token_ttl_days),
        )
    _set_refresh_cookie(response, state, secret)
    token, expires_in = create_access_token(
        user_id, state.signing_key, state.settings.access_token_ttl_seconds
    )
    return TokenOut(access_token=token, user_id=user_id, username=username, expires_in=expires_in)


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={409: {"model": ErrorOut, "description": "Username or email taken"}, **ERR_429},
)
async def register(body: RegisterIn, request: Request, state: StateDep) -> UserOut:
    settings = state.settings
    limit = ratelimit.Limit("register-ip", settings.register_rate_per_hour, 3600)
    ip = client_ip(request, settings)

    def throttle() -> None:
        with write_transaction(state.session_factory) as session:
            ratelimit.hit(session, limit, ip)

    try:
        await anyio.to_thread.run_sync(throttle)
    except ratelimit.RateLimited as exc:
        raise _too_many(exc.retry_after, "registrations from this address") from exc

    def check_taken() -> list[str]:
        with state.session_factory() as session:
            return crud.taken_fields(session, username=body.username, email=body.email)

    taken = await anyio.to_thread.run_sync(check_taken)
    if taken:
        raise HTTPException(status.HTTP_409_CONFLICT, f"{' and '.join(taken)} already registered")
    password_hash = await state.hasher.hash(body.password)

    def create() -> UserOut:
        with write_transaction(state.session_factory) as session:
            user = crud.create_user(
                session, username=body.username, email=body.email, password_hash=password_hash
            )
            return UserOut(id=user.id, username=user.username, email=user.email)

    try:
        return await anyio.to_thread.run_sync(create)
    except IntegrityError as exc:  # lost a race with an identical registration
        raise HTTPException(
            status.HTTP_409_CONFLICT, "username or email already registered"
        ) from exc


async def _login_body(request: Request) -> LoginIn:
    """JSON `{username, password}` (the original contract) or the OAuth2 password form."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("application/x-www-form-urlencoded", "multipart/form-data")):
            form = await request.form()
            return LoginIn(
                username=str(form.get("username", "")), password=str(form.get("password", ""))
            )
        return LoginIn.model_validate_json(await request.body())
    except ValidationError as exc:
        from fastapi.exceptions import RequestValidationError

        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from exc


@router.post(
    "/login",
    response_model=TokenOut,
    responses={**ERR_401, **ERR_429},
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": LoginIn.model_json_schema()},
                "application/x-www-form-urlencoded": {
                    "schema": {
                        "type": "object",
                        "required": ["username", "password"],
                        "properties": {
                            "username": {"type": "string"},
                            "password": {"type": "string", "format": "password"},
                        },
                    }
                },
            },
        }
    },
)
async def login(request: Request, response: Response, state: StateDep) -> TokenOut:
    body = await _login_body(request)
    settings = state.settings
    per_ip = ratelimit.Limit("login-ip", settings.login_rate_per_minute, 60)
    per_account = ratelimit.Limit("login-account", settings.login_rate_per_minute, 60)
    ip = client_ip(request, settings)
    account = body.username.strip().lower()

    def blocked() -> int | None:
        with state.session_factory() as session:
            return ratelimit.peek_exceeded(session, per_ip, ip) or ratelimit.peek_exceeded(
                session, per_account, account
            )

    retry_after = await anyio.to_thread.run_sync(blocked)
    if retry_after:
        raise _too_many(retry_after, "login attempts")

    def lookup() -> tuple[int, str, str] | None:
        with state.session_factory() as session:
            user = crud.get_user_by_login(session, login=body.username)
            return (user.id, user.username, user.password_hash) if user else None

    found = await anyio.to_thread.run_sync(lookup)
    # Unknown users are checked against a dummy hash: same work, same answer, same time.
    ok = await state.hasher.verify(body.password, found[2] if found else None)
    if not ok or found is None:

        def count_failure() -> None:
            with write_transaction(state.session_factory) as session:
                for limit, subject in ((per_ip, ip), (per_account, account)):
                    # Over the limit already: the next attempt is refused by `blocked`.
                    with contextlib.suppress(ratelimit.RateLimited):
                        ratelimit.hit(session, limit, subject)

        await anyio.to_thread.run_sync(count_failure)
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user_id, username, _ = found
    return await anyio.to_thread.run_sync(
        lambda: _issue_tokens(state, response, user_id=user_id, username=username)
    )


@router.post("/auth/refresh", response_model=TokenOut, responses=ERR_401)
def refresh(
    response: Response,
    state: StateDep,
    refresh_token: Annotated[str | None, Cookie(max_length=200)] = None,
) -> TokenOut:
    """Rotate the refresh cookie and get a new access token. Presenting an already-rotated
    token (outside a short grace) revokes the whole session family: it was stolen."""
    if not refresh_token:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "No session")
    token_hash = hash_refresh_secret(refresh_token, state.signing_key)
    now = datetime.now(UTC)
    refused: str | None = None
    with write_transaction(state.session_factory) as session:
        token = crud.get_refresh_token(session, token_hash=token_hash)
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            refused = "Session expired"
        elif token.used_at is not None or not crud.mark_refresh_used(session, token_id=token.id):
            if now - (token.used_at or now) > REFRESH_REUSE_GRACE:
                crud.revoke_family(session, family_id=token.family_id)  # committed below
                refused = "Session revoked"
            else:
                refused = "Session already refreshed"
        else:
            user = crud.get_user(session, token.user_id)
            assert user is not None  # tokens are deleted with their user
            user_id, username, family_id = user.id, user.username, token.family_id
    if refused:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, refused)
    return _issue_tokens(state, response, user_id=user_id, username=username, family_id=family_id)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(
    state: StateDep, refresh_token: Annotated[str | None, Cookie(max_length=200)] = None
) -> Response:
    if refresh_token:
        token_hash = hash_refresh_secret(refresh_token, state.signing_key)
        with write_transaction(state.session_factory) as session:
            token = crud.get_refresh_token(session, token_hash=token_hash)
            if token is not None:
                crud.revoke_family(session, family_id=token.family_id)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_refresh_cookie(response, state)
    return response


@router.get("/me", response_model=MeOut, responses=ERR_401)
def me(user: CurrentUser) -> MeOut:
    return MeOut(id=user.id, username=user.username, email=user.email, created_at=user.created_at)


@router.post("/me/password", response_model=TokenOut, responses=ERR_401)
async def change_password(
    body: ChangePasswordIn, user: CurrentUser, state: StateDep, response: Response
) -> TokenOut:
    """Change the password; every other session (refresh token) is revoked."""
    if not await state.hasher.verify(body.current_password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Current password is incorrect")
    new_hash = await state.hasher.hash(body.new_password)

    def store() -> TokenOut:
        with write_transaction(state.session_factory) as session:
            db_user = crud.get_user(session, user.id)
            if db_user is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
            db_user.password_hash = new_hash
            crud.revoke_user_tokens(session, user_id=user.id)
        return _issue_tokens(state, response, user_id=user.id, username=user.username)

    return await anyio.to_thread.run_sync(store)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses=ERR_401)
async def delete_account(body: DeleteAccountIn, user: CurrentUser, state: StateDep) -> Response:
    """Delete the account and every conversation, message and session of it."""
    if not await state.hasher.verify(body.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Password is incorrect")

    def remove() -> None:
        with write_transaction(state.session_factory) as session:
            crud.delete_user(session, user_id=user.id)

    await anyio.to_thread.run_sync(remove)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_refresh_cookie(response, state)
    return response


@router.get("/me/export", response_model=ExportOut, responses=ERR_401)
def export(user: CurrentUser, state: StateDep) -> JSONResponse:
    """Every conversation and message of mine, as a JSON download."""
    with state.session_factory() as session:
        rows = crud.export_user(session, user_id=user.id)
        out = ExportOut(
            user=MeOut(
                id=user.id, username=user.username, email=user.email, created_at=user.created_at
            ),
            exported_at=datetime.now(UTC),
            conversations=[
                ExportConversation(
                    id=conv.id,
                    title=conv.title,
                    system_prompt=conv.system_prompt,
                    created_at=conv.created_at,
                    updated_at=conv.updated_at,
                    messages=[
                        ExportMessage(
                            id=m.id, role=m.role, content=m.content, created_at=m.created_at
                        )
                        for m in msgs
                    ],
                )
                for conv, msgs in rows
            ],
        )
    stamp = out.exported_at.strftime("%Y%m%d")
    return JSONResponse(
        out.model_dump(mode="json"),
        headers={"Content-Disposition": f'attachment; filename="chatbot-export-{stamp}.json"'},
    )
