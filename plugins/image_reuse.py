"""Checker ``image_reuse``: known pictures reused without a licence, school marks without a permit.

Regulation article 13 (pictures must respect copyright) and article 3 (the
school's emblem and logos need approval). Every draft image is hashed (any
sampled frame, every orientation, with and without its bottom band) and
looked up in the image registry (``gateway.image_registry``):

- ``unlicensed`` image: ``block``;
- ``licensed`` image: ``info`` for the accounts it is licensed to, ``review``
  for every other account, the finding naming the licence holders;
- ``school_mark``: ``info`` for accounts with the ``school_marks`` permit,
  ``review`` for the others.

The check is synchronous, so the core runs it in a worker thread: decoding
and hashing never block the event loop.
"""

from __future__ import annotations

from typing import Any

from gateway.hookspecs import hookimpl
from gateway.image_registry import ImageMatchResult, ImageRegistry, get_registry
from gateway.images import ImageError, inspect_image
from gateway.model import Draft, Finding, Severity

NAME = "image_reuse"


class ImageReuseChecker:
    name = NAME
    version = "1.0"
    description = "known images: unlicensed reuse (art. 13), licensed images, school emblem and logos (art. 3)"

    def __init__(self, registry: ImageRegistry) -> None:
        self.registry = registry

    def check(self, draft: Draft) -> list[Finding]:
        findings: list[Finding] = []
        if not draft.images:
            return findings
        self.registry.sync()
        if not len(self.registry):
            return findings
        for image in draft.images:
            try:
                # The draft already carries the bytes' SHA-256 (the cache key): not hashed twice.
                info = inspect_image(image.data, max_bytes=self.registry.max_bytes, max_pixels=self.registry.max_pixels,
                                     sha256=image.sha256)
            except ImageError:
                # The workflow refuses such images before screening; one that
                # slips through (different limits) must still not pass unseen.
                findings.append(
                    Finding(NAME, "undecodable_image", Severity.REVIEW,
                            f"image {image.index} ({image.name!r}) could not be checked", {"index": image.index})
                )
                continue
            for result in self.registry.match(info):
                findings.append(self._finding(draft, image.index, image.name, result))
        return findings

    def _finding(self, draft: Draft, index: int, name: str, result: ImageMatchResult) -> Finding:
        image, match = result.image, result.match
        status = image["status"]
        label = image["label"]
        account = draft.account
        if status == "unlicensed":
            severity, rule = Severity.BLOCK, "unlicensed_image"
            message = f"image {index} ({name!r}) reuses {label!r}, which is not licensed for publication (art. 13)"
        elif status == "licensed":
            holders = image["licensed_to"]
            holder_text = ", ".join(holders) if holders else "no account"
            if account.id in holders:
                severity, rule = Severity.INFO, "licensed_image"
                message = f"image {index} ({name!r}) is {label!r}, licensed to this account"
            else:
                severity, rule = Severity.REVIEW, "licensed_to_other"
                message = (
                    f"image {index} ({name!r}) is {label!r}, licensed to {holder_text}, not to {account.id!r} (art. 13)"
                )
        else:
            if account.permits.school_marks:
                severity, rule = Severity.INFO, "school_mark_permitted"
                message = f"image {index} ({name!r}) shows the school mark {label!r}; the account holds the permit"
            else:
                severity, rule = Severity.REVIEW, "school_mark"
                message = (
                    f"image {index} ({name!r}) shows the school mark {label!r}: "
                    "accounts without the school_marks permit need sign-off (art. 3)"
                )
        extra: dict[str, Any] = {
            "status": status,
            "name": name,
            "phash_distance": match.phash_distance,
            "dhash_distance": match.dhash_distance,
            "frame": match.frame,
            "orientation": match.orientation,
            "query_crop": match.query_crop,
            "variant": match.variant,
        }
        if status == "licensed":
            extra["licensed_to"] = list(image["licensed_to"])
        return Finding.image_match(
            NAME, rule, severity, message,
            index=index, image_id=image["id"], label=label, distance=match.distance, **extra,
        )


@hookimpl
def register_checkers(gateway: Any) -> list[ImageReuseChecker]:
    return [ImageReuseChecker(get_registry(gateway))]
