"""Checker ``commercial``: combined explained score, permits, stray words, evasions."""

from __future__ import annotations

import pytest
from campus_posts import Post, load_posts
from conftest import PLAIN_ACCOUNT, make_draft
from draftgate_plugins import commercial

from gateway.model import Account, Draft, Permits, Severity
from gateway.services import Gateway
from gateway.text import normalize

LICENSED = Account("shop", "校园文创", "wechat", "出版社", "resp", permits=Permits(commercial=True))

AD = "新品上市！扫码购买，全场包邮，限时优惠价¥99，加微信 abc123 下单。"


@pytest.fixture(scope="module")
def checker(module_gateway: Gateway) -> commercial.CommercialChecker:
    """Shared by the module's read-only tests; a test that changes the blocklists builds its own."""
    [c] = commercial.register_checkers(module_gateway)
    return c


def draft(body: str, account: Account = PLAIN_ACCOUNT, title: str = "推送") -> Draft:
    return make_draft(account, title, body)


def test_an_ad_needs_review_and_the_finding_explains_itself(checker: commercial.CommercialChecker) -> None:
    [f] = checker.check(draft(AD))
    assert (f.checker, f.rule, f.severity) == ("commercial", "commercial_content", Severity.REVIEW)
    labels = {s["evidence"] for s in f.evidence["signals"]}
    assert {"扫码购买", "包邮", "限时优惠", "加微信", "下单", "price"} <= labels
    assert {s["signal"] for s in f.evidence["signals"]} >= {"call_to_buy", "contact", "price"}
    assert f.evidence["score"] >= f.evidence["threshold"]
    for word in ("扫码购买", "包邮", "加微信"):
        assert word in f.message
    d = draft(AD)
    for s in f.evidence["signals"]:
        assert d.screened_text[s["start"]:s["end"]]


def test_the_commercial_permit_turns_it_into_info(checker: commercial.CommercialChecker) -> None:
    [f] = checker.check(draft(AD, LICENSED))
    assert f.severity is Severity.INFO
    assert "permit" in f.message


@pytest.mark.parametrize(
    "body",
    [
        "据报道，今年鸡蛋价格为每斤5元，同比上涨一成。",  # a news story quoting a price
        "学校图书馆新增一台自助打印机，使用时请扫码。",
        "本次讲座由校友会赞助。",
        "食堂推出了新菜品。",
        "同学们在淘宝上买到了二手教材。",
    ],
)
def test_one_stray_signal_never_flags(checker: commercial.CommercialChecker, body: str) -> None:
    assert checker.check(draft(body)) == []


def test_one_strong_word_alone_does_not_flag(checker: commercial.CommercialChecker) -> None:
    for word in ("包邮", "扫码购买", "加微信", "限时优惠"):
        assert checker.check(draft(f"关于{word}的讨论。")) == []


def test_two_independent_signals_flag(checker: commercial.CommercialChecker) -> None:
    [f] = checker.check(draft("校园文创T恤，全场包邮，扫码购买。"))
    assert {s["evidence"] for s in f.evidence["signals"]} >= {"包邮", "扫码购买"}


def test_weak_words_in_a_long_article_do_not_add_up(checker: commercial.CommercialChecker) -> None:
    article = ("本市经济运行平稳，企业经营状况良好，产品销售和品牌建设取得进展，公司专业服务水平提升。" * 20)
    result = commercial.score(normalize(article), checker.blocklists)
    assert len(result.signals) >= 4
    assert not result.flags(checker.threshold)
    assert checker.check(draft(article)) == []


@pytest.mark.parametrize(
    "body",
    [
        "全场包邮，加 V 信 下单",
        "全场包邮，ｖｘ：abc，下單",  # full-width, traditional
        "全场包*邮，加微\u200b信下单",
        "全场包邮，联系一三八一二三四五六七八 下单",
    ],
)
def test_evasions_are_seen_through(checker: commercial.CommercialChecker, body: str) -> None:
    assert len(checker.check(draft(body))) == 1, commercial.score(normalize(draft(body).screened_text), checker.blocklists)


def test_shop_links_and_prices(checker: commercial.CommercialChecker) -> None:
    [f] = checker.check(draft("好物推荐 https://item.taobao.com/item.htm?id=1 券后价￥29.9"))
    labels = {s["evidence"] for s in f.evidence["signals"]}
    assert {"taobao", "link", "price"} <= labels


def test_threshold_is_a_setting(module_gateway: Gateway) -> None:
    strict = commercial.CommercialChecker(module_gateway.services.get("blocklists") or commercial.setup_service(module_gateway),
                                          {"threshold": 100})
    assert strict.check(draft(AD)) == []


def test_admin_removal_of_a_signal_takes_effect(gateway: Gateway) -> None:
    [checker] = commercial.register_checkers(gateway)
    body = "校园T恤包邮，扫码购买。"
    assert len(checker.check(draft(body))) == 1
    gateway.services["blocklists"].remove_terms("commercial", ["包邮"], actor="admin")
    assert checker.check(draft(body)) == []


def test_a_huge_repetitive_draft_is_scored_quickly(checker: commercial.CommercialChecker) -> None:
    import time

    body = "扫码购买包邮，" * 20000
    started = time.perf_counter()
    [f] = checker.check(draft(body))
    # Each distinct piece of evidence once, however often it repeats.
    assert sorted(s["evidence"] for s in f.evidence["signals"]) == ["包邮", "扫码购买"]
    assert time.perf_counter() - started < 2.0


# -- the accounts' own content ------------------------------------------------


POSTS = load_posts()
CAMPUS = [p for p in POSTS if p.kind == "campus"]
SELLING = [p for p in POSTS if p.kind == "commercial"]


