"""gateway.text: visible text, normalisation and offsets, matcher, jieba filter, blocklist format."""

from __future__ import annotations

import pytest
from conftest import with_check_digit

from gateway.model import Severity
from gateway.text import (
    WINDOW,
    BlocklistError,
    Term,
    TermMatcher,
    fold_digits,
    is_resident_id,
    jieba_tokenizer,
    mobile_number,
    normalize,
    normalize_term,
    number_runs,
    parse_blocklist,
    parse_term_line,
    segment_window,
    stands_alone,
    visible_text,
)


def term(text: str, policy: str = "strict", severity: Severity = Severity.BLOCK, **kw: object) -> Term:
    return parse_term_line(
        text if not kw else text + "".join(f" | {k}={v}" for k, v in kw.items()),
        list_name="t", severity=severity, policy=policy,
    )


# -- visible text -----------------------------------------------------------


def test_visible_text_decodes_entities_and_drops_scripts_and_styles() -> None:
    html = (
        "<html><head><title>head title</title><style>p{color:red}</style></head>"
        "<body><p>机&#23494;&amp;<b>文件</b></p><script>var x = '绝密';</script>"
        "<p>第二段&nbsp;内容</p></body></html>"
    )
    text = visible_text(html)
    assert "机密&文件" in text
    assert "绝密" not in text and "color" not in text and "head title" not in text
    assert "第二段\xa0内容" in text or "第二段 内容" in text


def test_visible_text_keeps_alt_and_title_attributes() -> None:
    text = visible_text('<p>图<img src="a.png" alt="内部资料 注意保密"></p><a title="悬停文字" href="#">链接</a>')
    assert "内部资料 注意保密" in text
    assert "悬停文字" in text


def test_visible_text_block_elements_separate_words() -> None:
    # Two paragraphs "机" and "密" must not become the term 机密.
    text = visible_text("<p>有机</p><p>密码</p>")
    assert text.split() == ["有机", "密码"]
    assert "机密" not in normalize(text).compact


def test_visible_text_does_not_double_decode() -> None:
    assert visible_text("<p>&amp;lt;</p>") == "&lt;"


# -- normalisation ----------------------------------------------------------


@pytest.mark.parametrize(
    "text, needle",
    [
        ("ＡＢＣ", "abc"),  # full-width
        ("ABC", "abc"),  # case
        ("機密", "机密"),  # traditional
        ("機密檔案", "机密档案"),
        ("机*密", "机密"),  # symbol between characters
        ("机 密", "机密"),  # space
        ("机\u200b密", "机密"),  # zero-width space
        ("机\u200d\ufeff密", "机密"),  # zero-width joiner, BOM
        ("机·密", "机密"),
        ("机_-_密", "机密"),
        ("机\t密", "机密"),
        ("ｖ ｘ", "vx"),
    ],
)
def test_normalize_defeats_evasions(text: str, needle: str) -> None:
    assert normalize(text).compact == needle


@pytest.mark.parametrize(
    "original",
    ["标题\n\n正文 机*密 文件", "前言：機\u200b密★５年，后记", "ａｂｃ 机 密 xyz", "  机·密  "],
)
def test_offsets_map_back_to_the_original(original: str) -> None:
    norm = normalize(original)
    i = norm.compact.index("机密")
    start, end = norm.to_original(i, i + 2)
    span = original[start:end]
    # The span starts at the first character and ends at the last one of the
    # term as written, fillers inside included.
    assert normalize(span).compact == "机密"
    assert original[start] in "机機" and original[end - 1] == "密"


def test_offsets_identity_when_nothing_is_removed() -> None:
    norm = normalize("这是机密")
    assert norm.compact == "这是机密"
    assert norm.to_original(2, 4) == (2, 4)


def test_sentence_punctuation_and_newlines_are_kept() -> None:
    norm = normalize("有机。密码\n机密")
    assert "机密" not in norm.compact.split("\n")[0]
    assert norm.compact == "有机。密码\n机密"


