"""Accounts: register, login, token refresh, logout, me, change password, delete account."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Annotated

import anyio
from fastapi import APIRouter, Cookie, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

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
    ConversationOut,
    DeleteAccountIn,
    ErrorOut,
    ExportMessage,
    ExportOut,
    LoginIn,
    MeOut,
    RegisterIn,
    TokenOut,
    UserOut,
)

router = APIRouter(
    tags=["accounts"],
    responses={413: {"model": ErrorOut, "description": "Request body too large"}},
)

REFRESH_COOKIE = "refresh_token"
# Two tabs refreshing at once present the same token; within this grace the second one is
# refused without treating it as theft (its browser already holds the rotated cookie).
REFRESH_REUSE_GRACE = timedelta(seconds=10)
EXPORT_PAGE = 500
# Our refresh secrets are 43 characters; anything much longer is not one of ours.
MAX_COOKIE_CHARS = 200

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


def _add_refresh_token(
    state: StateDep, session: Session, *, user_id: int, secret: str, family_id: uuid.UUID
) -> None:
    crud.purge_dead_refresh_tokens(session, user_id=user_id)
    crud.add_refresh_token(
        session,
        user_id=user_id,
        family_id=family_id,
        token_hash=hash_refresh_secret(secret, state.signing_key),
        ttl=timedelta(days=state.settings.refresh_token_ttl_days),
    )


def _token_response(
    state: StateDep, response: Response, *, user_id: int, username: str, secret: str
) -> TokenOut:
    _set_refresh_cookie(response, state, secret)
    token, expires_in = create_access_token(
        user_id, state.signing_key, state.settings.access_token_ttl_seconds
    )
    return TokenOut(access_token=token, user_id=user_id, username=username, expires_in=expires_in)


def _issue_tokens(state: StateDep, response: Response, *, user_id: int, username: str) -> TokenOut:
    """A new session: access token in the body, a refresh token of a new family in the
    cookie. Runs in a worker thread: it writes."""
    secret = new_refresh_secret()
    with write_transaction(state.session_factory) as session:
        _add_refresh_token(state, session, user_id=user_id, secret=secret, family_id=uuid.uuid4())
    return _token_response(state, response, user_id=user_id, username=username, secret=secret)


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
    ip = client_ip(request, settings)

    def lookup() -> tuple[int, str, str] | None:
        with state.session_factory() as session:
            user = crud.get_user_by_login(session, login=body.username)
            return (user.id, user.username, user.password_hash) if user else None

    found = await anyio.to_thread.run_sync(lookup)
    # One budget per account whichever name (username or email) is typed; unknown names
    # get their own, so probing them is throttled too.
    account = f"user:{found[0]}" if found else f"name:{body.username.strip().lower()}"
    await _count_password_attempt(state, ip=ip, account=account)
    # Unknown users are checked against a dummy hash: same work, same answer, same time.
    ok = await state.hasher.verify(body.password, found[2] if found else None)
    if not ok or found is None:
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "Incorrect username or password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    user_id, username, _ = found
    return await anyio.to_thread.run_sync(
        lambda: _issue_tokens(state, response, user_id=user_id, username=username)
    )


async def _count_password_attempt(state: StateDep, *, ip: str | None, account: str) -> None:
    """Count a password check before doing it, atomically, per client IP and per account:
    parallel guesses can't all slip past a check that only counted finished failures."""
    limit = state.settings.login_rate_per_minute
    limits = [(ratelimit.Limit("login-account", limit, 60), account)]
    if ip is not None:
        limits.append((ratelimit.Limit("login-ip", limit, 60), ip))

    def count() -> None:
        with write_transaction(state.session_factory) as session:
            ratelimit.hit_many(session, limits)

    try:
        await anyio.to_thread.run_sync(count)
    except ratelimit.RateLimited as exc:
        raise _too_many(exc.retry_after, "password attempts") from exc


