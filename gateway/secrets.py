"""Platform credentials and tokens, encrypted at rest (article 11).

Everything secret the gateway holds for a platform (WeChat app id/secret,
Weibo access tokens, cached platform access tokens, a webhook's signing
secret) is sealed with AES-256-GCM before it reaches SQLite. The key comes
from ``DRAFTGATE_SECRET_KEY`` (32 bytes, URL-safe base64) or, failing that,
from a key file next to the database (``<db>.secret-key``), created 0600 on
first use. The associated data binds each blob to where it is stored, so a
sealed secret copied to another account's row does not open.

Nothing here logs a secret, and no function returns one to the API layer:
the credentials endpoint only reports which fields are set.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import secrets as _random
import threading
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from gateway import audit
from gateway.store import Store, utcnow

ENV_KEY = "DRAFTGATE_SECRET_KEY"
SEALED_PREFIX = "dgsealed:v1:"
_VERSION = b"\x01"

# Keys of an account's ``publish`` JSON that are sealed before storage
# (and redacted from every answer: ``accounts.SECRET_KEYS`` is this tuple).
SEALED_PUBLISH_KEYS = ("secret", "app_secret", "access_token", "password")


class SecretError(RuntimeError):
    """A key is missing or malformed, or a sealed value does not open with it."""


def new_key() -> str:
    """A fresh key in the format ``DRAFTGATE_SECRET_KEY`` expects."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode("ascii")


def _decode_key(text: str, source: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode("ascii"))
    except (binascii.Error, ValueError, UnicodeEncodeError):
        raise SecretError(f"{source}: not URL-safe base64") from None
    if len(key) != 32:
        raise SecretError(f"{source}: must decode to 32 bytes, got {len(key)}")
    return key


class SecretBox:
    """Seals and opens byte strings with one AES-256-GCM key."""

    def __init__(self, key: bytes) -> None:
        self._aead = AESGCM(key)

    def __repr__(self) -> str:  # never show key material, even in a traceback
        return "SecretBox(<key hidden>)"

    def seal(self, plaintext: bytes, context: str) -> bytes:
        nonce = os.urandom(12)
        return _VERSION + nonce + self._aead.encrypt(nonce, plaintext, context.encode("utf-8"))

    def open(self, blob: bytes, context: str) -> bytes:
        if len(blob) < 13 + 16 or blob[:1] != _VERSION:
            raise SecretError(f"sealed value for {context}: unknown format")
        try:
            return self._aead.decrypt(blob[1:13], blob[13:], context.encode("utf-8"))
        except InvalidTag:
            raise SecretError(f"sealed value for {context}: does not open with this key (wrong key or moved blob)") from None

    def seal_json(self, value: Any, context: str) -> bytes:
        return self.seal(json.dumps(value, ensure_ascii=False).encode("utf-8"), context)

    def open_json(self, blob: bytes, context: str) -> Any:
        return json.loads(self.open(blob, context))


def key_file_for(db_path: str) -> Path:
    return Path(db_path + ".secret-key")


