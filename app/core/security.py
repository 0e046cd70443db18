"""Password hashing, access tokens (JWT) and refresh-token secrets."""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import hmac
import secrets
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import anyio
import jwt
from passlib.hash import scrypt

# OWASP's scrypt settings: N=2^14, r=8, p=5 (16 MiB per hash); ~200 ms on this hardware.
# types-passlib leaves `using` unannotated; it returns the configured hasher class.
_hasher = scrypt.using(rounds=14, block_size=8, parallelism=5)  # type: ignore[no-untyped-call]

JWT_ALGORITHM = "HS256"


_M_MMAP_THRESHOLD = -3  # glibc's mallopt parameter number


def _keep_large_buffers_out_of_the_heap() -> None:
    """Each scrypt hash allocates a 16 MiB buffer. glibc serves the first from mmap, then
    raises its mmap threshold to that size, so later buffers come from the heap and stay
    resident after free. A fixed threshold keeps such buffers in mmap, returned to the OS
    as soon as they are freed (see bench/memory.py)."""
    name = ctypes.util.find_library("c")
    try:
        if name:
            ctypes.CDLL(name).mallopt(_M_MMAP_THRESHOLD, 1024 * 1024)
    except (OSError, AttributeError):  # not glibc: nothing to tune
        pass


_keep_large_buffers_out_of_the_heap()


class PasswordHasher:
    """Hashes off the event loop, at most `limit` at once: each hash holds 16 MiB, so a
    burst of logins queues instead of exhausting memory or starving other requests."""

    def __init__(self, limit: int) -> None:
        self._limiter = anyio.CapacityLimiter(limit)
        # A real hash of a random password: verifying unknown users against it costs the
        # same as a real check, so timing does not reveal which usernames exist.
        self._dummy_hash = _hasher.hash(secrets.token_urlsafe(16))

    async def hash(self, password: str) -> str:
        return await anyio.to_thread.run_sync(_hasher.hash, password, limiter=self._limiter)

    async def verify(self, password: str, password_hash: str | None) -> bool:
        target = password_hash or self._dummy_hash
        ok = await anyio.to_thread.run_sync(_verify, password, target, limiter=self._limiter)
        return ok and password_hash is not None


def _verify(password: str, password_hash: str) -> bool:
    try:
        return bool(_hasher.verify(password, password_hash))
    except (ValueError, TypeError):
        return False


@dataclass(frozen=True)
class AccessClaims:
    """What the app reads from a valid access token (PyJWT has checked the rest)."""

    user_id: int
    issued_at: float  # seconds since the epoch


def create_access_token(user_id: int, key: str, ttl_seconds: int) -> tuple[str, int]:
    now = datetime.now(UTC)
    payload = {
        "sub": str(user_id),
        # To the microsecond (a JWT NumericDate may have a fraction): a sign-in ended in
        # this very second must not let its tokens through (users.tokens_valid_after).
        "iat": now.timestamp(),
        "nbf": now,
        "exp": now + timedelta(seconds=ttl_seconds),
        "jti": uuid.uuid4().hex,
        "typ": "access",
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM), ttl_seconds


def decode_access_token(token: str, key: str) -> AccessClaims | None:
    """The claims of a valid token, or None. The algorithm is pinned: `alg: none` and
    tokens signed with anything else are rejected by PyJWT before the signature check."""
    try:
        payload = jwt.decode(
            token,
            key,
            algorithms=[JWT_ALGORITHM],
            options={"require": ["exp", "iat", "sub", "jti"]},
            leeway=5,
        )
    except jwt.PyJWTError:
        return None
    if payload.get("typ") != "access":
        return None
    try:
        user_id, issued_at = int(payload["sub"]), float(payload["iat"])
    except (TypeError, ValueError):
        return None
    return AccessClaims(user_id=user_id, issued_at=issued_at)


def new_refresh_secret() -> str:
    return secrets.token_urlsafe(32)


def hash_refresh_secret(secret: str, key: str) -> str:
    """Refresh tokens are stored as keyed hashes: a leaked table cannot be replayed."""
    return hmac.new(key.encode(), secret.encode(), hashlib.sha256).hexdigest()