@router.post("/auth/refresh", response_model=TokenOut, responses=ERR_401)
def refresh(
    response: Response,
    state: StateDep,
    refresh_token: Annotated[str | None, Cookie()] = None,
) -> TokenOut:
    """Rotate the refresh cookie and get a new access token. Presenting an already-rotated
    token (outside a short grace) revokes the whole session family: it was stolen."""
    if not refresh_token or len(refresh_token) > MAX_COOKIE_CHARS:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "No session")
    token_hash = hash_refresh_secret(refresh_token, state.signing_key)
    now = datetime.now(UTC)
    refused: str | None = None
    secret = new_refresh_secret()
    # One transaction: claim the old token and add its successor, so a logout or password
    # change can't slip in between and leave a live token in a revoked family.
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
            if user is None:  # tokens are deleted with their user; defensive
                refused = "Session expired"
            else:
                user_id, username = user.id, user.username
                _add_refresh_token(state, session, user_id=user_id, secret=secret,
                                   family_id=token.family_id)  # fmt: skip
    if refused:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, refused)
    return _token_response(state, response, user_id=user_id, username=username, secret=secret)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
def logout(state: StateDep, refresh_token: Annotated[str | None, Cookie()] = None) -> Response:
    if refresh_token and len(refresh_token) <= MAX_COOKIE_CHARS:
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


@router.post("/me/password", response_model=TokenOut, responses={**ERR_401, **ERR_429})
async def change_password(
    body: ChangePasswordIn, user: CurrentUser, state: StateDep, response: Response
) -> TokenOut:
    """Change the password; every session (refresh token) is revoked and a new one starts."""
    await _count_password_attempt(state, ip=None, account=f"user:{user.id}")
    if not await state.hasher.verify(body.current_password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Current password is incorrect")
    new_hash = await state.hasher.hash(body.new_password)
    secret = new_refresh_secret()

    def store() -> None:
        with write_transaction(state.session_factory) as session:
            db_user = crud.get_user(session, user.id)
            if db_user is None:
                raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Not authenticated")
            db_user.password_hash = new_hash
            crud.revoke_user_tokens(session, user_id=user.id)
            _add_refresh_token(state, session, user_id=user.id, secret=secret,
                               family_id=uuid.uuid4())  # fmt: skip

    await anyio.to_thread.run_sync(store)
    return _token_response(state, response, user_id=user.id, username=user.username, secret=secret)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses={**ERR_401, **ERR_429})
async def delete_account(body: DeleteAccountIn, user: CurrentUser, state: StateDep) -> Response:
    """Delete the account and every conversation, message and session of it."""
    await _count_password_attempt(state, ip=None, account=f"user:{user.id}")
    if not await state.hasher.verify(body.password, user.password_hash):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "Password is incorrect")

    def remove() -> None:
        with write_transaction(state.session_factory) as session:
            crud.delete_user(session, user_id=user.id)

    await anyio.to_thread.run_sync(remove)
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    _clear_refresh_cookie(response, state)
    return response


@router.get(
    "/me/export",
    response_class=StreamingResponse,
    responses={200: {"model": ExportOut, "description": "JSON download"}, **ERR_401},
)
def export(user: CurrentUser, state: StateDep) -> StreamingResponse:
    """Every conversation and message of mine, as a JSON download. Streamed a page of
    messages at a time, so a large history never sits in memory whole."""
    me = MeOut(id=user.id, username=user.username, email=user.email, created_at=user.created_at)
    exported_at = datetime.now(UTC)

    def dumps(value: object) -> str:
        return json.dumps(value, ensure_ascii=False)

    def generate() -> Iterator[bytes]:
        head = {"user": me.model_dump(mode="json"), "exported_at": exported_at.isoformat()}
        yield (dumps(head)[:-1] + ', "conversations": [').encode()
        with state.session_factory() as session:
            conversations = crud.list_all_conversations(session, user_id=user.id)
        for n, conv in enumerate(conversations):
            meta = ConversationOut(
                id=conv.id,
                title=conv.title,
                system_prompt=conv.system_prompt,
                created_at=conv.created_at,
                updated_at=conv.updated_at,
            ).model_dump(mode="json")
            yield ((", " if n else "") + dumps(meta)[:-1] + ', "messages": [').encode()
            after, first = 0, True
            while True:
                with state.session_factory() as session:
                    page = crud.messages_after(
                        session, conversation_id=conv.id, after=after, limit=EXPORT_PAGE
                    )
                for m in page:
                    item = ExportMessage.model_validate(m).model_dump(mode="json")
                    yield (("" if first else ", ") + dumps(item)).encode()
                    first = False
                if len(page) < EXPORT_PAGE:
                    break
                after = page[-1].id
            yield b"]}"
        yield b"]}"

    stamp = exported_at.strftime("%Y%m%d")
    return StreamingResponse(
        generate(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="chatbot-export-{stamp}.json"'},
    )