@pytest.mark.parametrize(
    "written, digits",
    [
        ("一三八一二三四五六七八", "13812345678"),
        ("①③⑧①②③④⑤⑥⑦⑧", "13812345678"),
        ("１３８１２３４５６７８", "13812345678"),
        ("138-1234-5678", "13812345678"),
        ("138 1234 5678", "13812345678"),
        ("壹叁捌", "138"),
        ("𝟏𝟑𝟖𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖", "13812345678"),  # mathematical bold digits (beyond the BMP)
        ("⑴⑶⑻", "⑴⑶⑻"),  # parenthesised digits expand to several characters: left alone
    ],
)
def test_numbers_written_any_way_are_read_as_digits(written: str, digits: str) -> None:
    norm = normalize(f"电话{written}。")
    assert digits in norm.digits
    if len(digits) >= 7:
        runs = number_runs(norm)
        assert [r.digits for r in runs] == [digits]
        assert f"电话{written}。"[runs[0].start:runs[0].end] == written


def test_numerals_are_folded_only_in_the_digits_view() -> None:
    norm = normalize("一二三")
    assert norm.compact == "一二三"
    assert norm.digits == "123"
    assert fold_digits("〇幺") == "01"


def test_resident_id_check_digit() -> None:
    assert is_resident_id("11010519491231002X")
    assert is_resident_id("11010519491231002x")
    assert is_resident_id(with_check_digit("44030520011105123"))
    assert not is_resident_id("110105194912310021")  # wrong check digit
    assert not is_resident_id(with_check_digit("11010519491331002"))  # month 13, valid check digit
    assert not is_resident_id("1101051949123100")


def test_mobile_numbers() -> None:
    assert mobile_number("13812345678") == "13812345678"
    assert mobile_number("8613812345678") == "13812345678"
    assert mobile_number("12812345678") is None
    assert mobile_number("1381234567") is None


# -- matcher ----------------------------------------------------------------


def test_matcher_reports_overlapping_hits() -> None:
    matcher = TermMatcher([term("机密"), term("机密文件"), term("文件")])
    hits = matcher.find(normalize("这是机密文件。"))
    found = sorted((h.term.term, h.start, h.end) for h in hits)
    assert found == [("文件", 4, 6), ("机密", 2, 4), ("机密文件", 2, 6)]


def test_matcher_offsets_point_into_original_text_through_evasions() -> None:
    text = "标题\n\n此件機 *密，请勿外传"
    hits = TermMatcher([term("机密")]).find(normalize(text))
    assert len(hits) == 1
    assert text[hits[0].start:hits[0].end] == "機 *密"


def test_matcher_matches_terms_written_in_any_form() -> None:
    # A term written traditional/full-width in the list matches simplified text.
    matcher = TermMatcher([term("機密"), term("ＶＸ")])
    hits = matcher.find(normalize("机密 加vx"))
    assert sorted(h.term.key for h in hits) == ["vx", "机密"]


def test_ascii_terms_do_not_match_inside_longer_words() -> None:
    matcher = TermMatcher([term("vx")])
    assert matcher.find(normalize("devx 项目")) == []
    assert len(matcher.find(normalize("加 v x 联系"))) == 1
    assert len(matcher.find(normalize("加vx联系"))) == 1


def test_empty_matcher_finds_nothing() -> None:
    assert TermMatcher([]).find(normalize("机密")) == []


# -- jieba filter -------------------------------------------------------------


@pytest.mark.parametrize(
    "text, needle, alone",
    [
        ("请拒绝密码登录的请求", "绝密", False),
        ("这份文件是绝密的", "绝密", True),
        ("商业秘密保护法讲座", "秘密", False),
        ("数据的机密性与完整性", "机密", False),
        ("本文件属于机密", "机密", True),
        ("秘密花园开放了", "秘密", True),  # 秘密 is its own word here: the term's allow-list handles it
    ],
)
def test_stands_alone(text: str, needle: str, alone: bool) -> None:
    norm = normalize(text)
    i = norm.compact.index(needle)
    assert stands_alone(norm, i, i + len(needle)) is alone


def test_boundary_policy_drops_hits_inside_words() -> None:
    matcher = TermMatcher([term("绝密", policy="boundary")])
    assert matcher.find(normalize("他拒绝密码登录")) == []
    assert len(matcher.find(normalize("此件绝密，不得外传"))) == 1


