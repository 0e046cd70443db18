"""The operator's SSH public key, which the key pair is imported from."""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from pathlib import Path

from scripts.aws.errors import DeployError

# The key types EC2's ImportKeyPair accepts.
SUPPORTED_TYPES = ("ssh-ed25519", "ssh-rsa")
DEFAULT_KEYS = (".ssh/id_ed25519.pub", ".ssh/id_rsa.pub")


@dataclass(frozen=True)
class PublicKey:
    path: Path
    key_type: str
    blob: str

    @property
    def material(self) -> str:
        """The key without its comment, which is all EC2 keeps."""
        return f"{self.key_type} {self.blob}"

    @property
    def private_key_file(self) -> Path:
        return self.path.with_suffix("") if self.path.suffix == ".pub" else self.path


def find_public_key(explicit: Path | None, home: Path) -> PublicKey | None:
    """--ssh-key if given (it must be readable), else the first default key, else None."""
    if explicit is not None:
        return read_public_key(explicit.expanduser())
    for relative in DEFAULT_KEYS:
        candidate = home / relative
        if candidate.exists():
            return read_public_key(candidate)
    return None


def read_public_key(path: Path) -> PublicKey:
    try:
        text = path.read_text(encoding="ascii").strip()
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        raise DeployError(f"cannot read SSH public key {path}: {reason}") from None
    parts = text.split()
    if len(parts) < 2 or parts[0] not in SUPPORTED_TYPES:
        raise DeployError(
            f"{path} is not an OpenSSH public key of type {' or '.join(SUPPORTED_TYPES)}"
        )
    try:
        base64.b64decode(parts[1], validate=True)
    except binascii.Error:
        raise DeployError(f"{path} is not an OpenSSH public key (bad base64)") from None
    return PublicKey(path=path, key_type=parts[0], blob=parts[1])
