"""Annotated dependencies, so routes read like sentences: `user: CurrentUser`."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.accounts.audit import Client
from app.accounts.service import AccountService
from app.admin import settings as site_limits
from app.chat.turns import TurnService
from app.core.config import Settings
from app.core.security import decode_access_token
from app.models import User

# A route's `responses=` (OpenAPI's extra statuses), in FastAPI's own type.
Responses = dict[int | str, dict[str, Any]]


@dataclass
class AppState:
    """Everything built once per process in the lifespan (see app.main)."""

    settings: Settings
    session_factory: sessionmaker[Session]
    signing_key: str
    accounts: AccountService
    turns: TurnService


async def get_state(request: Request) -> AppState:
    # async on purpose: FastAPI runs a plain `def` dependency in the thread pool, which
    # here would be a thread hop on every request for an attribute read.
    services: AppState = request.app.state.services  # set by the lifespan (app.main)
    return services


StateDep = Annotated[AppState, Depends(get_state)]


def get_db(state: StateDep) -> Iterator[Session]:
    with state.session_factory() as session:
        yield session


SessionDep = Annotated[Session, Depends(get_db)]

# tokenUrl makes /docs' Authorize button log in through POST /login's form variant.
oauth2_scheme = OAuth2PasswordBearer(tokenUrl="login", auto_error=False)

UNAUTHORIZED = HTTPException(
    status_code=status.HTTP_401_UNAUTHORIZED,
    detail="Not authenticated",
    headers={"WWW-Authenticate": "Bearer"},
)


def get_current_user(state: StateDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> User:
    if not token:
        raise UNAUTHORIZED
    claims = decode_access_token(token, state.signing_key)
    if claims is None:
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Invalid or expired token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    # Its own short session: the route's session must start its transaction itself
    # (writers begin with BEGIN IMMEDIATE on SQLite, see app.core.db).
    with state.session_factory() as session:
        user = crud.get_user(session, claims.user_id)
    if user is None:  # deleted account with a still-unexpired token
        raise UNAUTHORIZED
    if user.disabled_at is not None:  # refused at once, whatever tokens it still holds
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="This account is disabled",
            headers={"WWW-Authenticate": "Bearer"},
        )
    valid_after = user.tokens_valid_after
    if valid_after is not None and claims.issued_at < valid_after.timestamp():
        # Issued before the password changed or was reset: that sign-in has ended.
        raise HTTPException(
            status_code=status.HTTP_401_UNAUTHORIZED,
            detail="Invalid or expired token",
            headers={"WWW-Authenticate": "Bearer"},
        )
    return user


CurrentUser = Annotated[User, Depends(get_current_user)]


def admin_must_enrol(state: AppState, user: User) -> bool:
    """An admin without two-factor sign-in while REQUIRE_ADMIN_TOTP is on."""
    if not user.is_admin or user.totp_enabled:
        return False
    with state.session_factory() as session:
        return site_limits.current(session, state.settings).require_admin_totp


def get_admin(user: CurrentUser, state: StateDep) -> User:
    if not user.is_admin:
        raise HTTPException(status_code=status.HTTP_403_FORBIDDEN, detail="Admins only")
    if admin_must_enrol(state, user):
        raise HTTPException(
            status_code=status.HTTP_403_FORBIDDEN,
            detail="Two-factor sign-in is required for admins",
        )
    return user


AdminUser = Annotated[User, Depends(get_admin)]


def request_client(request: Request, settings: Settings) -> Client:
    """Who sent `request`: its address (client_ip) and user agent, for limits and the audit."""
    return Client(client_ip(request, settings), request.headers.get("user-agent"))


def client_ip(request: Request, settings: Settings) -> str:
    """The client's address. Behind nginx (TRUST_PROXY_HEADERS) it is the one nginx saw;
    otherwise forwarded headers are ignored, since any client could forge them."""
    if settings.trust_proxy_headers:
        real = request.headers.get("x-real-ip")
        if real:
            return real.strip()
        forwarded = request.headers.get("x-forwarded-for")
        if forwarded:
            return forwarded.split(",")[-1].strip()
    return request.client.host if request.client else "unknown"
