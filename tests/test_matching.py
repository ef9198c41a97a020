"""The ``KeySearch`` contract, run against every matcher backend this machine has."""

from __future__ import annotations

import platform
import random
import threading

import pytest

from gateway.matching import (
    BACKENDS,
    AhoCorasickSearch,
    available_backends,
    make_key_search,
)


def brute_force(keys: list[str], text: str) -> list[tuple[int, int, int]]:
    out = []
    for i, key in enumerate(keys):
        pos = text.find(key)
        while pos >= 0:
            out.append((i, pos, pos + len(key)))
            pos = text.find(key, pos + 1)
    return sorted(out)


@pytest.fixture(params=available_backends())
def backend(request: pytest.FixtureRequest) -> str:
    return request.param


def found(backend: str, keys: list[str], text: str) -> list[tuple[int, int, int]]:
    return sorted(make_key_search(keys, backend).find(text))


def test_reports_overlapping_and_nested_keys(backend: str) -> None:
    keys = ["机密", "机密文件", "密文"]
    assert found(backend, keys, "这是机密文件") == [(0, 2, 4), (1, 2, 6), (2, 3, 5)]


def test_reports_every_overlapping_occurrence_of_one_key(backend: str) -> None:
    assert found(backend, ["aa"], "aaaa") == [(0, 0, 2), (0, 1, 3), (0, 2, 4)]


def test_ascii_and_chinese_keys_mix(backend: str) -> None:
    # ASCII letters are NUL-padded code units in UTF-16: a key of them must
    # still match whole characters, never a half.
    keys = ["vx", "加vx", "x加"]
    assert found(backend, keys, "请加vx联系 x加") == [(0, 2, 4), (1, 1, 4), (2, 7, 9)]


def test_offsets_are_code_points_after_characters_beyond_the_bmp(backend: str) -> None:
    keys = ["机密", "😀", "a😀b", "𠀀机"]
    text = "😀😀机密 a😀b 𠀀机密"
    assert found(backend, keys, text) == brute_force(keys, text)
    assert found(backend, keys, text) == [
        (0, 2, 4), (0, 10, 12), (1, 0, 1), (1, 1, 2), (1, 6, 7), (2, 5, 8), (3, 9, 11),
    ]


def test_no_keys_and_no_text(backend: str) -> None:
    assert found(backend, [], "机密") == []
    assert found(backend, ["机密"], "") == []


def test_agrees_with_brute_force_on_random_text(backend: str) -> None:
    rng = random.Random(7)
    alphabet = "机密文件内部资料abc😀 "
    keys = sorted({"".join(rng.choices(alphabet, k=rng.randint(1, 4))) for _ in range(60)})
    search = make_key_search(keys, backend)
    for _ in range(200):
        text = "".join(rng.choices(alphabet, k=rng.randint(0, 80)))
        assert sorted(search.find(text)) == brute_force(keys, text), text


def test_one_search_shared_by_many_threads(backend: str) -> None:
    # Screening runs sync checkers on a thread pool against one shared search.
    keys = [f"词{i}" for i in range(500)] + ["机密"]
    search = make_key_search(keys, backend)
    # Long enough that scans overlap in time (Hyperscan releases the GIL).
    text = "".join(f"词{i}机密" for i in range(0, 500, 7)) * 20
    expected = sorted(search.find(text))
    failures: list[str] = []

    def work() -> None:
        for _ in range(100):
            if sorted(search.find(text)) != expected:
                failures.append("differs")

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []


def test_keys_hyperscan_refuses_are_still_matched(backend: str) -> None:
    # Hyperscan takes keys up to 2,000 characters; a longer one (from a
    # plugin, or a database written before terms were limited) must not
    # stop screening.
    long_key = "机" * 3000
    search = make_key_search([long_key, "密"], backend)
    assert sorted(search.find("机密" + long_key)) == [(0, 2, 3002), (1, 1, 2)]


def test_backend_chosen_by_name_or_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    assert isinstance(make_key_search(["a"], "ahocorasick"), AhoCorasickSearch)
    monkeypatch.setenv("DRAFTGATE_MATCHER", "ahocorasick")
    assert isinstance(make_key_search(["a"]), AhoCorasickSearch)
    with pytest.raises(ValueError, match="unknown matcher backend 'grep'"):
        make_key_search(["a"], "grep")
    assert available_backends()[-1] == "ahocorasick"
    assert set(available_backends()) <= set(BACKENDS)


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="hyperscan wheels are x86-64 only")
def test_hyperscan_is_installed_where_its_wheel_exists(monkeypatch: pytest.MonkeyPatch) -> None:
    # Otherwise the contract tests above would silently cover one backend only.
    monkeypatch.delenv("DRAFTGATE_MATCHER", raising=False)
    assert available_backends()[0] == "hyperscan"
    assert make_key_search(["a"]).backend == "hyperscan"  # type: ignore[attr-defined]