def test_the_fixture_holds_enough_varied_posts() -> None:
    assert len(CAMPUS) >= 60 and len(SELLING) >= 25
    assert len({p.body for p in POSTS}) == len(POSTS)


@pytest.mark.parametrize("post", CAMPUS, ids=[p.title for p in CAMPUS])
def test_campus_posts_need_no_commercial_sign_off(checker: commercial.CommercialChecker, post: Post) -> None:
    d = draft(post.body, title=post.title)
    assert checker.check(d) == [], commercial.score(normalize(d.screened_text), checker.blocklists)


@pytest.mark.parametrize("post", SELLING, ids=[p.title for p in SELLING])
def test_selling_posts_are_flagged(checker: commercial.CommercialChecker, post: Post) -> None:
    [f] = checker.check(draft(post.body, title=post.title))
    assert f.severity is Severity.REVIEW
    assert any(s["role"] == commercial.COMMERCE for s in f.evidence["signals"])


def test_a_registration_notice_becomes_commerce_only_with_a_sale(checker: commercial.CommercialChecker) -> None:
    notice = "报名请联系 13812345678 王老师"
    assert checker.check(draft(notice, title="报名")) == []
    [f] = checker.check(draft(notice + "。课程原价980元，扫码下单立减200元。", title="报名"))
    labels = {s["evidence"] for s in f.evidence["signals"]}
    assert {"扫码下单", "原价", "立减"} <= labels


def test_campus_words_count_in_full_outside_campus_texts(checker: commercial.CommercialChecker) -> None:
    # The same kind of words with no campus context: an advertising message.
    ad = "火热招生中，有意者请联系咨询电话13812345678"
    result = commercial.score(normalize(draft(ad).screened_text), checker.blocklists)
    assert not result.campus
    assert len(checker.check(draft(ad))) == 1
    on_campus = "物理学院" + ad.replace("火热", "")
    assert commercial.score(normalize(draft(on_campus).screened_text), checker.blocklists).campus
    assert checker.check(draft(on_campus)) == []


@pytest.mark.parametrize(
    "sentence, role",
    [
        ("本科生学费标准为每生每学年5300元。", commercial.MENTION),
        ("国家奖学金奖励标准为10000元。", commercial.MENTION),
        ("流感疫苗每针128元。", commercial.MENTION),
        ("猪肉价格同比下降2元。", commercial.MENTION),
        ("招牌奶茶只卖12元。", commercial.COMMERCE),
        ("这款耳机现在只要399元。", commercial.COMMERCE),
    ],
)
def test_a_price_stated_as_policy_is_a_mention(
    checker: commercial.CommercialChecker, sentence: str, role: str
) -> None:
    result = commercial.score(normalize(sentence), checker.blocklists)
    prices = [s for s in result.signals if s.kind == "price"]
    assert prices and all(s.role == role for s in prices), result


def test_quoted_ad_words_in_a_warning_are_mentions(checker: commercial.CommercialChecker) -> None:
    warning = "部分平台以“低息”“无抵押”为诱饵向学生放贷，请同学们提高警惕。"
    result = commercial.score(normalize(warning), checker.blocklists)
    quoted = {s.label: s.role for s in result.signals if s.label in ("低息", "无抵押")}
    assert quoted == {"低息": commercial.MENTION, "无抵押": commercial.MENTION}
    assert checker.check(draft(warning)) == []
    unquoted = "低息贷款，无抵押，当天到账，请同学们加微信咨询。"
    assert len(checker.check(draft(unquoted))) == 1


def test_a_sender_signing_off_is_commerce_a_title_tag_is_not(checker: commercial.CommercialChecker) -> None:
    opening = commercial.score(normalize("【学术讲座】量子计算"), checker.blocklists)
    closing = commercial.score(normalize("周末班开课啦【某某教育】"), checker.blocklists)
    [open_tag] = [s for s in opening.signals if s.label == "sender tag"]
    [close_tag] = [s for s in closing.signals if s.label == "sender tag"]
    assert (open_tag.role, close_tag.role) == (commercial.CAMPUS, commercial.COMMERCE)


def test_patterns_searched_near_their_needles_find_what_a_full_scan_finds() -> None:
    """The checker runs its regexes only around needles (digits before 元 or 折, 价格, 我是 …);
    on random text dense in what the patterns read, the first match of each
    pattern must be the one a scan of the whole text finds."""
    import random

    rng = random.Random(11)
    pieces = ["元", "块钱", "rmb", "¥", "$", "5", "12", "\x00", ",", "：", "折", "扣", "半价", "送", "减", "返", "买", "满",
              "一", "三", "价格", "售价", "只要", "低至", "套", "人", "我是", "公司", "的", "小王", "经理", "年", "。", "，",
              "平", "/", "每", "㎡", " ", "万", "学费", "字"]
    for _ in range(2000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 60)))
        original = text.replace("\x00", "/")  # the price per area reads the original, where fillers stand
        found = commercial._all_matches(text, original)
        for (needles, pattern), matches, view in zip(
            commercial._SEARCHES, found, [text] * len(commercial._PATTERNS) + [original]
        ):
            full = pattern.search(view)
            first = min(matches, key=lambda m: m.start(), default=None)
            assert (full.span() if full else None) == (first.span() if first else None), (view, pattern.pattern)


def test_the_sender_tag_is_looked_for_only_at_the_ends_with_the_same_result() -> None:
    import random

    rng = random.Random(5)
    pieces = ["【", "】", "某某教育", "学术讲座", "\n", " ", "正文内容", "。", "a"]
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(0, 12)))
        full = commercial._SENDER_TAG.search(text)
        fast = commercial._sender_tag(text)
        assert (full.span() if full else None) == (fast.span() if fast else None), repr(text)
