"""The frozen values: severities, verdicts, content hashes, findings."""

from __future__ import annotations

import dataclasses

import pytest

from gateway.model import Account, Content, Draft, DraftStatus, Finding, ImageInput, Severity, Verdict


def test_worst_severity_decides_the_status() -> None:
    info = Finding("c", "r", Severity.INFO, "m")
    review = Finding("c", "r", Severity.REVIEW, "m")
    block = Finding("c", "r", Severity.BLOCK, "m")
    assert Verdict(()).status_for("flagged") is DraftStatus.PASSED
    assert Verdict((info,)).status_for("flagged") is DraftStatus.PASSED
    assert Verdict((info,)).status_for("all") is DraftStatus.FLAGGED
    assert Verdict((info, review)).status_for("flagged") is DraftStatus.FLAGGED
    assert Verdict((review, block, info)).status_for("all") is DraftStatus.BLOCKED


def test_content_hash_changes_with_any_byte() -> None:
    base = Content("t", "body", "text", (ImageInput(0, "a.png", b"\x89PNG1"),))
    assert base.content_hash() == Content("t", "body", "text", (ImageInput(0, "a.png", b"\x89PNG1"),)).content_hash()
    for other in (
        Content("t ", "body", "text", base.images),
        Content("t", "body", "html", base.images),
        Content("t", "body\n", "text", base.images),
        Content("t", "body", "text", (ImageInput(0, "a.png", b"\x89PNG2"),)),
    ):
        assert other.content_hash() != base.content_hash()


def test_values_are_immutable() -> None:
    f = Finding("c", "r", Severity.INFO, "m")
    with pytest.raises(dataclasses.FrozenInstanceError):
        f.severity = Severity.BLOCK  # type: ignore[misc]


def test_text_match_evidence_and_round_trip() -> None:
    text = "前言" * 20 + "机密" + "后文" * 20
    start = text.index("机密")
    f = Finding.text_match("confidentiality", "marking", Severity.BLOCK, "m", term="机密", start=start, end=start + 2, text=text)
    assert f.evidence["matched"] == "机密" and "机密" in f.evidence["snippet"] and len(f.evidence["snippet"]) == 42
    assert Finding.from_json(f.to_json()) == Finding(f.checker, f.rule, f.severity, f.message, dict(f.evidence))


def test_screened_text_reduces_html_to_visible_text() -> None:
    account = Account("a", "n", "wechat", "u", "r")
    draft = Draft("d", 1, account, Content("标题", "<p>你好<script>x()</script>，<b>世界</b></p>", "html"), "op", "now")
    assert draft.screened_text.startswith("标题\n\n")
    assert "你好" in draft.screened_text and "世界" in draft.screened_text and "x()" not in draft.screened_text
