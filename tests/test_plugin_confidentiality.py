"""Checker ``confidentiality``: markings, notices, personal numbers, evasions, false positives."""

from __future__ import annotations

import pytest
from conftest import PLAIN_ACCOUNT, make_draft, with_check_digit
from draftgate_plugins import confidentiality

from gateway.model import Draft, Severity
from gateway.services import Gateway


@pytest.fixture(scope="module")
def checker(module_gateway: Gateway) -> confidentiality.ConfidentialityChecker:
    """Shared by the module's read-only tests; a test that changes the blocklists builds its own."""
    [c] = confidentiality.register_checkers(module_gateway)
    return c


def draft(body: str, title: str = "通知", body_format: str = "text") -> Draft:
    return make_draft(PLAIN_ACCOUNT, title, body, body_format)


def rules(checker: confidentiality.ConfidentialityChecker, body: str, title: str = "通知") -> list[tuple[str, str, str]]:
    d = draft(body, title)
    return [(f.rule, f.severity.value, d.screened_text[f.evidence["start"]:f.evidence["end"]]) for f in checker.check(d)]


def test_checker_identity(checker: confidentiality.ConfidentialityChecker) -> None:
    assert checker.name == "confidentiality"
    assert checker.version and checker.description


@pytest.mark.parametrize(
    "body, matched",
    [
        ("此件绝密，阅后销毁。", "绝密"),
        ("本文件属于机密，请妥善保管。", "机密"),
        ("密级：秘密", "密级"),
        ("涉密人员名单如下", "涉密"),
        ("内部资料 注意保密", "注意保密"),
        ("内部文件，不得外传。", "不得外传"),
        ("机密文件请勿外传", "机密文件"),
    ],
)
def test_markings_and_notices_block(checker: confidentiality.ConfidentialityChecker, body: str, matched: str) -> None:
    found = rules(checker, body)
    assert ("secrecy_term", "block", matched) in found, found


@pytest.mark.parametrize(
    "body, matched",
    [
        ("机密★5年", "机密★5年"),
        ("绝密★启用前", "绝密★启用前"),
        ("秘密★长期", "秘密★长期"),
        ("機密★五年", "機密★五年"),  # traditional + Chinese numeral
        ("机密★５年", "机密★５年"),  # full-width digit
        ("机 密 ★ 10 年", "机 密 ★ 10 年"),  # spaces
    ],
)
def test_marking_with_star_and_period(checker: confidentiality.ConfidentialityChecker, body: str, matched: str) -> None:
    assert ("secrecy_marking", "block", matched) in rules(checker, f"封面：{body}。正文略")


@pytest.mark.parametrize(
    "body, matched",
    [
        ("此件機密，请勿外传", "機密"),  # traditional
        ("此件机*密，请勿外传", "机*密"),  # symbol
        ("此件机 密，请勿外传", "机 密"),  # space
        ("此件机\u200b密，请勿外传", "机\u200b密"),  # zero-width space
        ("此件ＪＩ机·密", "机·密"),
        ("注 意 保 密", "注 意 保 密"),
    ],
)
def test_evasions_are_seen_through(checker: confidentiality.ConfidentialityChecker, body: str, matched: str) -> None:
    assert any(m == matched and sev == "block" for _, sev, m in rules(checker, body)), rules(checker, body)


@pytest.mark.parametrize(
    "body",
    [
        "新员工参加保密协议培训，签订保密协议。",
        "揭秘校园里的百年古树",
        "图书馆推荐：秘密花园",
        "法学院举办商业秘密保护讲座",
        "计算机学院讲座：数据的机密性、完整性与可用性",
        "请拒绝密码过于简单的账号注册",
        "这是我们之间的小秘密",
        "他们秘密筹备了一场惊喜",
    ],
)
def test_ordinary_words_do_not_fire(checker: confidentiality.ConfidentialityChecker, body: str) -> None:
    assert rules(checker, body) == []


def test_identity_card_numbers_block_only_with_a_valid_check_digit(checker: confidentiality.ConfidentialityChecker) -> None:
    good = with_check_digit("11010520030105123")
    bad = good[:-1] + ("1" if good[-1] != "1" else "2")
    assert ("id_card_number", "block", good) in rules(checker, f"获奖学生身份证号{good}。")
    assert rules(checker, f"订单号{bad}。") == []


def test_identity_card_number_in_evasive_forms(checker: confidentiality.ConfidentialityChecker) -> None:
    number = with_check_digit("44030519991231234")
    full = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in number)
    spaced = f"{number[:6]} {number[6:14]} {number[14:]}"
    for written in (full, spaced):
        assert ("id_card_number", "block", written) in rules(checker, f"身份证：{written}")


@pytest.mark.parametrize(
    "written",
    ["13812345678", "138-1234-5678", "一三八一二三四五六七八", "①③⑧①②③④⑤⑥⑦⑧", "+86 138 1234 5678"],
)
def test_mobile_numbers_need_review(checker: confidentiality.ConfidentialityChecker, written: str) -> None:
    found = rules(checker, f"联系人手机{written}，欢迎咨询")
    assert [(r, s) for r, s, _ in found] == [("mobile_number", "review")]
    assert found[0][2].endswith(written[-4:])


def test_other_numbers_do_not_fire(checker: confidentiality.ConfidentialityChecker) -> None:
    assert rules(checker, "本校2025年招生4321人，校园电话010-62751234，邮编100871。") == []


def test_offsets_are_into_screened_text_with_title(checker: confidentiality.ConfidentialityChecker) -> None:
    d = draft("正文第一段。\n第二段写着 机 密 两字。", title="关于绝密的标题")
    findings = checker.check(d)
    spans = sorted(d.screened_text[f.evidence["start"]:f.evidence["end"]] for f in findings)
    assert spans == ["机 密", "绝密"]
    for f in findings:
        assert f.evidence["matched"] == d.screened_text[f.evidence["start"]:f.evidence["end"]]
        assert f.evidence["matched"] in f.evidence["snippet"]


def test_html_bodies_are_screened_as_visible_text(checker: confidentiality.ConfidentialityChecker) -> None:
    d = draft('<p>活动照片</p><img src="x.png" alt="内部资料 注意保密"><script>var s="绝密";</script>',
              body_format="html")
    findings = checker.check(d)
    assert sorted((f.evidence["matched"], f.severity) for f in findings) == [
        ("内部资料", Severity.REVIEW), ("注意保密", Severity.BLOCK),
    ]


def test_admin_term_is_enforced_on_the_next_draft(gateway: Gateway) -> None:
    [checker] = confidentiality.register_checkers(gateway)
    assert rules(checker, "项目代号天穹计划") == []
    gateway.services["blocklists"].add_terms("confidentiality", ["天穹计划"], actor="admin")
    assert rules(checker, "项目代号天穹计划") == [("secrecy_term", "block", "天穹计划")]


async def test_startup_loads_jieba_off_the_loop(gateway: Gateway, monkeypatch: pytest.MonkeyPatch) -> None:
    import threading

    import gateway.text as text_module

    monkeypatch.setattr(text_module, "_jieba", None)
    loaded_in: list[str] = []
    real = text_module.jieba_tokenizer

    def spy() -> object:
        loaded_in.append(threading.current_thread().name)
        return real()

    monkeypatch.setattr(confidentiality, "jieba_tokenizer", spy)
    await confidentiality.startup(gateway)
    assert text_module._jieba is not None and text_module._jieba.initialized
    assert loaded_in and loaded_in[0] != threading.main_thread().name
