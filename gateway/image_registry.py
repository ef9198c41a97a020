"""The registry of known images: durable rows, audited changes, an in-memory index.

An admin registers a picture with a label and a status: ``unlicensed``,
``licensed`` (to some accounts) or ``school_mark`` (the emblem or a logo).
Each registration stores the picture's metadata in ``registered_images`` and
its crop-variant hashes in ``registered_image_hashes`` (hex text, so admins
can read them with ``sqlite3``; both tables come from the
``images_0001_registry`` migration in ``gateway.store``), a bounded display
copy for the review console in ``registered_image_pictures``
(``images_0002_pictures``; pictures registered before it have none), and
appends an audit entry in the same transaction. The matcher over every stored hash is loaded once, when the
registry is first asked for, and updated in place by ``add`` and ``remove``.

Registrations made by another process (``draftgate images import`` while the
gateway runs) are picked up by following the audit log (``sync``), at most
once a second, without reloading the index.

Per-status thresholds come from ``[plugins.image_reuse.thresholds.<status>]``
(``phash`` and ``combined``) in the gateway config.
"""

from __future__ import annotations

import builtins
import json
import secrets
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gateway import audit
from gateway.image_index import ImageMatcher, Match, Thresholds
from gateway.images import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_PIXELS,
    FrameHashes,
    ImageError,
    ImageInfo,
    display_copy,
    registration_hashes,
)
from gateway.store import Store, dumps, utcnow

if TYPE_CHECKING:
    from gateway.services import Gateway

STATUSES = ("unlicensed", "licensed", "school_mark")

# Chosen on bench/image_eval.py and bench/image_bench.py: distinct photos sit
# 16+ pHash bits apart, so 8 leaves a wide margin, and a radius of 8 keeps the
# index probes small (3 chunks, 2 bits each) where 10 costs about 7x more per
# lookup for half a percent of recall (see docs/image-checker.md).
DEFAULT_THRESHOLDS: dict[str, Thresholds] = {
    "unlicensed": Thresholds(phash=8, combined=26),
    "licensed": Thresholds(phash=8, combined=26),
    "school_mark": Thresholds(phash=8, combined=26),
}
MAX_RADIUS = 16  # beyond this a 64-bit pHash no longer tells photos apart
# A new picture this close to a registered one (pHash + dHash, same
# orientation, uncropped) is the same picture again: skipped as a duplicate.
DUPLICATE_DISTANCE = 4

class RegistryError(ValueError):
    """A registration refused for a reason other than the image itself."""


class DuplicateImage(RegistryError):
    def __init__(self, existing: Mapping[str, Any]) -> None:
        super().__init__(f"already registered as {existing['id']} ({existing['label']!r})")
        self.existing = dict(existing)


@dataclass(frozen=True)
class ImageMatchResult:
    """A registered image a draft image matched, with the image's record."""

    match: Match
    image: dict[str, Any]


def thresholds_from_settings(settings: Mapping[str, Any]) -> dict[str, Thresholds]:
    configured = settings.get("thresholds") or {}
    out = {}
    for status in STATUSES:
        base = DEFAULT_THRESHOLDS[status]
        given = configured.get(status) or {}
        phash = int(given.get("phash", base.phash))
        combined = int(given.get("combined", base.combined))
        if not 0 <= phash <= MAX_RADIUS:
            raise ValueError(f"image_reuse threshold {status}.phash must be between 0 and {MAX_RADIUS}")
        out[status] = Thresholds(phash, max(phash, combined))
    return out


def _record(row: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "label": row["label"],
        "status": row["status"],
        "licensed_to": json.loads(row["licensed_to"]),
        "sha256": row["sha256"],
        "format": row["format"],
        "width": row["width"],
        "height": row["height"],
        "bytes": row["bytes"],
        "created_by": row["created_by"],
        "created_at": row["created_at"],
    }


