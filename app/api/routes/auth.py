"""Accounts over HTTP: register, login, token refresh, logout, me, change password, delete
account, export. The account logic is app.accounts.service; these routes validate, call
it and shape the answer (the refresh cookie is theirs: it is HTTP)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Cookie, HTTPException, Request, Response, status
from fastapi.responses import StreamingResponse

from app.accounts.export import export_json
from app.accounts.service import AccountError, SignIn
from app.api.deps import (
    CurrentUser,
    Responses,
    StateDep,
    admin_must_enrol,
    client_ip,
    request_client,
)
from app.api.login_body import LOGIN_OPENAPI, LoginBody
from app.core.config import Settings
from app.schemas import (
    ChangePasswordIn,
    DeleteAccountIn,
    ErrorOut,
    ExportOut,
    MeOut,
    PasswordResetIn,
    RegisterIn,
    TokenOut,
    TotpDisableIn,
    TotpEnableIn,
    TotpEnableOut,
    TotpSetupIn,
    TotpSetupOut,
    UserOut,
)

router = APIRouter(
    tags=["accounts"],
    responses={413: {"model": ErrorOut, "description": "Request body too large"}},
)

REFRESH_COOKIE = "refresh_token"

ERR_401: Responses = {401: {"model": ErrorOut, "description": "Wrong or missing credentials"}}
ERR_429: Responses = {
    429: {"model": ErrorOut, "description": "Too many attempts (see Retry-After)"}
}


def _http_error(exc: AccountError) -> HTTPException:
    if exc.field is not None:  # a 422 about one field, in the validation errors' shape
        detail = [{"loc": ["body", exc.field], "msg": exc.detail, "type": "value_error"}]
        return HTTPException(exc.status, detail)
    headers = dict(exc.headers)
    if exc.retry_after is not None:
        headers["Retry-After"] = str(exc.retry_after)
    if exc.bearer_challenge:
        headers["WWW-Authenticate"] = "Bearer"
    return HTTPException(exc.status, exc.detail, headers=headers or None)


def _token_out(response: Response, settings: Settings, sign_in: SignIn) -> TokenOut:
    """The login-shaped answer: the access token in the body, the refresh secret in an
    httpOnly cookie the page's scripts never see."""
    response.set_cookie(
        REFRESH_COOKIE,
        sign_in.refresh_secret,
        max_age=settings.refresh_token_ttl_days * 86_400,
        httponly=True,
        secure=settings.secure_cookies,
        samesite="strict",
        path="/",
    )
    return TokenOut(
        access_token=sign_in.access_token,
        user_id=sign_in.user_id,
        username=sign_in.username,
        expires_in=sign_in.expires_in,
    )


def _without_refresh_cookie(settings: Settings) -> Response:
    response = Response(status_code=status.HTTP_204_NO_CONTENT)
    response.delete_cookie(
        REFRESH_COOKIE, httponly=True, secure=settings.secure_cookies, samesite="strict", path="/"
    )
    return response


