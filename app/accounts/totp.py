"""Two-factor sign-in with time-based one-time codes (TOTP, RFC 6238: 6 digits, 30 s steps,
what authenticator apps speak), and one-time recovery codes for a lost phone.

The secret is stored encrypted (Fernet) with a key derived from SECRET_KEY: a copy of the
database alone (a backup, a dump) doesn't give anyone the codes. Changing SECRET_KEY makes
stored secrets unreadable, so their accounts sign in with a recovery code and set up TOTP
again (docs/operations.md). Recovery codes are stored as SHA-256 digests, which don't
depend on SECRET_KEY. Neither the secret nor a code is ever logged or put in the audit log.

Replay: the newest accepted time step is kept per account and only moves forward (one
conditional UPDATE), so a code — or an older one still inside the ±1 step tolerance — can't
be used twice, even by two requests at once.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import io
import re
import secrets
import time
from datetime import datetime

import pyotp
import segno
from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from sqlalchemy import delete, or_, update
from sqlalchemy.orm import Session

from app.core.db import rows_matched
from app.models import TotpRecoveryCode, User, utcnow

ISSUER = "Chatbot"
STEP_SECONDS = 30
# Codes of the step before and after are accepted too (clocks drift, people type slowly).
TOLERANCE_STEPS = 1
RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"  # 5 bits a character: 40 per code
_TOTP_CODE = re.compile(r"^\d{6}$")
_RECOVERY_CODE = re.compile(r"^[a-z2-7]{8}$")


class SecretBox:
    """Encrypts TOTP secrets with a key derived from the app's signing key."""

    def __init__(self, signing_key: str) -> None:
        key = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"chatbot totp secret v1"
        ).derive(signing_key.encode())
        self._fernet = Fernet(base64.urlsafe_b64encode(key))

    def seal(self, secret: str) -> str:
        return self._fernet.encrypt(secret.encode()).decode()

    def open(self, sealed: str) -> str | None:
        """The secret, or None if it was sealed under another SECRET_KEY."""
        try:
            return self._fernet.decrypt(sealed.encode()).decode()
        except (InvalidToken, ValueError):
            return None


def new_secret() -> str:
    return pyotp.random_base32()


def otpauth_uri(secret: str, username: str) -> str:
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def qr_svg(uri: str) -> str:
    """The URI as a QR code, an SVG document (no XML declaration), made here so the secret
    never goes to a third-party QR service."""
    out = io.BytesIO()
    # A whole SVG document (with its namespace): the UI shows it as an <img> data: URI.
    segno.make(uri, error="m").save(out, kind="svg", xmldecl=False, scale=5, border=2)
    return out.getvalue().decode()


def _normalised(code: str) -> str:
    return "".join(code.split()).replace("-", "").lower()


def looks_like_totp(code: str) -> bool:
    return bool(_TOTP_CODE.match(_normalised(code)))


def matching_step(secret: str, code: str, *, now: float | None = None) -> int | None:
    """The time step `code` is valid for (within the tolerance), newest first; None if none."""
    code = _normalised(code)
    if not _TOTP_CODE.match(code):
        return None
    totp = pyotp.TOTP(secret, interval=STEP_SECONDS)
    current = int((time.time() if now is None else now) // STEP_SECONDS)
    for step in range(current + TOLERANCE_STEPS, current - TOLERANCE_STEPS - 1, -1):
        if hmac.compare_digest(totp.generate_otp(step), code):
            return step
    return None


def claim_step(session: Session, user_id: int, step: int) -> bool:
    """Record `step` as used; False if it (or a later one) was used already."""
    return (
        rows_matched(
            session,
            update(User)
            .where(
                User.id == user_id,
                or_(User.totp_last_step.is_(None), User.totp_last_step < step),
            )
            .values(totp_last_step=step),
        )
        == 1
    )


# -- recovery codes ------------------------------------------------------------------------
def _digest(code: str) -> str:
    return hashlib.sha256(b"chatbot-recovery:" + _normalised(code).encode()).hexdigest()


def new_recovery_codes(session: Session, user_id: int) -> list[str]:
    """Replace the account's recovery codes with RECOVERY_CODES new ones ("xxxx-xxxx")."""
    session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user_id))
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(8))
        codes.append(f"{raw[:4]}-{raw[4:]}")
        session.add(TotpRecoveryCode(user_id=user_id, code_hash=_digest(raw)))
    return codes


def use_recovery_code(
    session: Session, user_id: int, code: str, *, at: datetime | None = None
) -> bool:
    """Spend one recovery code; False if it isn't one of the account's unused ones."""
    if not _RECOVERY_CODE.match(_normalised(code)):
        return False
    return (
        rows_matched(
            session,
            update(TotpRecoveryCode)
            .where(
                TotpRecoveryCode.user_id == user_id,
                TotpRecoveryCode.code_hash == _digest(code),
                TotpRecoveryCode.used_at.is_(None),
            )
            .values(used_at=at or utcnow()),
        )
        == 1
    )


def forget(session: Session, user_id: int) -> None:
    """Turn two-factor sign-in off: the secret, the replay mark and the recovery codes go."""
    session.execute(
        update(User)
        .where(User.id == user_id)
        .values(totp_secret=None, totp_enabled_at=None, totp_last_step=None)
    )
    session.execute(delete(TotpRecoveryCode).where(TotpRecoveryCode.user_id == user_id))