class ImageRegistry:
    """Registered images, durable in the store and searchable in memory.

    Only the matcher (NumPy columns) stays in memory; records are read from
    the store when a draft image matches or an admin lists them, so a
    million registrations do not cost a million Python dicts.
    """

    def __init__(self, store: Store, settings: Mapping[str, Any] | None = None) -> None:
        settings = dict(settings or {})
        self.store = store
        self.thresholds = thresholds_from_settings(settings)
        self._by_group = [self.thresholds[status] for status in STATUSES]
        self.max_bytes = int(settings.get("max_bytes", DEFAULT_MAX_BYTES))
        self.max_pixels = int(settings.get("max_pixels", DEFAULT_MAX_PIXELS))
        self.radius = max(t.phash for t in self.thresholds.values())
        self.sync_interval = float(settings.get("sync_interval", 1.0))
        self._lock = threading.RLock()
        self._synced_at = time.monotonic()
        self._audit_seq = 0
        self.matcher = self._load()

    def _load(self) -> ImageMatcher:
        last = self.store.query_one("SELECT MAX(seq) AS seq FROM audit_log")
        self._audit_seq = int((last or {}).get("seq") or 0)
        groups = {
            image_id: STATUSES.index(status)
            for image_id, status in self.store.execute("SELECT id, status FROM registered_images").fetchall()
        }
        # Plain tuples, not dicts: a million images are eight million rows.
        cursor = self.store.execute(
            "SELECT image_id, variant, phash, dhash FROM registered_image_hashes ORDER BY image_id"
        )
        rows = ((image_id, variant, int(p, 16), int(d, 16)) for image_id, variant, p, d in cursor.fetchall())
        return ImageMatcher.build(self.radius, rows, groups)

    def _hashes_of(self, image_id: str) -> list[tuple[str, int, int]]:
        rows = self.store.query(
            "SELECT variant, phash, dhash FROM registered_image_hashes WHERE image_id = ?", (image_id,)
        )
        return [(r["variant"], int(r["phash"], 16), int(r["dhash"], 16)) for r in rows]

    def sync(self, *, force: bool = False) -> int:
        """Apply registrations and removals made by another process (the CLI).

        Every change is audited, so the audit entries after the last one seen
        name exactly what changed; reading them is a range scan on the
        primary key. Throttled to once per ``sync_interval`` seconds.
        Returns the number of changes applied.
        """
        now = time.monotonic()
        if not force and now - self._synced_at < self.sync_interval:
            return 0
        self._synced_at = now
        with self._lock:
            last = self.store.query_one("SELECT MAX(seq) AS seq FROM audit_log")
            upto = int((last or {}).get("seq") or 0)
            if upto <= self._audit_seq:
                return 0
            rows = self.store.query(
                "SELECT action, subject FROM audit_log WHERE seq > ? AND seq <= ? "
                "AND action IN ('image.register', 'image.remove') ORDER BY seq",
                (self._audit_seq, upto),
            )
            self._audit_seq = upto
            applied = 0
            for row in rows:
                image_id = str(row["subject"]).removeprefix("image:")
                if row["action"] == "image.remove":
                    applied += self.matcher.remove(image_id)
                    continue
                if image_id in self.matcher:
                    continue  # our own registration
                record = self.store.query_one("SELECT status FROM registered_images WHERE id = ?", (image_id,))
                if record is None:
                    continue  # registered, then removed before we looked
                self.matcher.add(image_id, self._hashes_of(image_id), STATUSES.index(record["status"]))
                applied += 1
            return applied

    # -- changes -----------------------------------------------------------

    def add(
        self,
        data: bytes,
        *,
        label: str,
        status: str,
        licensed_to: Iterable[str] = (),
        actor: str | None = None,
    ) -> dict[str, Any]:
        """Register a picture; raises ``ImageError``, ``DuplicateImage`` or ``RegistryError``.

        CPU-bound (decoding, hashing): call from a worker thread.
        """
        if status not in STATUSES:
            raise RegistryError(f"status must be one of {', '.join(STATUSES)}")
        accounts = sorted({str(a) for a in licensed_to})
        if status != "licensed" and accounts:
            raise RegistryError("licensed_to is only for status 'licensed'")
        if not label.strip():
            raise RegistryError("label must not be empty")
        info, hashes = registration_hashes(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        # A duplicate is refused before the display copy is made (most of the
        # cost of a registration, and all of a re-run import's), and checked
        # again under the lock, where the insert happens.
        if (existing := self._duplicate_of(info, hashes[0].phash, hashes[0].dhash)) is not None:
            raise DuplicateImage(existing)
        picture = display_copy(data, max_bytes=self.max_bytes, max_pixels=self.max_pixels)
        with self._lock:
            existing = self._duplicate_of(info, hashes[0].phash, hashes[0].dhash)
            if existing is not None:
                raise DuplicateImage(existing)
            image_id = "img_" + secrets.token_hex(8)
            now = utcnow()
            record = {
                "id": image_id,
                "label": label,
                "status": status,
                "licensed_to": accounts,
                "sha256": info.sha256,
                "format": info.format,
                "width": info.width,
                "height": info.height,
                "bytes": len(data),
                "created_by": actor,
                "created_at": now,
            }
            with self.store.transaction() as conn:
                conn.execute(
                    "INSERT INTO registered_images (id, label, status, licensed_to, sha256, format, width, height,"
                    " bytes, created_by, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (image_id, label, status, dumps(accounts), info.sha256, info.format, info.width, info.height,
                     len(data), actor, now),
                )
                conn.executemany(
                    "INSERT INTO registered_image_hashes (image_id, variant, phash, dhash) VALUES (?,?,?,?)",
                    [(image_id, h.variant, f"{h.phash:016x}", f"{h.dhash:016x}") for h in hashes],
                )
                conn.execute(
                    "INSERT INTO registered_image_pictures (image_id, mime, width, height, data) VALUES (?,?,?,?,?)",
                    (image_id, picture.mime, picture.width, picture.height, picture.data),
                )
                audit.append(
                    self.store,
                    actor,
                    "image.register",
                    f"image:{image_id}",
                    {"label": label, "status": status, "licensed_to": accounts, "sha256": info.sha256},
                )
            # Only after the commit: a failed write leaves the index untouched.
            self.matcher.add(image_id, [(h.variant, h.phash, h.dhash) for h in hashes], STATUSES.index(status))
            return record

    def remove(self, image_id: str, *, actor: str | None = None) -> dict[str, Any] | None:
        """Remove a registered image; the record removed, or None when there was none."""
        with self._lock:
            record = self.get(image_id)
            if record is None:
                return None
            with self.store.transaction() as conn:
                conn.execute("DELETE FROM registered_image_hashes WHERE image_id = ?", (image_id,))
                conn.execute("DELETE FROM registered_image_pictures WHERE image_id = ?", (image_id,))
                conn.execute("DELETE FROM registered_images WHERE id = ?", (image_id,))
                audit.append(
                    self.store,
                    actor,
                    "image.remove",
                    f"image:{image_id}",
                    {"label": record["label"], "status": record["status"], "sha256": record["sha256"]},
                )
            self.matcher.remove(image_id)
            return record

    def _duplicate_of(self, info: ImageInfo, phash: int, dhash: int) -> dict[str, Any] | None:
        row = self.store.query_one("SELECT * FROM registered_images WHERE sha256 = ?", (info.sha256,))
        if row is not None:
            return _record(row)
        near = self.matcher.match(
            [FrameHashes(0, (phash,), (dhash,), "full", ("identity",))],
            Thresholds(min(DUPLICATE_DISTANCE, self.radius), DUPLICATE_DISTANCE),
        )
        for m in near:
            if m.variant == "full":
                return self.get(m.image_id)
        return None

    # -- reading -----------------------------------------------------------

    def get(self, image_id: str) -> dict[str, Any] | None:
        row = self.store.query_one("SELECT * FROM registered_images WHERE id = ?", (image_id,))
        return _record(row) if row else None

    def picture(self, image_id: str) -> tuple[str, bytes] | None:
        """The display copy of a registered picture as ``(mime, bytes)``; None if it has none."""
        row = self.store.query_one("SELECT mime, data FROM registered_image_pictures WHERE image_id = ?", (image_id,))
        return (str(row["mime"]), bytes(row["data"])) if row else None

    def image_bytes(self, image_id: str) -> bytes | None:
        """The display copy's bytes (what the review console shows beside a match); None if none."""
        found = self.picture(image_id)
        return found[1] if found else None

    def list(self, status: str | None = None) -> list[dict[str, Any]]:
        if status is None:
            rows = self.store.query("SELECT * FROM registered_images ORDER BY created_at, id")
        else:
            rows = self.store.query(
                "SELECT * FROM registered_images WHERE status = ? ORDER BY created_at, id", (status,)
            )
        return [_record(r) for r in rows]

    def __len__(self) -> int:
        return self.matcher.images

    def match(self, info: ImageInfo) -> builtins.list[ImageMatchResult]:
        """Registered images that ``info`` (any sampled frame, any orientation) matches."""
        self.sync()
        matches = self.matcher.match(info.hashes, self._by_group)
        out = []
        for m in matches:
            record = self.get(m.image_id)
            if record is not None:  # removed between the lookup and now
                out.append(ImageMatchResult(m, record))
        return out


_create_lock = threading.Lock()


def get_registry(gateway: Gateway) -> ImageRegistry:
    """The gateway's registry, created (and its index loaded) on first use."""
    registry = gateway.services.get("images")
    if registry is None:
        with _create_lock:
            registry = gateway.services.get("images")
            if registry is None:
                registry = ImageRegistry(gateway.store, gateway.plugin_settings("image_reuse"))
                gateway.services["images"] = registry
    return registry


__all__ = [
    "DEFAULT_THRESHOLDS",
    "STATUSES",
    "DuplicateImage",
    "ImageError",
    "ImageMatchResult",
    "ImageRegistry",
    "RegistryError",
    "get_registry",
]
