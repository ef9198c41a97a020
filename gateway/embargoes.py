"""The embargo service: admin-defined topics only the publicity department may announce.

Regulation article 14: major news is announced only by the publicity
department. An embargo has a topic, its terms (alternatives; an alternative
may be a group of parts that must occur in one sentence, e.g. 校长 + 任命),
an optional start, an end, and exempt accounts. Embargoes live in the table
``text_embargoes``; every change is audited and swaps in a new immutable
``EmbargoSnapshot`` (embargoes + one automaton over all their parts), so
screening in progress is never blocked and the next draft sees the change.
"""

from __future__ import annotations

import json
import threading
import uuid
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from gateway import audit
from gateway.model import Severity
from gateway.store import Store, dumps, utcnow
from gateway.text import MAX_TERM_CHARS, Normalized, Term, TermMatcher, normalize_term

SERVICE = "embargoes"
MAX_PARTS = 6
MAX_ALTERNATIVES = 500


def parse_time(value: str, field: str) -> datetime:
    """An ISO 8601 time with an offset (``Z`` accepted); ValueError naming ``field`` otherwise."""
    if not isinstance(value, str):
        raise ValueError(f"{field}: must be an ISO 8601 string")
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(f"{field}: {value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is None:
        raise ValueError(f"{field}: {value!r} has no UTC offset")
    return parsed.astimezone(timezone.utc)


def parse_terms(items: Sequence[Any]) -> tuple[tuple[str, ...], ...]:
    """Alternatives as tuples of parts: ``"校长+任命"`` or ``["校长", "任命"]`` is one two-part group."""
    if not isinstance(items, (list, tuple)) or not items:
        raise ValueError("terms: at least one term is needed")
    if len(items) > MAX_ALTERNATIVES:
        raise ValueError(f"terms: at most {MAX_ALTERNATIVES} terms")
    out: list[tuple[str, ...]] = []
    for i, item in enumerate(items):
        where = f"terms[{i}]"
        if isinstance(item, str):
            parts = [p.strip() for p in item.split("+")]
        elif isinstance(item, (list, tuple)) and all(isinstance(p, str) for p in item):
            parts = [p.strip() for p in item]
        else:
            raise ValueError(f"{where}: must be a string or a list of strings")
        if not parts or any(not p for p in parts):
            raise ValueError(f"{where}: empty term or part")
        if len(parts) > MAX_PARTS:
            raise ValueError(f"{where}: at most {MAX_PARTS} parts must co-occur")
        for p in parts:
            if len(p) > MAX_TERM_CHARS:
                raise ValueError(f"{where}: a part is {len(p)} characters long (at most {MAX_TERM_CHARS})")
            if not normalize_term(p):
                raise ValueError(f"{where}: {p!r} has no characters left after normalisation")
        out.append(tuple(parts))
    return tuple(out)


@dataclass(frozen=True)
class Embargo:
    id: str
    topic: str
    terms: tuple[tuple[str, ...], ...]
    starts_at: datetime | None
    ends_at: datetime
    exempt_accounts: frozenset[str]
    created_by: str | None
    created_at: str
    lifted_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        if self.lifted_at is not None and now >= self.lifted_at:
            return False
        if self.starts_at is not None and now < self.starts_at:
            return False
        return now < self.ends_at

    @property
    def lifts_at(self) -> datetime:
        return min(self.ends_at, self.lifted_at) if self.lifted_at else self.ends_at

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "topic": self.topic,
            "terms": ["+".join(parts) for parts in self.terms],
            "starts_at": self.starts_at.isoformat() if self.starts_at else None,
            "ends_at": self.ends_at.isoformat(),
            "exempt_accounts": sorted(self.exempt_accounts),
            "created_by": self.created_by,
            "created_at": self.created_at,
            "lifted_at": self.lifted_at.isoformat() if self.lifted_at else None,
            "active": self.active(datetime.now(timezone.utc)),
        }

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "Embargo":
        return cls(
            id=row["id"],
            topic=row["topic"],
            terms=tuple(tuple(p) for p in json.loads(row["terms"])),
            starts_at=parse_time(row["starts_at"], "starts_at") if row["starts_at"] else None,
            ends_at=parse_time(row["ends_at"], "ends_at"),
            exempt_accounts=frozenset(json.loads(row["exempt_accounts"])),
            created_by=row["created_by"],
            created_at=row["created_at"],
            lifted_at=parse_time(row["lifted_at"], "lifted_at") if row["lifted_at"] else None,
        )


@dataclass(frozen=True)
class EmbargoMatch:
    """An alternative of an embargo found in one sentence: the span covering its parts."""

    embargo: Embargo
    alternative: tuple[str, ...]
    start: int  # in Normalized.original
    end: int


