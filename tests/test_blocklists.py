"""gateway.blocklists: shipped lists, admin changes (durable, audited, live), snapshot swaps."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Iterator

import pytest

from gateway import audit
from gateway.blocklists import BlocklistStore, dir_sources, shipped_sources
from gateway.model import Severity
from gateway.store import Store
from gateway.text import BlocklistError, normalize

LIST = """\
@list demo
@category test
@severity review
绝密 | severity=block | policy=boundary
包邮
"""


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path / "db.sqlite")
    yield s
    s.close()


def terms_found(service: BlocklistStore, text: str, name: str = "demo") -> list[str]:
    return sorted(h.term.term for h in service.snapshot.hits(normalize(text), name))


def test_shipped_lists_load_and_have_the_contract_names(store: Store) -> None:
    names = {src for src, _ in shipped_sources()}
    assert "blocklists/confidentiality.txt" in names
    service = BlocklistStore(store)
    assert {"confidentiality", "commercial"} <= set(service.names())
    conf = service.snapshot.lists["confidentiality"]
    assert conf.category == "confidentiality" and conf.severity is Severity.BLOCK
    assert len(conf.terms) > 10


def test_added_term_is_effective_for_the_next_scan(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    assert terms_found(service, "新口令是天王盖地虎") == []
    result = service.add_terms("demo", ["天王盖地虎 | severity=block"], actor="admin")
    assert result.changed == ("天王盖地虎",)
    hits = service.snapshot.hits(normalize("新口令是天王盖地虎"), "demo")
    assert [(h.term.term, h.severity) for h in hits] == [("天王盖地虎", Severity.BLOCK)]


def test_removed_term_stops_firing_even_when_shipped(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    assert terms_found(service, "全场包邮") == ["包邮"]
    result = service.remove_terms("demo", ["包邮"], actor="admin")
    assert result.changed == ("包邮",)
    assert terms_found(service, "全场包邮") == []


def test_removing_an_unknown_term_is_reported_not_failed(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    version = service.snapshot.version
    result = service.remove_terms("demo", ["没有这个词"], actor="admin")
    assert result.changed == () and result.not_found == ("没有这个词",)
    assert service.snapshot.version == version


def test_changes_survive_a_restart(tmp_path: Path) -> None:
    path = tmp_path / "db.sqlite"
    first = Store(path)
    service = BlocklistStore(first, [("demo.txt", LIST)])
    service.add_terms("demo", [{"term": "天王盖地虎", "severity": "block"}], actor="admin")
    service.remove_terms("demo", ["包邮"], actor="admin")
    first.close()
    second = Store(path)
    again = BlocklistStore(second, [("demo.txt", LIST)])
    assert terms_found(again, "天王盖地虎，全场包邮") == ["天王盖地虎"]
    second.close()


def test_a_long_term_stored_before_the_length_limit_still_loads_and_fires(tmp_path: Path) -> None:
    # Written by an earlier version that had no limit: acknowledged, so kept.
    path = tmp_path / "db.sqlite"
    first = Store(path)
    BlocklistStore(first, [("demo.txt", LIST)])
    long_term = "旧" * 2500  # beyond the 200-character limit and Hyperscan's 2,000
    with first.transaction() as conn:
        conn.execute("INSERT INTO text_blocklist_changes (list, key, op, line, changed_by, changed_at) VALUES (?, ?, ?, ?, ?, ?)",
                     ("demo", long_term, "add", long_term, "admin", "2026-01-01T00:00:00+00:00"))
    first.close()
    second = Store(path)
    again = BlocklistStore(second, [("demo.txt", LIST)])
    assert terms_found(again, "前言" + long_term + "，全场包邮") == ["包邮", long_term]
    second.close()


def test_changes_are_audited(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    service.add_terms("demo", ["天王盖地虎"], actor="admin")
    service.remove_terms("demo", ["包邮"], actor="admin")
    entries = audit.entries(store, "blocklist:demo")
    assert [(e["action"], e["actor"], e["data"]["terms"]) for e in entries] == [
        ("blocklist.terms_added", "admin", ["天王盖地虎"]),
        ("blocklist.terms_removed", "admin", ["包邮"]),
    ]
    assert audit.verify(store)["ok"]


def test_bad_terms_name_their_line_and_change_nothing(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    with pytest.raises(BlocklistError) as info:
        service.add_terms("demo", ["好词", "坏词 | severity=fatal", ""], actor="admin")
    assert info.value.problems[0].startswith("terms[1] (line 2): unknown severity")
    assert info.value.problems[1].startswith("terms[2] (line 3): empty term")
    assert terms_found(service, "好词") == []
    assert audit.entries(store, "blocklist:demo") == []


def test_unknown_list_is_a_key_error(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    with pytest.raises(KeyError):
        service.add_terms("nope", ["x"], actor="admin")


def test_malformed_source_fails_loading_with_file_and_line(store: Store) -> None:
    bad = LIST + "机密 | policy=sometimes\n"
    with pytest.raises(BlocklistError) as info:
        BlocklistStore(store, [("lists/bad.txt", bad)])
    assert info.value.problems == ["lists/bad.txt:6: unknown policy 'sometimes' (expected strict or boundary)"]


def test_two_files_defining_one_list_are_refused(store: Store) -> None:
    with pytest.raises(BlocklistError, match="already defined"):
        BlocklistStore(store, [("a.txt", LIST), ("b.txt", LIST)])


def test_extra_folders_are_read(tmp_path: Path, store: Store) -> None:
    folder = tmp_path / "lists"
    folder.mkdir()
    (folder / "demo.txt").write_text(LIST, encoding="utf-8")
    service = BlocklistStore(store, dir_sources(folder))
    assert service.names() == ["demo"]


def test_a_scan_in_progress_keeps_its_snapshot(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    before = service.snapshot
    service.add_terms("demo", ["天王盖地虎"], actor="admin")
    after = service.snapshot
    assert after is not before and after.version > before.version
    # The old snapshot is immutable: a draft screened with it sees the old lists, whole.
    assert [h.term.term for h in before.hits(normalize("天王盖地虎"), "demo")] == []
    assert [h.term.term for h in after.hits(normalize("天王盖地虎"), "demo")] == ["天王盖地虎"]


def test_reloading_never_blocks_or_breaks_concurrent_screening(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    errors: list[BaseException] = []
    seen: set[tuple[str, ...]] = set()
    stop = threading.Event()

    def screen() -> None:
        try:
            while not stop.is_set():
                # A fresh text each time so the per-text cache does not hide the matcher.
                text = f"全场包邮，口令{len(seen)}天王盖地虎"
                seen.add(tuple(h.term.term for h in service.snapshot.hits(normalize(text), "demo")))
        except BaseException as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=screen) for _ in range(2)]
    for t in threads:
        t.start()
    for i in range(10):
        service.add_terms("demo", [f"临时词{i}", "天王盖地虎"], actor="admin")
        service.remove_terms("demo", ["天王盖地虎"], actor="admin")
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    # Every scan saw a whole snapshot: with or without the toggled term, never anything else.
    assert seen <= {("包邮",), ("包邮", "天王盖地虎")}


def test_describe_lists_effective_terms(store: Store) -> None:
    service = BlocklistStore(store, [("demo.txt", LIST)])
    service.add_terms("demo", ["天王盖地虎 | policy=boundary"], actor="admin")
    info = service.describe("demo")
    assert info["name"] == "demo" and info["severity"] == "review"
    assert {"term": "天王盖地虎", "severity": "review", "policy": "boundary"} in info["terms"]


def test_setup_service_reads_extra_folders_from_the_config_once(tmp_path: Path, store: Store) -> None:
    from gateway.blocklists import setup_service
    from gateway.config import Config
    from gateway.metrics import Metrics
    from gateway.plugins import make_plugin_manager
    from gateway.services import Gateway

    folder = tmp_path / "extra"
    folder.mkdir()
    (folder / "demo.txt").write_text(LIST, encoding="utf-8")
    config = Config(db_path=str(tmp_path / "db.sqlite"), plugin_settings={"blocklists": {"dirs": [str(folder)]}})
    gw = Gateway(config, store, make_plugin_manager(load_entry_points=False), Metrics())
    try:
        service = setup_service(gw)
        assert {"confidentiality", "commercial", "demo"} <= set(service.names())
        assert setup_service(gw) is service and gw.services["blocklists"] is service
    finally:
        gw.close()