def test_boundary_policy_can_downgrade_instead_of_dropping() -> None:
    matcher = TermMatcher([term("绝密", policy="boundary", downgrade="info")])
    hits = matcher.find(normalize("他拒绝密码登录"))
    assert [h.severity for h in hits] == [Severity.INFO]


def test_allow_list_drops_hits_inside_allowed_phrases() -> None:
    matcher = TermMatcher([term("秘密", allow="秘密花园,商业秘密")])
    assert matcher.find(normalize("参观秘密花园")) == []
    assert matcher.find(normalize("商业秘密讲座")) == []
    assert len(matcher.find(normalize("这是秘密")) ) == 1


def test_strict_policy_always_hits() -> None:
    matcher = TermMatcher([term("绝密")])
    assert len(matcher.find(normalize("他拒绝密码登录"))) == 1


def test_segmentation_runs_only_on_the_window_around_a_hit() -> None:
    text = "很长的句子" * 400 + "此件绝密" + "很长的句子" * 400
    norm = normalize(text)
    i = norm.compact.index("绝密")
    lo, tokens = segment_window(norm, i, i + 2)
    assert len("".join(tokens)) <= 2 * WINDOW + 2
    assert lo <= i


def test_segmentation_window_stays_in_the_sentence() -> None:
    norm = normalize("第一句话。此件绝密！第三句话")
    i = norm.compact.index("绝密")
    lo, tokens = segment_window(norm, i, i + 2)
    assert "".join(tokens) == "此件绝密"


def test_jieba_dictionary_is_loaded_once() -> None:
    assert jieba_tokenizer() is jieba_tokenizer()
    assert jieba_tokenizer().initialized


# -- blocklist files ----------------------------------------------------------

GOOD = """\
# a comment
@list secrets
@category confidentiality
@severity block
@policy boundary

绝密
内部资料 | severity=review
机密 | allow=机密性, 机密度
注意保密 | policy=strict
包邮 | signal=call_to_buy | weight=1.5
"""


def test_parse_blocklist_header_terms_and_fields() -> None:
    bl = parse_blocklist(GOOD, "good.txt")
    assert (bl.name, bl.category, bl.severity, bl.policy) == ("secrets", "confidentiality", Severity.BLOCK, "boundary")
    by = {t.term: t for t in bl.terms}
    assert set(by) == {"绝密", "内部资料", "机密", "注意保密", "包邮"}
    assert by["绝密"].policy == "boundary" and by["绝密"].severity is Severity.BLOCK
    assert by["内部资料"].severity is Severity.REVIEW
    assert by["机密"].allow == ("机密性", "机密度")
    assert by["注意保密"].policy == "strict"
    assert by["包邮"].attrs == {"signal": "call_to_buy", "weight": "1.5"}
    assert all(t.list_name == "secrets" for t in bl.terms)


@pytest.mark.parametrize(
    "body, where, reason",
    [
        ("绝密 | severity=fatal", "bad.txt:5", "unknown severity"),
        ("绝密 | policy=fuzzy", "bad.txt:5", "unknown policy"),
        ("绝密 | review", "bad.txt:5", "not key=value"),
        (" | severity=block", "bad.txt:5", "empty term"),
        ("* *", "bad.txt:5", "no characters left"),
        ("机密 | allow=商业秘密", "bad.txt:5", "does not contain"),
        ("绝密\n絕密", "bad.txt:6", "repeats line 5"),
        ("绝密\n@policy strict", "bad.txt:6", "after the first term"),
    ],
)
def test_malformed_lines_are_reported_with_file_and_line(body: str, where: str, reason: str) -> None:
    text = "@list x\n@category c\n@severity block\n# terms\n" + body + "\n"
    with pytest.raises(BlocklistError) as info:
        parse_blocklist(text, "bad.txt")
    assert any(p.startswith(where) and reason in p for p in info.value.problems), info.value.problems


def test_every_malformed_line_is_reported_not_just_the_first() -> None:
    text = "@list x\n@category c\n@severity block\n绝密 | severity=x\n好词\n机密 | policy=y\n"
    with pytest.raises(BlocklistError) as info:
        parse_blocklist(text, "f.txt")
    assert [p.split(":")[1] for p in info.value.problems] == ["4", "6"]


