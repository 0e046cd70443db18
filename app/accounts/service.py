"""Accounts: registration, login, the refresh-token rotation of a sign-in, logout, password
change and account deletion. The routes in app/api/routes/auth.py only speak HTTP.

Words: a *sign-in* is what one login starts, a family of refresh tokens that rotate into
each other (stored as `refresh_tokens.family_id`); `session` is always a database session.
The API's error details keep saying "session", the word people know for a sign-in.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import anyio
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from app import crud
from app.accounts import audit, totp
from app.accounts.audit import Client
from app.admin import invites
from app.admin import settings as admin_settings
from app.admin.tokens import MAX_TOKEN_CHARS, hash_token
from app.core import ratelimit
from app.core.config import Settings
from app.core.db import rows_matched, write_transaction
from app.core.security import (
    PasswordHasher,
    create_access_token,
    hash_refresh_secret,
    new_refresh_secret,
)
from app.models import PasswordReset, User, utcnow

# Two tabs refreshing at once present the same token; within this grace the second one is
# refused without treating it as theft (its browser already holds the rotated cookie).
# Read at call time, so a test can shorten it.
REFRESH_REUSE_GRACE = timedelta(seconds=10)
# Our refresh secrets are 43 characters; anything much longer is not one of ours.
MAX_REFRESH_SECRET_CHARS = 200

ACCOUNT_DISABLED = "This account is disabled"
SIGNUPS_CLOSED = "Sign-ups are closed"
INVITE_REQUIRED = "An invite is required to sign up"
INVITE_INVALID = "This invite is invalid, expired or used up"
RESET_INVALID = "This reset link is invalid, expired or used"


class AccountError(Exception):
    """A refused account operation: `status` and `detail` are what the API answers;
    `retry_after` comes with a 429, `bearer_challenge` asks for WWW-Authenticate: Bearer,
    `field` names the body field a 422 is about."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        retry_after: int | None = None,
        bearer_challenge: bool = False,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.retry_after = retry_after
        self.bearer_challenge = bearer_challenge
        # A 422 about one body field: answered in the validation errors' shape.
        self.field = field
        self.headers = headers or {}


# Six-digit codes guessed at the login rate (10 a minute) would find one within a month
# for someone who has the password: codes get a stricter budget of their own, per account.
# Recovery codes (high entropy, spent on use) stay usable when it is spent.
TOTP_CODE_LIMITS = (
    ratelimit.Limit("totp-codes-15min", 5, 15 * 60),
    ratelimit.Limit("totp-codes-day", 20, 24 * 3600),
)


def _too_many(exc: ratelimit.RateLimited, what: str) -> AccountError:
    return AccountError(
        429, f"Too many {what}; try again in {exc.retry_after} s", retry_after=exc.retry_after
    )


def _check_policy(
    policy: admin_settings.SiteSettings, email: str, invite: str | None, invite_ok: bool
) -> None:
    """The sign-up policy's refusals. Under "open" an invite is optional: a usable one is
    counted, any other is ignored. The domain allow-list applies to every sign-up."""
    if policy.signup_policy == "closed":
        raise AccountError(403, SIGNUPS_CLOSED)
    if policy.signup_policy == "invite":
        if not invite:
            raise AccountError(403, INVITE_REQUIRED)
        if not invite_ok:
            raise AccountError(403, INVITE_INVALID)
    domains = policy.signup_email_domains
    if domains and email.rsplit("@", 1)[-1].lower() not in domains:
        raise AccountError(
            422,
            f"Sign-ups are limited to these email domains: {', '.join(domains)}",
            field="email",
        )


def _unknown_name_key(login: str) -> str:
    """The throttling key of a login name no account has: a digest, because a name may be
    longer than a counter key holds (254 characters), and people type passwords into the
    username field, which must not end up stored in the counters table."""
    digest = hashlib.sha256(login.strip().lower().encode()).hexdigest()
    return f"name:{digest[:32]}"


TOTP_REQUIRED = "Two-factor code required"
TOTP_INVALID = "Invalid two-factor code"
# The audit log gets one "throttled" event per throttled subject per minute, however hard
# it is hammered: every refused attempt would otherwise be a row.
THROTTLED_AUDIT = ratelimit.Limit("audit-throttled", 1, 60)


