"""Link tokens (invites, password resets): 256 random bits, stored only as SHA-256.

Plain SHA-256, not a keyed hash: the token is already unguessable, and links must keep
working when SECRET_KEY is rotated."""

from __future__ import annotations

import hashlib
import secrets

# token_urlsafe(32) is 43 characters; anything much longer is not one of ours.
MAX_TOKEN_CHARS = 200


def new_token() -> str:
    return secrets.token_urlsafe(32)


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