def _read_or_create_key_file(path: Path) -> bytes:
    if path.exists():
        mode = path.stat().st_mode & 0o777
        if mode & 0o077:
            raise SecretError(f"key file {path} is readable by others (mode {mode:o}); chmod 600 it")
        return _decode_key(path.read_text(encoding="ascii"), str(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    # Write a temp file 0600, then hard-link it into place: the link fails if
    # another process won the race, and nobody ever reads a half-written key.
    tmp = path.with_name(f"{path.name}.{os.getpid()}.{_random.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "w", encoding="ascii") as f:
            f.write(new_key() + "\n")
            f.flush()
            os.fsync(f.fileno())
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
    finally:
        tmp.unlink(missing_ok=True)
    return _decode_key(path.read_text(encoding="ascii"), str(path))


_boxes: dict[tuple[str, str], SecretBox] = {}
_boxes_lock = threading.Lock()


def box_for_store(store: Store) -> SecretBox:
    """The box for this database: the environment's key, else the key file next to it."""
    env = os.environ.get(ENV_KEY, "")
    cache_key = (env, store.path)
    with _boxes_lock:
        box = _boxes.get(cache_key)
        if box is None:
            if env:
                key = _decode_key(env, ENV_KEY)
            elif store.path == ":memory:":
                # An in-memory database dies with the process; so may its key.
                key = AESGCM.generate_key(bit_length=256)
            else:
                key = _read_or_create_key_file(key_file_for(store.path))
            box = _boxes[cache_key] = SecretBox(key)
        return box


# -- sealed values inside an account's publish JSON (webhook secret, …) -----


def seal_publish(store: Store, account_id: str, publish: dict[str, Any]) -> dict[str, Any]:
    """``publish`` with every secret key's value sealed into a string (idempotent)."""
    box = box_for_store(store)
    out = dict(publish)
    for key in SEALED_PUBLISH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value and not value.startswith(SEALED_PREFIX):
            blob = box.seal(value.encode("utf-8"), f"accounts.publish:{account_id}:{key}")
            out[key] = SEALED_PREFIX + base64.urlsafe_b64encode(blob).decode("ascii")
    return out


def open_publish(store: Store, account_id: str, publish: dict[str, Any]) -> dict[str, Any]:
    """``publish`` as a target needs it: sealed values opened (plain legacy values pass through)."""
    out = dict(publish)
    for key in SEALED_PUBLISH_KEYS:
        value = out.get(key)
        if isinstance(value, str) and value.startswith(SEALED_PREFIX):
            blob = base64.urlsafe_b64decode(value[len(SEALED_PREFIX):].encode("ascii"))
            out[key] = box_for_store(store).open(blob, f"accounts.publish:{account_id}:{key}").decode("utf-8")
    return out


# -- platform credentials ----------------------------------------------------


def _cred_context(account_id: str) -> str:
    return f"platform_credentials:{account_id}"


def set_credentials(store: Store, account_id: str, platform: str, values: dict[str, Any], actor: str) -> dict[str, Any]:
    """Seal and store an account's platform credentials; returns what the API may show."""
    sealed = box_for_store(store).seal_json(values, _cred_context(account_id))
    fields = sorted(values)
    now = utcnow()
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO platform_credentials (account, platform, sealed, fields, set_by, set_at) VALUES (?,?,?,?,?,?)"
            " ON CONFLICT(account) DO UPDATE SET platform=excluded.platform, sealed=excluded.sealed,"
            " fields=excluded.fields, set_by=excluded.set_by, set_at=excluded.set_at",
            (account_id, platform, sealed, json.dumps(fields), actor, now),
        )
        # A cached platform token belongs to the old credentials: drop it.
        conn.execute("DELETE FROM platform_tokens WHERE account = ?", (account_id,))
        audit.append(store, actor, "account.credentials_set", f"account:{account_id}", {"platform": platform, "fields": fields})
    return credentials_status(store, account_id)


def delete_credentials(store: Store, account_id: str, actor: str) -> bool:
    with store.transaction() as conn:
        gone = conn.execute("DELETE FROM platform_credentials WHERE account = ?", (account_id,)).rowcount > 0
        conn.execute("DELETE FROM platform_tokens WHERE account = ?", (account_id,))
        if gone:
            audit.append(store, actor, "account.credentials_deleted", f"account:{account_id}", {})
    return gone


def credentials_status(store: Store, account_id: str) -> dict[str, Any]:
    """Which credentials are set, by whom and when; never the values."""
    row = store.query_one("SELECT platform, fields, set_by, set_at FROM platform_credentials WHERE account = ?", (account_id,))
    if row is None:
        return {"account": account_id, "set": False, "fields": []}
    return {"account": account_id, "set": True, "platform": row["platform"], "fields": json.loads(row["fields"]),
            "set_by": row["set_by"], "set_at": row["set_at"]}


def load_credentials(store: Store, account_id: str) -> dict[str, Any] | None:
    """The opened credentials, for publish targets only."""
    row = store.query_one("SELECT sealed FROM platform_credentials WHERE account = ?", (account_id,))
    if row is None:
        return None
    return box_for_store(store).open_json(row["sealed"], _cred_context(account_id))


def _token_context(account_id: str, platform: str) -> str:
    return f"platform_tokens:{account_id}:{platform}"


def save_token(store: Store, account_id: str, platform: str, token: dict[str, Any], expires_at: float) -> None:
    sealed = box_for_store(store).seal_json(token, _token_context(account_id, platform))
    with store.transaction() as conn:
        conn.execute(
            "INSERT INTO platform_tokens (account, platform, sealed, expires_at, obtained_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(account, platform) DO UPDATE SET sealed=excluded.sealed, expires_at=excluded.expires_at,"
            " obtained_at=excluded.obtained_at",
            (account_id, platform, sealed, expires_at, utcnow()),
        )


def load_token(store: Store, account_id: str, platform: str) -> tuple[dict[str, Any], float] | None:
    row = store.query_one(
        "SELECT sealed, expires_at FROM platform_tokens WHERE account = ? AND platform = ?", (account_id, platform)
    )
    if row is None:
        return None
    try:
        return box_for_store(store).open_json(row["sealed"], _token_context(account_id, platform)), row["expires_at"]
    except SecretError:
        return None  # a cached token is disposable: fetch a new one


def rotate_credentials(store: Store, account_id: str, changes: dict[str, Any]) -> None:
    """Merge values a platform handed back (a rotated refresh token) into the sealed credentials."""
    with store.transaction():
        current = load_credentials(store, account_id)
        if current is None:
            return
        merged = {**current, **changes}
        sealed = box_for_store(store).seal_json(merged, _cred_context(account_id))
        store.execute("UPDATE platform_credentials SET sealed = ?, fields = ? WHERE account = ?",
                      (sealed, json.dumps(sorted(merged)), account_id))
        audit.append(store, "gateway", "account.credentials_rotated", f"account:{account_id}", {"fields": sorted(changes)})
