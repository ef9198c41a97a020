"""Frozen values the core and the plugins exchange: drafts, findings, verdicts.

Nothing here touches storage or the network; every value is immutable so a
checker can never change what another checker (or the workflow) sees.
"""

from __future__ import annotations

import base64
import enum
import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Mapping


class Severity(str, enum.Enum):
    """How much a finding holds a draft back; ordered info < review < block."""

    INFO = "info"
    REVIEW = "review"
    BLOCK = "block"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]

    @classmethod
    def worst(cls, severities: "list[Severity] | tuple[Severity, ...]") -> "Severity | None":
        return max(severities, key=lambda s: s.rank, default=None)


_SEVERITY_RANK = {Severity.INFO: 0, Severity.REVIEW: 1, Severity.BLOCK: 2}


class DraftStatus(str, enum.Enum):
    PASSED = "passed"
    FLAGGED = "flagged"
    BLOCKED = "blocked"
    APPROVED = "approved"
    REJECTED = "rejected"


@dataclass(frozen=True)
class Permits:
    commercial: bool = False
    school_marks: bool = False


@dataclass(frozen=True)
class Account:
    """An official account as checkers see it (no secrets)."""

    id: str
    name: str
    platform: str
    unit: str
    responsible: str
    operators: tuple[str, ...] = ()
    official: bool = False
    permits: Permits = Permits()
    review_policy: str = "flagged"
    status: str = "active"


@dataclass(frozen=True)
class ImageInput:
    """One image of a draft: its position, the operator's file name, the raw bytes."""

    index: int
    name: str
    data: bytes

    @cached_property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass(frozen=True)
class Content:
    """What an operator submits in one revision."""

    title: str
    body: str
    body_format: str = "text"
    images: tuple[ImageInput, ...] = ()

    def content_hash(self) -> str:
        """SHA-256 over the exact content: what a decision approves and what is published."""
        canonical = json.dumps(
            {
                "title": self.title,
                "body": self.body,
                "body_format": self.body_format,
                "images": [[i.name, i.sha256] for i in self.images],
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
        )
        return hashlib.sha256(canonical.encode("utf-8")).hexdigest()

    @cached_property
    def visible_body(self) -> str:
        """The body as a reader sees it: HTML reduced to its visible text, plain text as it is."""
        from gateway.text import visible_text

        return visible_text(self.body) if self.body_format == "html" else self.body

    @cached_property
    def screened_text(self) -> str:
        """What text checkers scan: the title, a blank line, then the visible body."""
        return f"{self.title}\n\n{self.visible_body}"


@dataclass(frozen=True)
class Draft:
    """One revision of a draft, handed to every checker.

    ``screened_text`` is what text checkers scan: the title, a blank line, then
    the visible text of the body (HTML reduced to text). Text findings give
    offsets into this string.
    """

    id: str
    revision: int
    account: Account
    content: Content
    submitted_by: str
    submitted_at: str

    @property
    def title(self) -> str:
        return self.content.title

    @property
    def body(self) -> str:
        return self.content.body

    @property
    def body_format(self) -> str:
        return self.content.body_format

    @property
    def images(self) -> tuple[ImageInput, ...]:
        return self.content.images

    @property
    def screened_text(self) -> str:
        return self.content.screened_text


@dataclass(frozen=True)
class Finding:
    """One thing a checker found. Build with the named constructors."""

    checker: str
    rule: str
    severity: Severity
    message: str
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def text_match(
        cls,
        checker: str,
        rule: str,
        severity: Severity,
        message: str,
        *,
        term: str,
        start: int,
        end: int,
        text: str,
        **extra: Any,
    ) -> "Finding":
        """A term matched in ``Draft.screened_text`` between ``start`` and ``end``."""
        lo, hi = max(0, start - 20), min(len(text), end + 20)
        evidence = {
            "term": term,
            "start": start,
            "end": end,
            "matched": text[start:end],
            "snippet": text[lo:hi],
            **extra,
        }
        return cls(checker, rule, Severity(severity), message, evidence)

    @classmethod
    def image_match(
        cls,
        checker: str,
        rule: str,
        severity: Severity,
        message: str,
        *,
        index: int,
        image_id: str,
        label: str,
        distance: int,
        **extra: Any,
    ) -> "Finding":
        """Draft image ``index`` matched registered image ``image_id`` at ``distance``."""
        evidence = {
            "index": index,
            "image_id": image_id,
            "label": label,
            "distance": distance,
            **extra,
        }
        return cls(checker, rule, Severity(severity), message, evidence)

    @classmethod
    def checker_failed(cls, checker: str, reason: str, detail: str) -> "Finding":
        """The gateway's own finding when a checker raised or ran out of time (fail closed)."""
        return cls(
            "gateway",
            f"checker_{reason}",
            Severity.REVIEW,
            f"checker {checker!r} {('timed out' if reason == 'timeout' else 'failed')}: "
            "the draft is held for review",
            {"failed_checker": checker, "reason": reason, "detail": detail[:500]},
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "checker": self.checker,
            "rule": self.rule,
            "severity": self.severity.value,
            "message": self.message,
            "evidence": dict(self.evidence),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> "Finding":
        return cls(
            data["checker"],
            data["rule"],
            Severity(data["severity"]),
            data["message"],
            dict(data.get("evidence") or {}),
        )


@dataclass(frozen=True)
class Verdict:
    """The outcome of screening one revision."""

    findings: tuple[Finding, ...]

    @property
    def worst(self) -> Severity | None:
        return Severity.worst([f.severity for f in self.findings])

    def status_for(self, review_policy: str) -> DraftStatus:
        worst = self.worst
        if worst is Severity.BLOCK:
            return DraftStatus.BLOCKED
        if worst is Severity.REVIEW or review_policy == "all":
            return DraftStatus.FLAGGED
        return DraftStatus.PASSED


@dataclass(frozen=True)
class PublishItem:
    """What a publish target receives: exactly the approved content, with a stable key."""

    draft_id: str
    revision: int
    account: Account
    content: Content
    content_hash: str
    approved_by: str | None
    idempotency_key: str
    attempt: int
    target_config: Mapping[str, Any]

    def payload(self) -> dict[str, Any]:
        """The post as the contract's webhook body has it (images base64-encoded)."""
        return {
            "draft_id": self.draft_id,
            "revision": self.revision,
            "account": self.account.id,
            "title": self.content.title,
            "body": self.content.body,
            "body_format": self.content.body_format,
            "images": [{"name": i.name, "data": base64.b64encode(i.data).decode("ascii")} for i in self.content.images],
            "approved_by": self.approved_by,
        }


@dataclass(frozen=True)
class PublishResult:
    """A publish target's answer. Build with ``ok``, ``retry`` or ``fail``."""

    state: str  # "published" | "retry" | "failed"
    message: str = ""
    remote: Mapping[str, Any] = field(default_factory=dict)
    retry_after: float | None = None

    @classmethod
    def ok(cls, remote: Mapping[str, Any] | None = None, message: str = "") -> "PublishResult":
        return cls("published", message, dict(remote or {}))

    @classmethod
    def retry(cls, message: str, retry_after: float | None = None, **remote: Any) -> "PublishResult":
        return cls("retry", message, remote, retry_after)

    @classmethod
    def fail(cls, message: str, **remote: Any) -> "PublishResult":
        return cls("failed", message, remote)
