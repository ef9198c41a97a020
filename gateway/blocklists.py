"""The blocklist service: shipped term lists plus admins' changes, one matcher for all.

Lists come from the ``*.txt`` files of the ``draftgate_blocklists`` package
(the repository's ``blocklists/``) and any extra folders in the config; admin
additions and removals are stored in ``text_blocklist_changes``, audited, and
applied on top. Every change builds a new immutable ``BlocklistSnapshot``
(lists + one Aho-Corasick automaton over all their terms) and swaps the
reference, so screening in progress keeps the snapshot it started with and
the next draft sees the change, with no restart and no lock on the hot path.
"""

from __future__ import annotations

import importlib.resources
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Mapping, Sequence

from gateway import audit
from gateway.store import Store, utcnow
from gateway.text import (
    Blocklist,
    BlocklistError,
    Hit,
    Normalized,
    Term,
    TermMatcher,
    parse_blocklist,
    parse_term_line,
)

log = logging.getLogger("draftgate.blocklists")

SERVICE = "blocklists"
SHIPPED_PACKAGE = "draftgate_blocklists"

def shipped_sources() -> list[tuple[str, str]]:
    """``(source name, text)`` of every list shipped with the gateway."""
    root = importlib.resources.files(SHIPPED_PACKAGE)
    out = []
    for entry in sorted(root.iterdir(), key=lambda e: e.name):
        if entry.name.endswith(".txt"):
            out.append((f"blocklists/{entry.name}", entry.read_text(encoding="utf-8")))
    return out


