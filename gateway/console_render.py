"""Pure helpers the console's templates need: highlights, diffs, labels, times.

Nothing here touches the request or the database, so each piece is tested
on plain values (tests/test_console_render.py).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from typing import Any, Iterable, Mapping, Sequence
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

SEVERITY_RANK = {"info": 0, "review": 1, "block": 2}
SEVERITY_LABEL = {"block": "阻止", "review": "待审", "info": "提示"}
STATUS_LABEL = {
    "passed": "已通过筛查",
    "flagged": "待签发",
    "blocked": "已阻止",
    "approved": "已批准",
    "rejected": "已驳回",
}
PUBLICATION_LABEL = {"none": "未发布", "queued": "排队发布中", "published": "已发布", "failed": "发布失败"}
DECISION_LABEL = {"approve": "批准", "reject": "驳回"}
PLATFORM_LABEL = {"wechat": "微信", "weibo": "微博", "other": "其他"}

# Character-level diffs are quadratic in the worst case; past this size a
# changed line is shown as removed + added instead.
CHAR_DIFF_LIMIT = 4000


# -- highlights ----------------------------------------------------------------


@dataclass(frozen=True)
class Segment:
    """A run of the screened text and the findings (by index) that cover all of it."""

    text: str
    findings: tuple[int, ...] = ()
    severity: str | None = None


def text_span(finding: Mapping[str, Any], length: int) -> tuple[int, int] | None:
    """A finding's (start, end) in the screened text, or None if it has no usable offsets."""
    ev = finding.get("evidence") or {}
    start, end = ev.get("start"), ev.get("end")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool) or isinstance(end, bool):
        return None
    if not (0 <= start < end <= length):
        return None
    return start, end


def worst_severity(severities: Iterable[str]) -> str | None:
    return max(severities, key=lambda s: SEVERITY_RANK.get(s, -1), default=None)


def segments(text: str, findings: Sequence[Mapping[str, Any]]) -> list[Segment]:
    """Cut ``text`` at every finding boundary; overlapping findings share a segment.

    A segment covered by several findings takes the worst severity's colour and
    lists all of them, so nothing a checker found is hidden by another match.
    """
    spans = [(i, s) for i, f in enumerate(findings) if (s := text_span(f, len(text))) is not None]
    cuts = sorted({0, len(text), *(p for _, (a, b) in spans for p in (a, b))})
    starting: dict[int, list[int]] = {}
    ending: dict[int, list[int]] = {}
    for i, (a, b) in spans:
        starting.setdefault(a, []).append(i)
        ending.setdefault(b, []).append(i)
    # A sweep over the cut points: a draft with thousands of hits stays linear in practice.
    active: set[int] = set()
    out: list[Segment] = []
    for lo, hi in zip(cuts, cuts[1:]):
        active.difference_update(ending.get(lo, ()))
        active.update(starting.get(lo, ()))
        covering = tuple(sorted(active))
        severity = worst_severity(str(findings[i].get("severity")) for i in covering) if covering else None
        piece = text[lo:hi]
        if out and out[-1].findings == covering:
            # Merge neighbours covered by the same findings: fewer, longer marks.
            out[-1] = Segment(out[-1].text + piece, covering, severity)
        else:
            out.append(Segment(piece, covering, severity))
    return out


def worst_finding(findings: Sequence[Mapping[str, Any]]) -> Mapping[str, Any] | None:
    """The first finding of the worst severity (what the queue shows for a draft)."""
    best: Mapping[str, Any] | None = None
    for f in findings:
        if best is None or SEVERITY_RANK.get(f.get("severity", ""), -1) > SEVERITY_RANK.get(best.get("severity", ""), -1):
            best = f
    return best


# -- diffs -----------------------------------------------------------------------


@dataclass
class DiffLine:
    """One line of a diff: ``op`` is equal, insert or delete; ``parts`` are (op, text) runs."""

    op: str
    parts: list[tuple[str, str]] = field(default_factory=list)


def _char_parts(a: str, b: str) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    old: list[tuple[str, str]] = []
    new: list[tuple[str, str]] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            old.append(("equal", a[i1:i2]))
            new.append(("equal", b[j1:j2]))
        else:
            if i2 > i1:
                old.append(("delete", a[i1:i2]))
            if j2 > j1:
                new.append(("insert", b[j1:j2]))
    return old, new


def diff_lines(before: str, after: str) -> list[DiffLine]:
    """Line diff of two texts; changed line pairs get character-level marks.

    Chinese text has no spaces, so a word diff would mark whole sentences;
    characters show exactly what the operator changed.
    """
    a, b = before.splitlines(), after.splitlines()
    out: list[DiffLine] = []
    sm = difflib.SequenceMatcher(None, a, b, autojunk=False)
    for tag, i1, i2, j1, j2 in sm.get_opcodes():
        if tag == "equal":
            out.extend(DiffLine("equal", [("equal", line)]) for line in a[i1:i2])
            continue
        olds, news = a[i1:i2], b[j1:j2]
        # A replaced block pairs its lines in order (an edited paragraph is usually the same
        # paragraph); lines left over on either side are whole removals or additions.
        paired = min(len(olds), len(news)) if tag == "replace" else 0
        for x, y in zip(olds[:paired], news[:paired]):
            if len(x) + len(y) <= CHAR_DIFF_LIMIT:
                po, pn = _char_parts(x, y)
                out.append(DiffLine("delete", po))
                out.append(DiffLine("insert", pn))
            else:
                out.append(DiffLine("delete", [("delete", x)]))
                out.append(DiffLine("insert", [("insert", y)]))
        out.extend(DiffLine("delete", [("delete", line)]) for line in olds[paired:])
        out.extend(DiffLine("insert", [("insert", line)]) for line in news[paired:])
    return out


def diff_summary(lines: Sequence[DiffLine]) -> tuple[int, int]:
    """(lines removed, lines added)."""
    return sum(1 for x in lines if x.op == "delete"), sum(1 for x in lines if x.op == "insert")


# -- times -------------------------------------------------------------------------


def zone(name: str | None) -> tzinfo:
    try:
        return ZoneInfo(name or "Asia/Shanghai")
    except (ZoneInfoNotFoundError, ValueError):
        return timezone.utc


def local_time(value: str | None, tz: tzinfo) -> str:
    """An ISO 8601 time as ``YYYY-MM-DD HH:MM`` in the console's zone; unparsable input is shown as is."""
    if not value:
        return ""
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return value
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M")


# -- images --------------------------------------------------------------------------

_MAGIC = (
    (b"\x89PNG\r\n\x1a\n", "image/png"),
    (b"\xff\xd8\xff", "image/jpeg"),
    (b"GIF87a", "image/gif"),
    (b"GIF89a", "image/gif"),
    (b"BM", "image/bmp"),
)


def image_mime(data: bytes) -> str | None:
    """The image type of ``data`` by its magic bytes; None for anything a browser should not render inline."""
    for magic, mime in _MAGIC:
        if data.startswith(magic):
            return mime
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return None
