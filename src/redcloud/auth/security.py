"""Small, pure security primitives: secret hashing, token digests, secret encryption."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import os
import secrets
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1
TOKEN_PREFIX = "rc_token_"
SECRET_PREFIX = "rc_secret_"
WEBHOOK_SECRET_PREFIX = "rc_whsec_"


def _scrypt(secret: str, salt: bytes, n: int, r: int, p: int) -> bytes:
    return hashlib.scrypt(secret.encode(), salt=salt, n=n, r=r, p=p, dklen=32, maxmem=64 << 20)


def hash_secret(secret: str) -> str:
    """A slow, salted scrypt hash of a client secret, self-describing its parameters."""
    salt = os.urandom(16)
    digest = _scrypt(secret, salt, _SCRYPT_N, _SCRYPT_R, _SCRYPT_P)
    return "$".join(
        ["scrypt", str(_SCRYPT_N), str(_SCRYPT_R), str(_SCRYPT_P), _b64(salt), _b64(digest)]
    )


def verify_secret(secret: str, stored: str) -> bool:
    """Constant-time check of a secret against a stored hash; False for any malformed hash."""
    try:
        scheme, n, r, p, salt, digest = stored.split("$")
        if scheme != "scrypt":
            return False
        computed = _scrypt(secret, _unb64(salt), int(n), int(r), int(p))
        return hmac.compare_digest(computed, _unb64(digest))
    except (ValueError, TypeError):
        return False


@functools.cache
def dummy_secret_hash() -> str:
    """Checking against this keeps an unknown client_id as slow as a wrong secret, so timing
    does not tell the two apart."""
    return hash_secret("not-a-real-secret")


def new_client_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def new_access_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_webhook_secret() -> str:
    return WEBHOOK_SECRET_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    """Tokens are 256-bit random values, so a plain SHA-256 is a safe lookup key for them."""
    return hashlib.sha256(token.encode()).hexdigest()


class SecretBox:
    """Encrypts secrets the platform must be able to read back (webhook signing secrets)."""

    def __init__(self, key: str | bytes) -> None:
        self._fernet = Fernet(key)
        # Every webhook delivery needs its client's secret; decrypting costs more than the
        # rest of the signing, so plaintexts stay in this process's memory once read.
        self._plain: dict[bytes, str] = {}

    @classmethod
    def from_settings(cls, secret_key: str | None, data_dir: Path) -> SecretBox:
        """Use the configured key, else the key file in data_dir (created 0600 on first use)."""
        if secret_key:
            return cls(secret_key)
        path = data_dir / "secret.key"
        if not path.exists():
            data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def encrypt(self, plaintext: str) -> bytes:
        return self._fernet.encrypt(plaintext.encode())

    def decrypt(self, ciphertext: bytes) -> str:
        plain = self._plain.get(ciphertext)
        if plain is not None:
            return plain
        try:
            plain = self._fernet.decrypt(ciphertext).decode()
        except InvalidToken as exc:
            raise ValueError(
                "Cannot decrypt a webhook signing secret: REDCLOUD_SECRET_KEY (or "
                "data_dir/secret.key) is not the key it was stored with."
            ) from exc
        if len(self._plain) >= 4096:
            self._plain.clear()
        self._plain[ciphertext] = plain
        return plain


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
