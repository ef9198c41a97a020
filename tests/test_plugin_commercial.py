"""Checker ``commercial``: combined explained score, permits, stray words, evasions."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import pytest

from draftgate_plugins import commercial
from gateway.config import Config
from gateway.metrics import Metrics
from gateway.model import Account, Content, Draft, Permits, Severity
from gateway.plugins import make_plugin_manager
from gateway.services import Gateway
from gateway.store import Store
from gateway.text import normalize

PLAIN = Account("acc", "物理学院", "wechat", "物理学院", "resp")
LICENSED = Account("shop", "校园文创", "wechat", "出版社", "resp", permits=Permits(commercial=True))

AD = "新品上市！扫码购买，全场包邮，限时优惠价¥99，加微信 abc123 下单。"


@pytest.fixture
def gateway(tmp_path: Path) -> Iterator[Gateway]:
    store = Store(tmp_path / "db.sqlite")
    gw = Gateway(Config(db_path=str(tmp_path / "db.sqlite")), store, make_plugin_manager(load_entry_points=False), Metrics())
    yield gw
    gw.close()
    store.close()


@pytest.fixture
def checker(gateway: Gateway) -> commercial.CommercialChecker:
    [c] = commercial.register_checkers(gateway)
    return c


def draft(body: str, account: Account = PLAIN, title: str = "推送") -> Draft:
    return Draft("d1", 1, account, Content(title, body), "op", "2026-01-01T00:00:00+00:00")


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


def test_threshold_is_a_setting(gateway: Gateway) -> None:
    strict = commercial.CommercialChecker(gateway.services.get("blocklists") or commercial.setup_service(gateway),
                                          {"threshold": 100})
    assert strict.check(draft(AD)) == []


def test_admin_removal_of_a_signal_takes_effect(gateway: Gateway, checker: commercial.CommercialChecker) -> None:
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