def test_missing_header_is_reported() -> None:
    with pytest.raises(BlocklistError) as info:
        parse_blocklist("@list x\n绝密\n", "h.txt")
    assert "h.txt:2" in info.value.problems[0] and "@category" in info.value.problems[0]
    with pytest.raises(BlocklistError, match="header incomplete"):
        parse_blocklist("# nothing\n", "e.txt")
    with pytest.raises(BlocklistError, match="unknown header @colour"):
        parse_blocklist("@colour red\n", "u.txt")


def test_normalize_term_is_the_compact_form() -> None:
    assert normalize_term(" 機 密 ") == "机密"
    assert normalize_term("V信") == "v信"


def test_repeated_terms_are_reported_a_bounded_number_of_times_and_segmented_once() -> None:
    from gateway.text import MAX_HITS_PER_TERM

    matcher = TermMatcher([term("绝密", policy="boundary"), term("注意保密")])
    norm = normalize("请拒绝密码。" * 5000 + "此件绝密。" * 100 + "注意保密。" * 100)
    hits = matcher.find(norm)
    # 5,000 decoys in one repeated sentence: one segmentation, and they hide
    # nothing; the real hits (此件绝密) need none: no word reaches across them.
    assert list(norm._segments) == ["请拒绝密码"]
    names = [h.term.term for h in hits]
    assert names.count("绝密") == MAX_HITS_PER_TERM
    assert names.count("注意保密") == MAX_HITS_PER_TERM
    assert all(norm.compact[h.cstart - 2:h.cstart] == "此件" for h in hits if h.term.term == "绝密")


def test_the_boundary_shortcut_agrees_with_jieba() -> None:
    """``stands_alone`` skips jieba when no dictionary word crosses a hit's edges;
    on random text of dictionary words, ASCII and punctuation it must say what
    segmenting the window says."""
    import random

    from gateway.text import clear_caches, no_word_across_edges

    rng = random.Random(7)
    freq = jieba_tokenizer().FREQ
    words = [w for w, f in freq.items() if f > 0 and 1 <= len(w) <= 4]
    extra = ["ab", "x", "7", "2026", "，", "。", "pku"]
    shortcut = checked = 0
    for _ in range(300):
        text = "".join(rng.choice(words) if rng.random() < 0.9 else rng.choice(extra) for _ in range(40))
        norm = normalize(text)
        compact = norm.compact
        for _ in range(10):
            cs = rng.randrange(0, len(compact) - 1)
            ce = min(len(compact), cs + rng.randint(1, 4))
            lo, tokens = segment_window(norm, cs, ce)
            bounds = {lo}
            pos = lo
            for token in tokens:
                pos += len(token)
                bounds.add(pos)
            truth = cs in bounds and ce in bounds
            if no_word_across_edges(norm, cs, ce):
                shortcut += 1
                assert truth, ("".join(tokens), cs - lo, ce - lo, tokens)
            assert stands_alone(norm, cs, ce) is truth
            checked += 1
    clear_caches()
    # The shortcut must actually be taken often enough to matter, and not always.
    assert 0.1 * checked < shortcut < checked


def test_our_segmentation_is_jiebas() -> None:
    """``_jieba_cut`` re-implements ``jieba.cut(HMM=False)`` for speed: same tokens on random text."""
    import random

    from gateway.text import _jieba_cut

    rng = random.Random(3)
    tokenizer = jieba_tokenizer()
    words = [w for w, f in tokenizer.FREQ.items() if f > 0 and len(w) <= 4]
    extra = ["ab", "x", "7", "2026", "，", "。", "pku", " ", "\n", "a b", "C++", "1.5", "%", "—", "·", "Ｔ恤", "\u00a0"]
    for _ in range(3000):
        text = "".join(rng.choice(words) if rng.random() < 0.8 else rng.choice(extra) for _ in range(rng.randint(1, 14)))
        if rng.random() < 0.3:  # character soup: words jieba does not know
            text = "".join(rng.choice(text + "的了是") for _ in range(len(text)))
        assert list(_jieba_cut(text)) == list(tokenizer.cut(text, HMM=False)), text
