"""Checker ``embargo``: topics in their window, groups in one sentence, exemptions, the finding."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from conftest import PLAIN_ACCOUNT, make_draft
from draftgate_plugins import embargo

from gateway.embargoes import EmbargoStore
from gateway.model import Account, Draft, Severity
from gateway.services import Gateway

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)
EXEMPT = Account("news", "新闻中心", "wechat", "新闻中心", "resp")
OFFICIAL = Account("pku", "北京大学", "wechat", "党委宣传部", "resp", official=True)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def service(gateway: Gateway) -> EmbargoStore:
    [checker] = embargo.register_checkers(gateway)  # creates the service the way the app does
    assert checker.name == "embargo"
    return gateway.services["embargoes"]


@pytest.fixture
def clock() -> Clock:
    return Clock(NOW)


@pytest.fixture
def checker(service: EmbargoStore, clock: Clock) -> embargo.EmbargoChecker:
    service.create(
        "校领导任免", ["校长+任命", "新任校长"],
        ends_at=(NOW + timedelta(days=2)).isoformat(), starts_at=(NOW - timedelta(hours=1)).isoformat(),
        exempt_accounts=["news"],
    )
    return embargo.EmbargoChecker(service, clock)


def draft(body: str, account: Account = PLAIN_ACCOUNT, title: str = "快讯") -> Draft:
    return make_draft(account, title, body)


def test_embargoed_topic_blocks_and_names_topic_and_lift_time(checker: embargo.EmbargoChecker) -> None:
    d = draft("据悉，学校今日正式任命了新的校长。")
    [f] = checker.check(d)
    assert (f.checker, f.rule, f.severity) == ("embargo", "embargoed_topic", Severity.BLOCK)
    assert "校领导任免" in f.message
    lifts = (NOW + timedelta(days=2)).isoformat()
    assert lifts in f.message
    assert f.evidence["topic"] == "校领导任免" and f.evidence["lifts_at"] == lifts
    assert d.screened_text[f.evidence["start"]:f.evidence["end"]] == "任命了新的校长"


def test_alternatives(checker: embargo.EmbargoChecker) -> None:
    [f] = checker.check(draft("新任校长将于下周到任"))
    assert f.evidence["term"] == "新任校长"


def test_group_parts_in_different_sentences_do_not_fire(checker: embargo.EmbargoChecker) -> None:
    assert checker.check(draft("校长出席了毕业典礼。随后宣读了教师任命文件。")) == []


def test_outside_the_window_nothing_fires(checker: embargo.EmbargoChecker, clock: Clock) -> None:
    body = "学校任命新校长"
    clock.now = NOW - timedelta(hours=2)  # before the start
    assert checker.check(draft(body)) == []
    clock.now = NOW + timedelta(days=2)  # at the end
    assert checker.check(draft(body)) == []
    clock.now = NOW + timedelta(days=1)
    assert len(checker.check(draft(body))) == 1


def test_exempt_and_official_accounts_may_publish(checker: embargo.EmbargoChecker) -> None:
    body = "学校任命新校长"
    assert checker.check(draft(body, EXEMPT)) == []
    assert checker.check(draft(body, OFFICIAL)) == []
    assert len(checker.check(draft(body, PLAIN_ACCOUNT))) == 1


def test_evasions(checker: embargo.EmbargoChecker) -> None:
    for body in ("學校任命新校長", "学校任 命新校*长", "新\u200b任校长到任"):
        assert len(checker.check(draft(body))) == 1, body


def test_title_counts(checker: embargo.EmbargoChecker) -> None:
    d = draft("详见正文。", title="新任校长名单公布")
    [f] = checker.check(d)
    assert d.screened_text[f.evidence["start"]:f.evidence["end"]] == "新任校长"


def test_new_embargo_is_effective_for_the_next_draft(service: EmbargoStore, clock: Clock) -> None:
    checker = embargo.EmbargoChecker(service, clock)
    assert checker.check(draft("新校区选址确定")) == []
    service.create("新校区", ["新校区+选址"], ends_at=(NOW + timedelta(days=1)).isoformat())
    assert [f.evidence["topic"] for f in checker.check(draft("新校区选址确定"))] == ["新校区"]


def test_lifted_embargo_stops_firing(service: EmbargoStore) -> None:
    e = service.create("新校区", ["新校区"], ends_at=(datetime.now(timezone.utc) + timedelta(days=1)).isoformat())
    checker = embargo.EmbargoChecker(service)
    assert len(checker.check(draft("新校区选址确定"))) == 1
    service.lift(e.id, actor="admin")
    later = embargo.EmbargoChecker(service, lambda: datetime.now(timezone.utc) + timedelta(seconds=1))
    assert later.check(draft("新校区选址确定")) == []


def test_no_embargoes_no_work(service: EmbargoStore) -> None:
    assert embargo.EmbargoChecker(service).check(draft("校长任命")) == []