def dir_sources(folder: str | Path) -> list[tuple[str, str]]:
    return [(str(p), p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.txt"))]


def term_to_line(item: Any) -> str:
    """An API term (a term line, or ``{term, severity?, policy?, allow?, ...}``) as a term line."""
    if isinstance(item, str):
        return item.strip()
    if isinstance(item, Mapping):
        term = item.get("term")
        if not isinstance(term, str):
            raise ValueError("'term' must be a string")
        if "|" in term:
            raise ValueError("'term' must not contain '|'")
        parts = [term.strip()]
        for key, value in item.items():
            if key == "term" or value is None:
                continue
            if isinstance(value, (list, tuple)):
                value = ",".join(str(v) for v in value)
            parts.append(f"{key}={value}")
        return " | ".join(parts)
    raise ValueError("each term must be a string or an object with 'term'")


class _ScanCache:
    """A few recent scans, so the checkers of one draft share one automaton pass."""

    def __init__(self, size: int = 16) -> None:
        self._size = size
        self._data: OrderedDict[str, list[Hit]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> list[Hit] | None:
        with self._lock:
            return self._data.get(key)

    def put(self, key: str, value: list[Hit]) -> None:
        with self._lock:
            self._data[key] = value
            while len(self._data) > self._size:
                self._data.popitem(last=False)


class BlocklistSnapshot:
    """The effective lists at one moment and a matcher over all of their terms (immutable)."""

    def __init__(self, version: int, lists: Mapping[str, Blocklist]) -> None:
        self.version = version
        self.lists: Mapping[str, Blocklist] = dict(lists)
        self.matcher = TermMatcher(t for bl in self.lists.values() for t in bl.terms)
        self._cache = _ScanCache()

    def scan(self, norm: Normalized) -> list[Hit]:
        """Every judged hit of every list in ``norm`` (one automaton pass, cached per text)."""
        hits = self._cache.get(norm.original)
        if hits is None:
            hits = self.matcher.find(norm)
            self._cache.put(norm.original, hits)
        return hits

    def hits(self, norm: Normalized, list_name: str) -> list[Hit]:
        return [h for h in self.scan(norm) if h.term.list_name == list_name]


@dataclass(frozen=True)
class ChangeResult:
    list: str
    changed: tuple[str, ...]
    not_found: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {"list": self.list, "terms": list(self.changed), "not_found": list(self.not_found)}


class BlocklistStore:
    """Loads, changes and serves the blocklists. ``snapshot`` is what screening reads."""

    def __init__(self, store: Store, sources: Sequence[tuple[str, str]] | None = None) -> None:
        self.store = store
        self._base = self._parse_sources(shipped_sources() if sources is None else sources)
        self._reload_lock = threading.Lock()
        self._version = 0
        self._snapshot = self._build()

    # -- loading -----------------------------------------------------------

    @staticmethod
    def _parse_sources(sources: Sequence[tuple[str, str]]) -> dict[str, Blocklist]:
        lists: dict[str, Blocklist] = {}
        problems: list[str] = []
        for source, text in sources:
            try:
                bl = parse_blocklist(text, source)
            except BlocklistError as exc:
                problems.extend(exc.problems)
                continue
            if bl.name in lists:
                problems.append(f"{source}: list {bl.name!r} is already defined in {lists[bl.name].source}")
                continue
            lists[bl.name] = bl
        if problems:
            raise BlocklistError(problems)
        return lists

    def _build(self) -> BlocklistSnapshot:
        rows = self.store.query("SELECT list, key, op, line FROM text_blocklist_changes ORDER BY list, key")
        by_list: dict[str, dict[str, Term]] = {name: {t.key: t for t in bl.terms} for name, bl in self._base.items()}
        for row in rows:
            base = self._base.get(row["list"])
            if base is None:
                log.warning("stored changes for unknown blocklist %r ignored", row["list"])
                continue
            terms = by_list[row["list"]]
            if row["op"] == "remove":
                terms.pop(row["key"], None)
            else:
                terms[row["key"]] = parse_term_line(
                    row["line"], list_name=base.name, severity=base.severity, policy=base.policy, max_chars=None
                )
        lists = {name: replace(self._base[name], terms=tuple(terms.values())) for name, terms in by_list.items()}
        self._version += 1
        return BlocklistSnapshot(self._version, lists)

    def reload(self) -> BlocklistSnapshot:
        """Rebuild from the files and the database and swap it in (never blocks screening)."""
        with self._reload_lock:
            snapshot = self._build()
            self._snapshot = snapshot  # one reference assignment: readers see old or new, whole
            return snapshot

    @property
    def snapshot(self) -> BlocklistSnapshot:
        return self._snapshot

    def names(self) -> list[str]:
        return sorted(self._base)

    def describe(self, name: str) -> dict[str, Any]:
        bl = self._snapshot.lists[name]
        return {
            "name": bl.name,
            "category": bl.category,
            "severity": bl.severity.value,
            "policy": bl.policy,
            "terms": [_term_json(t) for t in bl.terms],
        }

    # -- admin changes -----------------------------------------------------

    def parse_terms(self, name: str, items: Sequence[Any]) -> list[Term]:
        """Validate API terms for list ``name``; BlocklistError names each bad line (1-based)."""
        if name not in self._base:
            raise KeyError(name)
        base = self._base[name]
        if not items:
            raise BlocklistError(["terms: at least one term is needed"])
        terms: list[Term] = []
        problems: list[str] = []
        for i, item in enumerate(items):
            try:
                line = term_to_line(item)
                terms.append(parse_term_line(line, list_name=name, severity=base.severity, policy=base.policy))
            except ValueError as exc:
                problems.append(f"terms[{i}] (line {i + 1}): {exc}")
        if problems:
            raise BlocklistError(problems)
        return terms

    def add_terms(self, name: str, items: Sequence[Any], actor: str | None, *, reload: bool = True) -> ChangeResult:
        """Store and audit added terms, then rebuild (unless ``reload`` is False: the caller
        then calls ``reload()`` itself, e.g. off the database thread); effective when that returns."""
        terms = self.parse_terms(name, items)
        lines = [term_to_line(item) for item in items]
        now = utcnow()
        with self.store.transaction() as conn:
            for term, line in zip(terms, lines):
                conn.execute(
                    "INSERT OR REPLACE INTO text_blocklist_changes (list, key, op, line, changed_by, changed_at)"
                    " VALUES (?, ?, 'add', ?, ?, ?)",
                    (name, term.key, line, actor, now),
                )
            audit.append(self.store, actor, "blocklist.terms_added", f"blocklist:{name}", {"terms": lines})
        if reload:
            self.reload()
        return ChangeResult(name, tuple(t.term for t in terms))

    def remove_terms(self, name: str, items: Sequence[Any], actor: str | None, *, reload: bool = True) -> ChangeResult:
        """Store and audit removed terms, then rebuild; a term not in the list is reported, not an error."""
        terms = self.parse_terms(name, items)
        current = {t.key for t in self._snapshot.lists[name].terms}
        removed = [t for t in terms if t.key in current]
        missing = [t.term for t in terms if t.key not in current]
        now = utcnow()
        if removed:
            with self.store.transaction() as conn:
                for term in removed:
                    conn.execute(
                        "INSERT OR REPLACE INTO text_blocklist_changes (list, key, op, line, changed_by, changed_at)"
                        " VALUES (?, ?, 'remove', ?, ?, ?)",
                        (name, term.key, term.term, actor, now),
                    )
                audit.append(
                    self.store, actor, "blocklist.terms_removed", f"blocklist:{name}",
                    {"terms": [t.term for t in removed]},
                )
            if reload:
                self.reload()
        return ChangeResult(name, tuple(t.term for t in removed), tuple(missing))


def _term_json(t: Term) -> dict[str, Any]:
    out: dict[str, Any] = {"term": t.term, "severity": t.severity.value, "policy": t.policy}
    if t.allow:
        out["allow"] = list(t.allow)
    if t.downgrade:
        out["downgrade"] = t.downgrade.value
    out.update(t.attrs)
    return out


def setup_service(gateway: Any) -> BlocklistStore:
    """Create (once) the gateway's blocklist service; extra folders from ``[plugins.blocklists] dirs``."""
    existing = gateway.services.get(SERVICE)
    if existing is not None:
        return existing
    sources = shipped_sources()
    for folder in gateway.plugin_settings(SERVICE).get("dirs", []):
        sources.extend(dir_sources(folder))
    service = BlocklistStore(gateway.store, sources)
    gateway.services[SERVICE] = service
    return service


__all__ = ["BlocklistStore", "BlocklistSnapshot", "ChangeResult", "setup_service", "shipped_sources"]