@router.post(
    "/register",
    status_code=status.HTTP_201_CREATED,
    response_model=UserOut,
    responses={
        403: {"model": ErrorOut, "description": "Sign-ups closed, invite required or invalid"},
        409: {"model": ErrorOut, "description": "Username or email taken"},
        **ERR_429,
    },
)
async def register(body: RegisterIn, request: Request, state: StateDep) -> UserOut:
    """Sign up, as the sign-up policy allows (GET /config's `signup`): `invite` is the token
    of an admin's invite link; an email outside the allowed domains is a 422 on `email`."""
    try:
        user = await state.accounts.register(
            username=body.username,
            email=body.email,
            password=body.password,
            ip=client_ip(request, state.settings),
            invite=body.invite,
            user_agent=request.headers.get("user-agent"),
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return UserOut.model_validate(user)


@router.post(
    "/login",
    response_model=TokenOut,
    responses={
        **ERR_401,
        403: {"model": ErrorOut, "description": "The account is disabled"},
        **ERR_429,
    },
    openapi_extra=LOGIN_OPENAPI,
)
async def login(body: LoginBody, request: Request, response: Response, state: StateDep) -> TokenOut:
    try:
        client = request_client(request, state.settings)
        sign_in = await state.accounts.login(
            login=body.username,
            password=body.password,
            ip=client.ip,
            user_agent=client.user_agent,
            code=body.totp,
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return _token_out(response, state.settings, sign_in)


@router.post("/auth/refresh", response_model=TokenOut, responses=ERR_401)
async def refresh(
    request: Request,
    response: Response,
    state: StateDep,
    refresh_token: Annotated[str | None, Cookie()] = None,
) -> TokenOut:
    """Rotate the refresh cookie and get a new access token. Presenting an already-rotated
    token (outside a short grace) ends that sign-in everywhere: it was stolen."""
    try:
        sign_in = await state.accounts.refresh(
            refresh_token, request_client(request, state.settings)
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return _token_out(response, state.settings, sign_in)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT)
async def logout(
    state: StateDep, refresh_token: Annotated[str | None, Cookie()] = None
) -> Response:
    await state.accounts.logout(refresh_token)
    return _without_refresh_cookie(state.settings)


@router.post(
    "/password-reset",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={400: {"model": ErrorOut, "description": "Invalid, expired or used link"}},
)
async def password_reset(body: PasswordResetIn, request: Request, state: StateDep) -> Response:
    """Set a new password with a one-time link an admin made (`#/reset/<token>`). Every
    sign-in of the account ends; log in with the new password."""
    try:
        await state.accounts.reset_password(
            token=body.token,
            new_password=body.new_password,
            ip=client_ip(request, state.settings),
            user_agent=request.headers.get("user-agent"),
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", response_model=MeOut, responses=ERR_401)
def me(user: CurrentUser, state: StateDep) -> MeOut:
    out = MeOut.model_validate(user)
    out.totp_required = admin_must_enrol(state, user)
    return out


@router.post("/me/password", response_model=TokenOut, responses={**ERR_401, **ERR_429})
async def change_password(
    body: ChangePasswordIn,
    user: CurrentUser,
    state: StateDep,
    request: Request,
    response: Response,
) -> TokenOut:
    """Change the password; every sign-in (refresh token) is ended and a new one starts."""
    try:
        sign_in = await state.accounts.change_password(
            user,
            current=body.current_password,
            new=body.new_password,
            client=request_client(request, state.settings),
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return _token_out(response, state.settings, sign_in)


@router.delete("/me", status_code=status.HTTP_204_NO_CONTENT, responses={**ERR_401, **ERR_429})
async def delete_account(
    body: DeleteAccountIn, user: CurrentUser, state: StateDep, request: Request
) -> Response:
    """Delete the account and every conversation, message and sign-in of it."""
    try:
        await state.accounts.delete_account(
            user, password=body.password, client=request_client(request, state.settings)
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return _without_refresh_cookie(state.settings)


TOTP_ERRORS: Responses = {
    **ERR_401,
    **ERR_429,
    400: {"model": ErrorOut, "description": "Invalid two-factor code"},
    409: {"model": ErrorOut, "description": "Two-factor sign-in already on (or not on)"},
}


@router.post("/me/totp/setup", response_model=TotpSetupOut, responses=TOTP_ERRORS)
async def totp_setup(body: TotpSetupIn, user: CurrentUser, state: StateDep) -> TotpSetupOut:
    """Start turning on two-factor sign-in: a new secret, its otpauth URI and QR code (SVG).
    Pending until confirmed with a code (POST /me/totp/enable)."""
    try:
        setup = await state.accounts.totp_setup(user, password=body.password)
    except AccountError as exc:
        raise _http_error(exc) from exc
    return TotpSetupOut(secret=setup.secret, otpauth_uri=setup.otpauth_uri, qr_svg=setup.qr_svg)


@router.post("/me/totp/enable", response_model=TotpEnableOut, responses=TOTP_ERRORS)
async def totp_enable(
    body: TotpEnableIn, user: CurrentUser, state: StateDep, request: Request
) -> TotpEnableOut:
    """Confirm the pending secret with a current code: two-factor sign-in is on. The answer
    holds 10 one-time recovery codes, shown only here."""
    try:
        codes = await state.accounts.totp_enable(
            user, code=body.code, client=request_client(request, state.settings)
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return TotpEnableOut(recovery_codes=codes)


@router.post("/me/totp/disable", status_code=status.HTTP_204_NO_CONTENT, responses=TOTP_ERRORS)
async def totp_disable(
    body: TotpDisableIn, user: CurrentUser, state: StateDep, request: Request
) -> Response:
    """Turn two-factor sign-in off: the password and a current (or recovery) code."""
    try:
        await state.accounts.totp_disable(
            user,
            password=body.password,
            code=body.code,
            client=request_client(request, state.settings),
        )
    except AccountError as exc:
        raise _http_error(exc) from exc
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get(
    "/me/export",
    response_class=StreamingResponse,
    responses={200: {"model": ExportOut, "description": "JSON download"}, **ERR_401},
)
def export(user: CurrentUser, state: StateDep) -> StreamingResponse:
    """Every conversation and message of mine, as a JSON download, streamed a page of
    messages at a time."""
    exported_at = datetime.now(UTC)
    stamp = exported_at.strftime("%Y%m%d")
    return StreamingResponse(
        export_json(state.session_factory, user, exported_at),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="chatbot-export-{stamp}.json"'},
    )