class EmbargoSnapshot:
    """The embargoes at one moment and a matcher over every part of every alternative (immutable)."""

    def __init__(self, embargoes: Iterable[Embargo]) -> None:
        self.embargoes: tuple[Embargo, ...] = tuple(embargoes)
        terms = []
        for e in self.embargoes:
            for a, parts in enumerate(e.terms):
                for p, part in enumerate(parts):
                    terms.append(
                        Term(part, normalize_term(part), e.id, Severity.BLOCK, attrs={"alt": str(a), "part": str(p)})
                    )
        self._by_id = {e.id: e for e in self.embargoes}
        self.matcher = TermMatcher(terms)

    def applicable(self, account_id: str, official: bool, now: datetime) -> list[Embargo]:
        """Embargoes in force for this account now (official accounts are always exempt)."""
        if official:
            return []
        return [e for e in self.embargoes if e.active(now) and account_id not in e.exempt_accounts]

    def matches(self, norm: Normalized, embargoes: Sequence[Embargo]) -> list[EmbargoMatch]:
        """The first sentence in which some alternative of each embargo occurs whole."""
        wanted = {e.id for e in embargoes}
        if not wanted:
            return []
        compact = norm.compact
        # (embargo, alternative, sentence) -> part index -> first (cstart, cend)
        seen: dict[tuple[str, int, int], dict[int, tuple[int, int]]] = {}
        for cstart, cend, group in self.matcher.raw(compact):
            for term in group:
                if term.list_name not in wanted:
                    continue
                key = (term.list_name, int(term.attrs["alt"]), norm.sentence_index(cstart))
                seen.setdefault(key, {}).setdefault(int(term.attrs["part"]), (cstart, cend))
        found: dict[str, EmbargoMatch] = {}
        for (eid, alt, _sentence), parts in sorted(seen.items(), key=lambda kv: min(s for s, _ in kv[1].values())):
            embargo = self._by_id[eid]
            alternative = embargo.terms[alt]
            if eid in found or len(parts) < len(alternative):
                continue
            cstart = min(s for s, _ in parts.values())
            cend = max(e for _, e in parts.values())
            start, end = norm.to_original(cstart, cend)
            found[eid] = EmbargoMatch(embargo, alternative, start, end)
        return list(found.values())


class EmbargoStore:
    """Creates, lifts and serves embargoes; ``snapshot`` is what screening reads."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self._lock = threading.Lock()
        self._snapshot = self._build()

    def _build(self) -> EmbargoSnapshot:
        rows = self.store.query("SELECT * FROM text_embargoes ORDER BY created_at, id")
        return EmbargoSnapshot(Embargo.from_row(r) for r in rows)

    def reload(self) -> EmbargoSnapshot:
        with self._lock:
            snapshot = self._build()
            self._snapshot = snapshot  # one reference swap: screening sees old or new, whole
            return snapshot

    @property
    def snapshot(self) -> EmbargoSnapshot:
        return self._snapshot

    def list(self, include_past: bool = False) -> list[Embargo]:
        now = datetime.now(timezone.utc)
        return [e for e in self._snapshot.embargoes if include_past or now < e.lifts_at]

    def get(self, embargo_id: str) -> Embargo | None:
        return self._snapshot._by_id.get(embargo_id)

    def create(
        self,
        topic: str,
        terms: Sequence[Any],
        ends_at: str,
        *,
        starts_at: str | None = None,
        exempt_accounts: Sequence[str] = (),
        actor: str | None = None,
    ) -> Embargo:
        """Validate, store and audit a new embargo; effective when this returns. ValueError names the field."""
        if not isinstance(topic, str) or not topic.strip():
            raise ValueError("topic: must be a non-empty string")
        parsed_terms = parse_terms(terms)
        end = parse_time(ends_at, "ends_at")
        start = parse_time(starts_at, "starts_at") if starts_at is not None else None
        if start is not None and start >= end:
            raise ValueError("ends_at: must be after starts_at")
        if not all(isinstance(a, str) and a for a in exempt_accounts):
            raise ValueError("exempt_accounts: must be a list of account ids")
        embargo = Embargo(
            id=f"emb_{uuid.uuid4().hex[:16]}",
            topic=topic.strip(),
            terms=parsed_terms,
            starts_at=start,
            ends_at=end,
            exempt_accounts=frozenset(exempt_accounts),
            created_by=actor,
            created_at=utcnow(),
        )
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT INTO text_embargoes (id, topic, terms, starts_at, ends_at, exempt_accounts, created_by, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    embargo.id, embargo.topic, dumps([list(p) for p in parsed_terms]),
                    start.isoformat() if start else None, end.isoformat(),
                    dumps(sorted(embargo.exempt_accounts)), actor, embargo.created_at,
                ),
            )
            audit.append(self.store, actor, "embargo.created", f"embargo:{embargo.id}", embargo.to_json())
        self.reload()
        return embargo

    def lift(self, embargo_id: str, actor: str | None = None) -> Embargo:
        """End an embargo now (KeyError when unknown)."""
        if self.get(embargo_id) is None:
            raise KeyError(embargo_id)
        now = utcnow()
        with self.store.transaction() as conn:
            conn.execute("UPDATE text_embargoes SET lifted_at = ? WHERE id = ? AND lifted_at IS NULL", (now, embargo_id))
            audit.append(self.store, actor, "embargo.lifted", f"embargo:{embargo_id}", {"lifted_at": now})
        self.reload()
        lifted = self.get(embargo_id)
        assert lifted is not None
        return lifted


def check_exempt_accounts(store: Store, ids: Sequence[str]) -> None:
    """ValueError naming the first unknown account (in sorted order) among an embargo's exempt ids.

    Checked by the API and the console before ``EmbargoStore.create``, not
    inside it: the service stores whatever ids it is given, and direct callers
    (its own tests among them) create embargoes exempting ids with no account.
    """
    if not ids:
        return
    # All ids rather than ``IN (?, ...)``: the accounts table is small, and a
    # form can post more values than SQLite takes parameters.
    known = {r["id"] for r in store.query("SELECT id FROM accounts")}
    unknown = sorted(set(ids) - known)
    if unknown:
        raise ValueError(f"exempt_accounts: unknown account {unknown[0]!r}")


def setup_service(gateway: Any) -> EmbargoStore:
    """Create (once) the gateway's embargo service."""
    existing = gateway.services.get(SERVICE)
    if existing is not None:
        return existing
    service = EmbargoStore(gateway.store)
    gateway.services[SERVICE] = service
    return service
