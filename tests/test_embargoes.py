"""gateway.embargoes: validation, time windows, co-occurring groups, persistence, audit."""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from gateway import audit
from gateway.embargoes import EmbargoStore, parse_terms, parse_time
from gateway.store import Store
from gateway.text import normalize

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=timezone.utc)


def iso(dt: datetime) -> str:
    return dt.isoformat()


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "db.sqlite")
    yield s
    s.close()


@pytest.fixture
def service(store: Store) -> EmbargoStore:
    return EmbargoStore(store)


def test_parse_terms_alternatives_and_groups() -> None:
    assert parse_terms(["新校区", "校长+任命", ["院长", "人选"]]) == (
        ("新校区",), ("校长", "任命"), ("院长", "人选"),
    )


@pytest.mark.parametrize(
    "terms, message",
    [
        ([], "at least one"),
        (["校长+"], "terms[0]: empty"),
        (["ok", 3], "terms[1]: must be a string"),
        (["ok", "**"], "terms[1]: '**' has no characters"),
        (["校长+" + "长" * 201], "terms[0]: a part is 201 characters long (at most 200)"),
    ],
)
def test_parse_terms_rejects_bad_terms(terms: list, message: str) -> None:
    with pytest.raises(ValueError, match=re.escape(message)):
        parse_terms(terms)


def test_parse_time_needs_an_offset() -> None:
    assert parse_time("2026-06-01T12:00:00Z", "ends_at") == NOW
    assert parse_time("2026-06-01T20:00:00+08:00", "ends_at") == NOW
    with pytest.raises(ValueError, match="ends_at: .* has no UTC offset"):
        parse_time("2026-06-01T12:00:00", "ends_at")
    with pytest.raises(ValueError, match="starts_at: .* is not an ISO 8601 time"):
        parse_time("tomorrow", "starts_at")


def test_create_validates_fields(service: EmbargoStore) -> None:
    with pytest.raises(ValueError, match="^topic:"):
        service.create(" ", ["x"], iso(NOW))
    with pytest.raises(ValueError, match="^ends_at: must be after starts_at"):
        service.create("t", ["x"], iso(NOW), starts_at=iso(NOW + timedelta(hours=1)))


def test_window_start_end_and_lift(service: EmbargoStore) -> None:
    e = service.create("人事任命", ["校长+任命"], iso(NOW + timedelta(days=2)), starts_at=iso(NOW + timedelta(days=1)))
    assert not e.active(NOW)  # before its start
    assert e.active(NOW + timedelta(days=1, hours=1))
    assert not e.active(NOW + timedelta(days=2))  # at its end it lifts
    lifted = service.lift(e.id, actor="admin")
    assert lifted.lifted_at is not None
    assert not lifted.active(datetime.now(timezone.utc) + timedelta(seconds=1))


def test_groups_must_co_occur_in_one_sentence(service: EmbargoStore) -> None:
    service.create("人事任命", ["校长+任命", "新校区"], iso(NOW + timedelta(days=1)))
    snap = service.snapshot
    applicable = snap.applicable("acc", False, NOW)

    def topics(text: str) -> list[str]:
        return [m.embargo.topic for m in snap.matches(normalize(text), applicable)]

    assert topics("学校今天宣布任命新的校长。") == ["人事任命"]
    assert topics("校长出席会议。下午讨论任命程序。") == []  # two sentences
    assert topics("关于新校区的消息") == ["人事任命"]  # a single-part alternative
    assert topics("校 长 今 日 任 命") == ["人事任命"]  # evasion by spaces
    assert topics("與會者談到校長任命") == ["人事任命"]  # traditional


def test_match_offsets_cover_the_group_in_the_original(service: EmbargoStore) -> None:
    service.create("人事任命", ["校长+任命"], iso(NOW + timedelta(days=1)))
    text = "标题\n\n今天，学校任命了新的校长。"
    snap = service.snapshot
    [m] = snap.matches(normalize(text), snap.applicable("acc", False, NOW))
    assert text[m.start:m.end] == "任命了新的校长"


def test_exempt_and_official_accounts(service: EmbargoStore) -> None:
    service.create("人事任命", ["校长+任命"], iso(NOW + timedelta(days=1)), exempt_accounts=["news"])
    snap = service.snapshot
    assert len(snap.applicable("acc", False, NOW)) == 1
    assert snap.applicable("news", False, NOW) == []
    assert snap.applicable("acc", True, NOW) == []


def test_embargoes_persist_and_are_audited(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = Store(path)
    e = EmbargoStore(first).create("人事任命", ["校长+任命"], iso(NOW + timedelta(days=1)), actor="admin")
    first.close()
    second = Store(path)
    again = EmbargoStore(second)
    loaded = again.get(e.id)
    assert loaded is not None and loaded.terms == (("校长", "任命"),) and loaded.ends_at == e.ends_at
    entries = audit.entries(second, f"embargo:{e.id}")
    assert [(x["action"], x["actor"]) for x in entries] == [("embargo.created", "admin")]
    assert entries[0]["data"]["topic"] == "人事任命"
    second.close()


def test_list_hides_past_embargoes_unless_asked(service: EmbargoStore) -> None:
    now = datetime.now(timezone.utc)
    past = service.create("旧", ["旧闻"], iso(now - timedelta(days=1)), starts_at=iso(now - timedelta(days=2)))
    current = service.create("新", ["新闻"], iso(now + timedelta(days=1)))
    assert [e.id for e in service.list()] == [current.id]
    assert {e.id for e in service.list(include_past=True)} == {past.id, current.id}


def test_lifting_unknown_embargo_is_a_key_error(service: EmbargoStore) -> None:
    with pytest.raises(KeyError):
        service.lift("emb_nope")
