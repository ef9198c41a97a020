"""The console's pure helpers: highlight segments, diffs, labels, times, image types, redirects."""

from __future__ import annotations

from typing import Any

from gateway import console_render as R
from gateway.console_web import safe_next


def f(start: Any, end: Any, severity: str = "review") -> dict[str, Any]:
    return {"checker": "c", "rule": "r", "severity": severity, "message": "m", "evidence": {"start": start, "end": end}}


def test_segments_cover_the_text_exactly_and_cut_at_every_boundary() -> None:
    text = "0123456789"
    segs = R.segments(text, [f(2, 5), f(4, 8, "block")])
    assert "".join(s.text for s in segs) == text
    assert [(s.text, s.findings, s.severity) for s in segs] == [
        ("01", (), None), ("23", (0,), "review"), ("4", (0, 1), "block"), ("567", (1,), "block"), ("89", (), None),
    ]


def test_findings_without_usable_offsets_are_not_highlighted() -> None:
    text = "abcdef"
    bad = [f(None, None), f(3, 3), f(4, 2), f(-1, 2), f(2, 99), f(True, 3), {"severity": "info", "evidence": {}}]
    assert R.segments(text, bad) == [R.Segment("abcdef")]
    assert R.segments("", [f(0, 1)]) == []


def test_worst_finding_is_the_first_of_the_worst_severity() -> None:
    items = [f(0, 1, "info"), f(0, 1, "review"), f(0, 1, "block"), f(1, 2, "block")]
    assert R.worst_finding(items) is items[2]
    assert R.worst_finding([]) is None


def test_diff_marks_changed_characters_within_changed_lines() -> None:
    lines = R.diff_lines("同一行\n原来的句子\n删掉这行", "同一行\n新来的句子\n加上这行\n再加一行")
    assert lines[0].op == "equal"
    assert [p for p in lines[1].parts if p[0] == "delete"] == [("delete", "原")]
    assert [p for p in lines[2].parts if p[0] == "insert"] == [("insert", "新")]
    assert R.diff_summary(lines) == (2, 3)
    assert R.diff_lines("same", "same") == [R.DiffLine("equal", [("equal", "same")])]


def test_long_changed_lines_fall_back_to_whole_line_changes() -> None:
    a, b = "甲" * R.CHAR_DIFF_LIMIT, "乙" * R.CHAR_DIFF_LIMIT
    lines = R.diff_lines(a, b)
    assert [(x.op, x.parts) for x in lines] == [("delete", [("delete", a)]), ("insert", [("insert", b)])]


def test_local_time_shows_the_console_zone() -> None:
    tz = R.zone("Asia/Shanghai")
    assert R.local_time("2026-12-04T20:16:27.000+00:00", tz) == "2026-12-05 04:16"
    assert R.local_time("not a time", tz) == "not a time"
    assert R.local_time(None, tz) == ""
    assert R.zone("No/Such_Zone").utcoffset(None) is not None


def test_image_mime_by_magic_bytes_only() -> None:
    assert R.image_mime(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert R.image_mime(b"\xff\xd8\xff\xe0") == "image/jpeg"
    assert R.image_mime(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert R.image_mime(b"<svg onload=alert(1)>") is None
    assert R.image_mime(b"<html>") is None


def test_redirect_targets_stay_inside_the_console() -> None:
    assert safe_next("/console/drafts/d1?x=1") == "/console/drafts/d1?x=1"
    for bad in ("https://evil.example/console/", "//evil.example/console/", "/v1/drafts", "/console\\..\\x", None, ""):
        assert safe_next(bad) == "/console/"


def test_many_findings_are_segmented_quickly_and_exactly() -> None:
    import time

    text = "词" * 20_000
    findings = [f(i, i + 3, "review" if (i // 2) % 2 else "info") for i in range(0, 19_990, 2)]
    started = time.perf_counter()
    segs = R.segments(text, findings)
    assert time.perf_counter() - started < 2.0
    assert "".join(s.text for s in segs) == text
    assert segs[1].findings == (0, 1) and segs[1].severity == "review"