@dataclass(frozen=True)
class TotpSetup:
    secret: str
    otpauth_uri: str
    qr_svg: str


@dataclass(frozen=True)
class SignIn:
    """What a login, a refresh or a password change hands out: an access token for the
    body and the sign-in's current refresh secret for the cookie."""

    user_id: int
    username: str
    access_token: str
    expires_in: int
    refresh_secret: str


class AccountService:
    """Public methods are async; each database step is one whole sync method run in a
    worker thread, and password hashing runs in the hasher's bounded threads."""

    def __init__(
        self,
        settings: Settings,
        factory: sessionmaker[Session],
        hasher: PasswordHasher,
        signing_key: str,
    ) -> None:
        self.settings = settings
        self.factory = factory
        self.hasher = hasher
        self.signing_key = signing_key
        self.register_limit = ratelimit.Limit("register-ip", settings.register_rate_per_hour, 3600)
        self.login_account_limit = ratelimit.Limit(
            "login-account", settings.login_rate_per_minute, 60
        )
        self.login_ip_limit = ratelimit.Limit("login-ip", settings.login_rate_per_minute, 60)
        self.totp_box = totp.SecretBox(signing_key)

    # -- registration --------------------------------------------------------------------
    async def register(
        self,
        *,
        username: str,
        email: str,
        password: str,
        ip: str,
        invite: str | None = None,
        user_agent: str | None = None,
    ) -> User:
        """A new account, if the sign-up policy lets it in (app/admin/settings.py): open,
        invite (a usable invite is needed) or closed, and the email-domain allow-list."""
        await anyio.to_thread.run_sync(self._check_signup, email, invite)
        await anyio.to_thread.run_sync(self._count_registration, ip)
        taken = await anyio.to_thread.run_sync(self._taken_fields, username, email)
        if taken:
            raise AccountError(409, f"{' and '.join(taken)} already registered")
        password_hash = await self.hasher.hash(password)
        return await anyio.to_thread.run_sync(
            self._create_user, username, email, password_hash, invite, ip, user_agent
        )

    def _check_signup(self, email: str, invite: str | None) -> None:
        """Refuse early (before any counting or hashing) what the policy refuses; the
        invite is claimed for good only with the account (_create_user)."""
        with self.factory() as session:
            policy = admin_settings.current(session, self.settings)
            usable = invites.usable(session, invite) if invite else None
        _check_policy(policy, email, invite, usable is not None)

    def _count_registration(self, ip: str) -> None:
        try:
            with write_transaction(self.factory) as session:
                ratelimit.hit(session, self.register_limit, ip)
        except ratelimit.RateLimited as exc:
            raise _too_many(exc, "registrations from this address") from exc

    def _taken_fields(self, username: str, email: str) -> list[str]:
        with self.factory() as session:
            return crud.taken_fields(session, username=username, email=email)

    def _create_user(
        self,
        username: str,
        email: str,
        password_hash: str,
        invite: str | None,
        ip: str,
        user_agent: str | None,
    ) -> User:
        try:
            with write_transaction(self.factory) as session:
                # Checked again in the transaction that creates the account: an admin may
                # have closed sign-ups, or another sign-up taken the invite's last use.
                policy = admin_settings.current(session, self.settings)
                user = crud.create_user(
                    session, username=username, email=email, password_hash=password_hash
                )
                used = invites.claim(session, invite, user) if invite else None
                _check_policy(policy, email, invite, used is not None)
                audit.record(
                    session,
                    audit.REGISTER,
                    target=user,
                    actor=user,
                    ip=ip,
                    user_agent=user_agent,
                    details={"invite_id": used.id} if used else None,
                )
                return user
        except IntegrityError as exc:  # lost a race with an identical registration
            raise AccountError(409, "username or email already registered") from exc

    # -- login ---------------------------------------------------------------------------
    async def login(
        self,
        *,
        login: str,
        password: str,
        ip: str | None,
        user_agent: str | None = None,
        code: str | None = None,
    ) -> SignIn:
        """Username or email, and password (and the two-factor code when the account has
        TOTP on). Attempts are counted before the hash runs, per account and per client IP;
        a correct password gives its IP attempt back, so only failures use up an address's
        budget (an office behind one address signs in freely; guessing is throttled).
        Unknown names are checked against a dummy hash: same work, same answer, same time."""
        client = Client(ip, user_agent)
        user = await anyio.to_thread.run_sync(self._find_login, login)
        # One budget per account whichever name (username or email) is typed; unknown names
        # get their own, so probing them is throttled too.
        account = f"user:{user.id}" if user else _unknown_name_key(login)
        await anyio.to_thread.run_sync(self._count_password_attempt, account, ip, user, client)
        ok = await self.hasher.verify(password, user.password_hash if user else None)
        if not ok or user is None:
            await anyio.to_thread.run_sync(self._record_failure, user, "password", client)
            raise AccountError(401, "Incorrect username or password", bearer_challenge=True)
        if user.disabled_at is not None:  # said only to someone who knows the password
            raise AccountError(403, ACCOUNT_DISABLED)
        if user.totp_enabled:
            if not code:
                # The right password: not a failure. The client asks for the code and sends
                # the same login again with it (one more attempt of the account's budget).
                await anyio.to_thread.run_sync(self._give_back_ip_attempt, ip)
                raise AccountError(
                    401, TOTP_REQUIRED, bearer_challenge=True, headers={"X-TOTP-Required": "1"}
                )
            if not await anyio.to_thread.run_sync(self._second_factor, user.id, code):
                await anyio.to_thread.run_sync(self._record_failure, user, "totp", client)
                raise AccountError(
                    401, TOTP_INVALID, bearer_challenge=True, headers={"X-TOTP-Required": "1"}
                )
        return await anyio.to_thread.run_sync(self._start_sign_in, user, client)

    def _find_login(self, login: str) -> User | None:
        with self.factory() as session:
            return crud.get_user_by_login(session, login=login)

    def _count_password_attempt(
        self,
        account: str,
        ip: str | None,
        user: User | None = None,
        client: Client | None = None,
    ) -> None:
        """Count a password check before doing it, atomically, per account and per client
        IP: parallel guesses can't all slip past a check that only counted finished failures.
        A refused attempt rolls its own count back with the transaction."""
        limits = [(self.login_account_limit, account)]
        if ip is not None:
            limits.append((self.login_ip_limit, ip))
        try:
            with write_transaction(self.factory) as session:
                ratelimit.hit_many(session, limits)
        except ratelimit.RateLimited as exc:
            self._record_throttled(
                exc,
                account if exc.limit is not self.login_ip_limit else ip,
                user,
                client or Client(ip),
            )
            raise _too_many(exc, "password attempts") from exc

    def _give_back_ip_attempt(self, ip: str | None) -> None:
        if ip is not None:
            with write_transaction(self.factory) as session:
                ratelimit.give_back(session, self.login_ip_limit, ip)

    def _record_throttled(
        self, exc: ratelimit.RateLimited, subject: str | None, user: User | None, client: Client
    ) -> None:
        """A "throttled" audit event, at most one per limit and subject a minute."""
        try:
            with write_transaction(self.factory) as session:
                ratelimit.hit(session, THROTTLED_AUDIT, f"{exc.limit.name}:{subject}")
                audit.record(
                    session,
                    audit.THROTTLED,
                    target=user,
                    ip=client.ip,
                    user_agent=client.user_agent,
                    details={"limit": exc.limit.name, "retry_after": exc.retry_after},
                )
        except ratelimit.RateLimited:
            pass  # recorded already in this window

    def _record_failure(self, user: User | None, reason: str, client: Client) -> None:
        """A failed sign-in, in its own transaction. An unknown name is not stored: people
        type passwords into the username field."""
        with write_transaction(self.factory) as session:
            audit.record(
                session,
                audit.LOGIN_FAILED,
                target=user,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"reason": reason if user else "unknown account"},
            )

    def _second_factor(self, user_id: int, code: str) -> bool:
        """Check a TOTP code (its time step claimed, so it can't be replayed) or spend a
        recovery code. A TOTP code is counted against TOTP_CODE_LIMITS before it is checked
        (given back when right), so only wrong ones use the budget up."""
        with write_transaction(self.factory) as session:
            user = crud.get_user(session, user_id)
            if user is None or user.totp_secret is None:
                return False
            if not totp.looks_like_totp(code):
                return totp.use_recovery_code(session, user_id, code)
            subject = f"user:{user_id}"
            try:
                ratelimit.hit_many(session, [(limit, subject) for limit in TOTP_CODE_LIMITS])
            except ratelimit.RateLimited as exc:
                raise _too_many(exc, "two-factor codes (a recovery code still works)") from exc
            secret = self.totp_box.open(user.totp_secret)
            step = totp.matching_step(secret, code) if secret else None
            ok = step is not None and totp.claim_step(session, user_id, step)
            if ok:
                for limit in TOTP_CODE_LIMITS:
                    ratelimit.give_back(session, limit, subject)
            return ok

    def _start_sign_in(self, user: User, client: Client) -> SignIn:
        """A new sign-in: a refresh token of a new family, and an access token. The
        attempt counted against the client's IP is given back (only failures use it up)."""
        secret = new_refresh_secret()
        with write_transaction(self.factory) as session:
            self._add_refresh_token(session, user.id, secret, family_id=uuid.uuid4())
            crud.touch_last_active(session, user_id=user.id)
            if client.ip is not None:
                ratelimit.give_back(session, self.login_ip_limit, client.ip)
            audit.record(
                session,
                audit.LOGIN_OK,
                actor=user,
                ip=client.ip,
                user_agent=client.user_agent,
                details={"totp": True} if user.totp_enabled else None,
            )
        return self._sign_in(user.id, user.username, secret)

    def _sign_in(self, user_id: int, username: str, secret: str) -> SignIn:
        token, expires_in = create_access_token(
            user_id, self.signing_key, self.settings.access_token_ttl_seconds
        )
        return SignIn(user_id, username, token, expires_in, secret)

    def _add_refresh_token(
        self, session: Session, user_id: int, secret: str, *, family_id: uuid.UUID
    ) -> None:
        crud.purge_dead_refresh_tokens(session, user_id=user_id)
        crud.add_refresh_token(
            session,
            user_id=user_id,
            family_id=family_id,
            token_hash=hash_refresh_secret(secret, self.signing_key),
            ttl=timedelta(days=self.settings.refresh_token_ttl_days),
        )

    # -- refresh and logout --------------------------------------------------------------
    async def refresh(self, presented: str | None, client: Client | None = None) -> SignIn:
        """Rotate a sign-in's refresh token. Presenting an already-rotated one (outside a
        short grace) revokes the whole sign-in: it was stolen or replayed."""
        if not presented or len(presented) > MAX_REFRESH_SECRET_CHARS:
            raise AccountError(401, "No session")
        return await anyio.to_thread.run_sync(self._rotate, presented, client or Client())

    def _rotate(self, presented: str, client: Client) -> SignIn:
        secret = new_refresh_secret()
        # One transaction: claim the old token and add its successor, so a logout or
        # password change can't slip in between and leave a live token in a revoked family.
        with write_transaction(self.factory) as session:
            claimed = self._claim(session, presented, secret, client)
        # Outside the block: a refusal that revoked the sign-in has been committed.
        if isinstance(claimed, str):
            raise AccountError(401, claimed)
        return self._sign_in(claimed.id, claimed.username, secret)

    def _claim(self, session: Session, presented: str, secret: str, client: Client) -> User | str:
        """The user whose token was claimed and succeeded by `secret`, or why not."""
        now = utcnow()
        token = crud.get_refresh_token(
            session, token_hash=hash_refresh_secret(presented, self.signing_key)
        )
        if token is None or token.revoked_at is not None or token.expires_at <= now:
            return "Session expired"
        if token.used_at is not None or not crud.mark_refresh_used(session, token_id=token.id):
            # Used before (or by a request that won the claim just now).
            if now - (token.used_at or now) > REFRESH_REUSE_GRACE:
                crud.revoke_family(session, family_id=token.family_id)
                audit.record(
                    session,
                    audit.REFRESH_REUSE,
                    target=crud.get_user(session, token.user_id),
                    ip=client.ip,
                    user_agent=client.user_agent,
                )
                return "Session revoked"
            return "Session already refreshed"
        user = crud.get_user(session, token.user_id)
        if user is None:  # tokens are deleted with their user; defensive
            return "Session expired"
        if user.disabled_at is not None:
            return ACCOUNT_DISABLED
        self._add_refresh_token(session, user.id, secret, family_id=token.family_id)
        crud.touch_last_active(session, user_id=user.id)
        return user

    async def logout(self, presented: str | None) -> None:
        """End the sign-in the refresh secret belongs to (unknown secrets are ignored)."""
        if presented and len(presented) <= MAX_REFRESH_SECRET_CHARS:
            await anyio.to_thread.run_sync(self._end_sign_in, presented)

    def _end_sign_in(self, presented: str) -> None:
        with write_transaction(self.factory) as session:
            token = crud.get_refresh_token(
                session, token_hash=hash_refresh_secret(presented, self.signing_key)
            )
            if token is not None:
                crud.revoke_family(session, family_id=token.family_id)

    # -- the signed-in user --------------------------------------------------------------
    async def change_password(
        self, user: User, *, current: str, new: str, client: Client | None = None
    ) -> SignIn:
        """Every sign-in of the user is ended and a new one starts."""
        await self._check_password(user, current, "Current password is incorrect")
        new_hash = await self.hasher.hash(new)
        return await anyio.to_thread.run_sync(
            self._store_password, user.id, user.username, new_hash, client or Client()
        )

    def _store_password(self, user_id: int, username: str, new_hash: str, client: Client) -> SignIn:
        secret = new_refresh_secret()
        with write_transaction(self.factory) as session:
            db_user = crud.get_user(session, user_id)
            if db_user is None:  # deleted meanwhile
                raise AccountError(401, "Not authenticated")
            db_user.password_hash = new_hash
            crud.revoke_user_tokens(session, user_id=user_id)
            self._add_refresh_token(session, user_id, secret, family_id=uuid.uuid4())
            audit.record(
                session,
                audit.PASSWORD_CHANGED,
                actor=db_user,
                ip=client.ip,
                user_agent=client.user_agent,
            )
        return self._sign_in(user_id, username, secret)

    async def delete_account(
        self, user: User, *, password: str, client: Client | None = None
    ) -> None:
        """The user and every conversation, message and sign-in of it."""
        await self._check_password(user, password, "Password is incorrect")
        await anyio.to_thread.run_sync(self._delete_user, user, client or Client())

    def _delete_user(self, user: User, client: Client) -> None:
        with write_transaction(self.factory) as session:
            crud.delete_user(session, user_id=user.id)
            # Names are copied into the event: it outlives the account.
            audit.record(
                session,
                audit.ACCOUNT_DELETED,
                actor=user,
                ip=client.ip,
                user_agent=client.user_agent,
            )

    # -- two-factor sign-in --------------------------------------------------------------
    async def totp_setup(self, user: User, *, password: str) -> TotpSetup:
        """A new secret, pending until a code of it is confirmed (totp_enable). Setting up
        again before that replaces the pending secret."""
        if user.totp_enabled:
            raise AccountError(409, "Two-factor sign-in is already on")
        await self._check_password(user, password, "Password is incorrect")
        secret = totp.new_secret()
        await anyio.to_thread.run_sync(self._store_pending_secret, user.id, secret)
        uri = totp.otpauth_uri(secret, user.username)
        return TotpSetup(secret=secret, otpauth_uri=uri, qr_svg=totp.qr_svg(uri))

    def _store_pending_secret(self, user_id: int, secret: str) -> None:
        with write_transaction(self.factory) as session:
            db_user = crud.get_user(session, user_id)
            if db_user is None:
                raise AccountError(401, "Not authenticated")
            if db_user.totp_enabled:  # turned on meanwhile (another tab)
                raise AccountError(409, "Two-factor sign-in is already on")
            db_user.totp_secret = self.totp_box.seal(secret)
            db_user.totp_last_step = None

    async def totp_enable(
        self, user: User, *, code: str, client: Client | None = None
    ) -> list[str]:
        """Confirm the pending secret with a code of it; the recovery codes (shown once)."""
        # Codes are guessed like passwords: the account's budget counts them.
        await anyio.to_thread.run_sync(self._count_password_attempt, f"user:{user.id}", None)
        return await anyio.to_thread.run_sync(self._enable, user.id, code, client or Client())

    def _enable(self, user_id: int, code: str, client: Client) -> list[str]:
        with write_transaction(self.factory) as session:
            db_user = crud.get_user(session, user_id)
            if db_user is None:
                raise AccountError(401, "Not authenticated")
            if db_user.totp_enabled:
                raise AccountError(409, "Two-factor sign-in is already on")
            secret = self.totp_box.open(db_user.totp_secret) if db_user.totp_secret else None
            if secret is None:
                raise AccountError(409, "Start the two-factor setup first")
            step = totp.matching_step(secret, code)
            if step is None or not totp.claim_step(session, user_id, step):
                raise AccountError(400, TOTP_INVALID)
            db_user.totp_enabled_at = utcnow()
            codes = totp.new_recovery_codes(session, user_id)
            audit.record(
                session,
                audit.TOTP_ENABLED,
                actor=db_user,
                ip=client.ip,
                user_agent=client.user_agent,
            )
        return codes

    async def totp_disable(
        self, user: User, *, password: str, code: str, client: Client | None = None
    ) -> None:
        """Turn two-factor sign-in off: the password and a current code (or a recovery
        code) are both needed."""
        if not user.totp_enabled:
            raise AccountError(409, "Two-factor sign-in is not on")
        await self._check_password(user, password, "Password is incorrect")
        if not await anyio.to_thread.run_sync(self._second_factor, user.id, code):
            raise AccountError(400, TOTP_INVALID)
        await anyio.to_thread.run_sync(self._disable, user.id, client or Client())

    def _disable(self, user_id: int, client: Client) -> None:
        with write_transaction(self.factory) as session:
            totp.forget(session, user_id)
            audit.record(
                session,
                audit.TOTP_DISABLED,
                actor=crud.get_user(session, user_id),
                ip=client.ip,
                user_agent=client.user_agent,
            )

    async def _check_password(self, user: User, password: str, refusal: str) -> None:
        # The account's login budget guards these too: a stolen access token must not
        # become an unthrottled password oracle.
        await anyio.to_thread.run_sync(self._count_password_attempt, f"user:{user.id}", None)
        if not await self.hasher.verify(password, user.password_hash):
            raise AccountError(401, refusal)

    # -- password-reset links (made by an admin, app/admin/service.py) --------------------
    async def reset_password(
        self, *, token: str, new_password: str, ip: str, user_agent: str | None
    ) -> None:
        """Set a new password with a one-time reset link; every sign-in of the account ends.
        An unknown token is refused before any hashing, so guessing costs us nothing."""
        if not await anyio.to_thread.run_sync(self._reset_usable, token):
            raise AccountError(400, RESET_INVALID)
        new_hash = await self.hasher.hash(new_password)
        await anyio.to_thread.run_sync(self._use_reset, token, new_hash, ip, user_agent)

    def _reset_usable(self, token: str) -> bool:
        if not token or len(token) > MAX_TOKEN_CHARS:
            return False
        with self.factory() as session:
            reset = session.scalar(
                select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
            )
        return reset is not None and reset.used_at is None and reset.expires_at > utcnow()

    def _use_reset(self, token: str, new_hash: str, ip: str, user_agent: str | None) -> None:
        now = utcnow()
        with write_transaction(self.factory) as session:
            reset = session.scalar(
                select(PasswordReset).where(PasswordReset.token_hash == hash_token(token))
            )
            if reset is None:
                raise AccountError(400, RESET_INVALID)
            # Claimed with a conditional UPDATE: of two uses at once, only one matches.
            claimed = rows_matched(
                session,
                update(PasswordReset)
                .where(
                    PasswordReset.id == reset.id,
                    PasswordReset.used_at.is_(None),
                    PasswordReset.expires_at > now,
                )
                .values(used_at=now)
                .execution_options(synchronize_session=False),
            )
            user = crud.get_user(session, reset.user_id)
            if claimed != 1 or user is None:
                raise AccountError(400, RESET_INVALID)
            user.password_hash = new_hash
            crud.revoke_user_tokens(session, user_id=user.id)
            audit.record(
                session,
                audit.PASSWORD_RESET_USED,
                actor=user,
                target=user,
                ip=ip,
                user_agent=user_agent,
                details={"link_by": reset.created_by} if reset.created_by else None,
            )
