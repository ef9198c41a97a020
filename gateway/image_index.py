"""A Hamming-distance index over 64-bit hashes: multi-index hashing in NumPy.

Multi-index hashing (Norouzi, Punjani & Fleet) splits each 64-bit key into
``m`` disjoint chunks. If two keys differ in at most ``r`` bits, then by the
pigeonhole principle at least one chunk differs in at most ``r // m`` bits, so
a query probes, in each chunk's table, every chunk value within that small
radius, and only the entries found there are verified with a popcount.

Key bits are dealt round-robin to the chunks first (real perceptual hashes
have correlated neighbouring bits). Tables are CSR arrays (a dense offsets
array over the chunk's 2^b values and the entry numbers sorted by chunk value), so one query, or a batch of them
(the eight orientations of an image), is a handful of vectorised NumPy
operations, not a Python loop over probes.

Updates happen in place: additions go to a small unindexed tail that queries
scan linearly, removals clear an ``alive`` flag; once the tail grows past a
bound it is folded into new tables built on a background thread, while
searches go on with the old tables and the tail.
"""

from __future__ import annotations

import math
import threading
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import combinations, groupby
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from gateway.images import FrameHashes

KEY_BITS = 64


def _probe_masks(bits: int, radius: int) -> np.ndarray:
    """Every ``bits``-bit XOR mask of weight at most ``radius``."""
    masks = [0]
    for weight in range(1, radius + 1):
        for positions in combinations(range(bits), weight):
            m = 0
            for p in positions:
                m |= 1 << p
            masks.append(m)
    return np.asarray(masks, dtype=np.int64)


def _split(bits: int, m: int) -> list[tuple[int, int]]:
    """(shift, width) of ``m`` near-equal chunks of a ``bits``-bit key."""
    base, extra = divmod(bits, m)
    out, shift = [], 0
    for i in range(m):
        width = base + (1 if i < extra else 0)
        out.append((shift, width))
        shift += width
    return out


def interleave_tables(m: int) -> np.ndarray:
    """Byte lookup tables that move key bit ``i`` into chunk ``i % m``.

    Perceptual hash bits come in correlated runs (a pHash is the 8x8 DCT
    block row by row; its first bit, DC against the median, is constant), so
    contiguous chunks of real hashes are skewed and their buckets overfull.
    Dealing the bits round-robin spreads each run over every chunk: measured
    on real-photo hashes at 8 M keys, a third fewer candidates per query.
    Hamming distances do not change under a bit permutation.
    """
    shifts = [shift for shift, _ in _split(KEY_BITS, m)]
    tables = np.zeros((8, 256), dtype=np.uint64)
    for byte in range(8):
        for value in range(256):
            out = 0
            for k in range(8):
                if value >> k & 1:
                    i = 8 * byte + k
                    out |= 1 << (shifts[i % m] + i // m)
            tables[byte, value] = out
    return tables


def permute_bits(keys: np.ndarray, tables: np.ndarray) -> np.ndarray:
    """Apply ``interleave_tables`` to uint64 keys: eight byte lookups per key."""
    as_bytes = np.ascontiguousarray(keys, dtype=np.uint64).view(np.uint8).reshape(-1, 8)
    little = np.little_endian
    out = np.zeros(len(as_bytes), dtype=np.uint64)
    for byte in range(8):
        column = as_bytes[:, byte if little else 7 - byte]
        out |= tables[byte][column]
    return out


def choose_chunks(n: int, radius: int) -> int:
    """The chunk count minimising probes plus expected candidates for ``n`` uniform keys."""
    best, best_cost = 4, math.inf
    for m in range(2, 9):
        widths = [w for _, w in _split(KEY_BITS, m)]
        if max(widths) > 24:  # offsets table would exceed 64 MiB per chunk
            continue
        sub = radius // m
        cost = 0.0
        for w in widths:
            probes = sum(math.comb(w, k) for k in range(sub + 1))
            # a probe is a table lookup; a candidate is a gather plus a popcount
            cost += probes * (1.0 + 3.0 * max(n, 1) / 2**w)
        if cost < best_cost:
            best, best_cost = m, cost
    return best


@dataclass(frozen=True)
class _Tables:
    """All chunk tables, concatenated so one query is a few vectorised operations.

    ``offsets`` holds, table after table, the CSR offsets over each chunk's
    2^width values (``base`` is where a table starts); ``sorted_keys`` and
    ``order`` hold, table after table, the keys and entry numbers sorted by
    that table's chunk value.
    """

    permutation: np.ndarray  # interleave_tables(m): keys are stored and probed dealt
    specs: list[tuple[int, int, int]]  # (shift, width, base) per chunk
    masks: list[np.ndarray]
    offsets: np.ndarray
    sorted_keys: np.ndarray
    order: np.ndarray


@dataclass(frozen=True)
class Hit:
    query: int  # position of the query key in the batch
    entry: int  # entry number in the index
    distance: int


class HammingIndex:
    """Entries are numbered in insertion order; each holds one 64-bit key."""

    def __init__(
        self,
        radius: int,
        *,
        chunks: int | None = None,
        tail_limit: int = 8192,
        background: bool = True,
        tune_radius: int | None = None,
    ) -> None:
        if not 0 <= radius < KEY_BITS:
            raise ValueError("radius must be between 0 and 63")
        self.radius = radius
        self.tail_limit = tail_limit
        self.background = background
        self._rebuilding = False
        self._rebuilt = threading.Event()
        self._rebuilt.set()
        self._fixed_chunks = chunks
        # The radius most queries use, which the chunk count is chosen for (a
        # side index searched at radius 5 wants wider chunks than radius 8 would).
        self.tune_radius = radius if tune_radius is None else min(tune_radius, radius)
        self._lock = threading.RLock()
        self._buffer = np.zeros(0, dtype=np.uint64)
        self._live_buffer = np.zeros(0, dtype=bool)
        self._keys = self._buffer
        self._alive = self._live_buffer
        self._indexed = 0  # entries [0, _indexed) are in the tables; the rest is the tail
        self._tables = _Tables(
            np.zeros((8, 256), dtype=np.uint64), [], [], np.zeros(1, dtype=np.int32),
            np.zeros(0, dtype=np.uint64), np.zeros(0, dtype=np.int32),
        )

    # -- building --------------------------------------------------------------

    @classmethod
    def build(
        cls, keys: np.ndarray, radius: int, *, chunks: int | None = None, tail_limit: int = 8192,
        tune_radius: int | None = None,
    ) -> HammingIndex:
        index = cls(radius, chunks=chunks, tail_limit=tail_limit, tune_radius=tune_radius)
        index._buffer = np.ascontiguousarray(keys, dtype=np.uint64).copy()
        index._live_buffer = np.ones(len(index._buffer), dtype=bool)
        index._keys, index._alive = index._buffer, index._live_buffer
        index._reindex()
        return index

    def _reindex(self) -> None:
        """Rebuild the tables over every key now present (synchronously)."""
        keys = self._keys
        self._tables = self._build_tables(keys)
        self._indexed = len(keys)

    def _build_tables(self, raw: np.ndarray) -> _Tables:
        n = len(raw)
        m = self._fixed_chunks or choose_chunks(n, self.tune_radius)
        permutation = interleave_tables(m)
        dealt = permute_bits(raw, permutation)
        # uint64 -> int64 reinterpretation keeps the bits; the shifts below mask them.
        keys = dealt.view(np.int64)
        specs, masks, offsets, sorted_keys, orders = [], [], [], [], []
        base = 0
        for j, (shift, width) in enumerate(_split(KEY_BITS, m)):
            values = (keys >> shift) & ((1 << width) - 1)
            order = np.argsort(values, kind="stable")
            counts = np.bincount(values, minlength=1 << width)
            table = np.empty((1 << width) + 1, dtype=np.int64)
            table[0] = 0
            np.cumsum(counts, out=table[1:])
            offsets.append(table + j * n)  # positions in the concatenated sorted arrays
            # Each table keeps the keys in its own order, so verifying a bucket
            # reads one contiguous run instead of gathering keys at random.
            sorted_keys.append(dealt[order])
            orders.append(order.astype(np.int32 if n < 2**31 else np.int64))
            masks.append(_probe_masks(width, self.radius // m))
            specs.append((shift, width, base))
            base += (1 << width) + 1
        offsets_all = np.concatenate(offsets) if offsets else np.zeros(1, dtype=np.int64)
        if m * n < 2**31:
            offsets_all = offsets_all.astype(np.int32)
        return _Tables(
            permutation,
            specs,
            masks,
            offsets_all,
            np.concatenate(sorted_keys) if sorted_keys else np.zeros(0, dtype=np.uint64),
            np.concatenate(orders) if orders else np.zeros(0, dtype=np.int32),
        )

    def _rebuild_in_background(self) -> None:
        """Fold the tail into new tables on a thread; searches go on with the old ones.

        Rebuilding millions of keys takes seconds; holding the lock that long
        would stall screening. Keys are append-only, so a snapshot of the
        first ``n`` stays valid, and the swap is one assignment under the lock.
        """
        if self._rebuilding:
            return
        self._rebuilding = True
        snapshot = self._keys  # a view: entries [0, n) never change

        def work() -> None:
            try:
                tables = self._build_tables(snapshot)
                with self._lock:
                    self._tables, self._indexed = tables, len(snapshot)
            finally:
                self._rebuilding = False
                self._rebuilt.set()

        self._rebuilt.clear()
        if self.background:
            threading.Thread(target=work, name="draftgate-hamming-rebuild", daemon=True).start()
        else:
            work()

    def wait_rebuilt(self, timeout: float | None = None) -> bool:
        """Block until no rebuild is running (tests, benchmarks)."""
        return self._rebuilt.wait(timeout)

    # -- updating in place -----------------------------------------------------

    def add(self, keys: np.ndarray | list[int]) -> np.ndarray:
        """Append keys; returns their entry numbers."""
        new = np.asarray(keys, dtype=np.uint64).reshape(-1)
        with self._lock:
            start = len(self._keys)
            end = start + len(new)
            if end > len(self._buffer):
                # Amortised growth: one registration must not copy a million keys.
                grown = np.zeros(max(end, 2 * len(self._buffer), 1024), dtype=np.uint64)
                grown[:start] = self._keys
                live = np.zeros(len(grown), dtype=bool)
                live[:start] = self._alive
                self._buffer, self._live_buffer = grown, live
            self._buffer[start:end] = new
            self._live_buffer[start:end] = True
            # Readers take these views under the lock; earlier views stay valid.
            self._keys = self._buffer[:end]
            self._alive = self._live_buffer[:end]
            if end - self._indexed > self.tail_limit:
                self._rebuild_in_background()
            return np.arange(start, end)

    def remove(self, entries: np.ndarray | list[int]) -> None:
        with self._lock:
            self._alive[np.asarray(entries, dtype=np.int64)] = False

    def __len__(self) -> int:
        return int(self._alive.sum())

    @property
    def chunks(self) -> int:
        return len(self._tables.specs)

    def nbytes(self) -> int:
        t = self._tables
        return (self._buffer.nbytes + self._live_buffer.nbytes + t.offsets.nbytes + t.sorted_keys.nbytes
                + t.order.nbytes + sum(m.nbytes for m in t.masks))

    # -- searching -------------------------------------------------------------

    def search(
        self, queries: np.ndarray | list[int], radius: int | None = None, radii: np.ndarray | list[int] | None = None
    ) -> list[Hit]:
        """Every live entry within ``radius`` (default: the index's) of each query key.

        ``radii`` gives each query its own radius instead (none above the
        index's): a query of radius r probes only chunk values within
        ``r // chunks`` bits, so a batch of small-radius queries is cheap.
        """
        qid, entry, dist = self.search_arrays(queries, radius, radii)
        return [Hit(q, e, d) for q, e, d in zip(qid.tolist(), entry.tolist(), dist.tolist())]

    def search_arrays(
        self, queries: np.ndarray | list[int], radius: int | None = None, radii: np.ndarray | list[int] | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``search`` as three arrays (query position, entry, distance): no Python object per hit."""
        q = np.asarray(queries, dtype=np.uint64).reshape(-1)
        r = self.radius if radius is None else radius
        per = np.full(len(q), r, dtype=np.int64) if radii is None else np.asarray(radii, dtype=np.int64).reshape(-1)
        if len(per) != len(q):
            raise ValueError("radii must give one radius per query")
        if len(per) and int(per.max()) > self.radius:
            raise ValueError(f"radius {int(per.max())} exceeds the index radius {self.radius}")
        with self._lock:
            keys, alive, indexed, tables = self._keys, self._alive, self._indexed, self._tables
        none = (np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int64))
        if len(q) == 0 or len(keys) == 0:
            return none
        hit_q, hit_entry, hit_dist = [], [], []
        if tables.specs:
            dealt = permute_bits(q, tables.permutation)
            m = len(tables.specs)
            # One vectorised pass per probe depth (r // m), usually one or two.
            for sub in np.unique(per // m).tolist():
                members = np.flatnonzero(per // m == sub)
                found = _probe(tables, dealt[members], int(sub), per[members])
                if found is not None:
                    qid, entry, dist = found
                    hit_q.append(members[qid])
                    hit_entry.append(entry)
                    hit_dist.append(dist)
        if indexed < len(keys):  # the unindexed tail: a linear scan, kept small
            tail = keys[indexed:]
            dist = np.bitwise_count(tail[None, :] ^ q[:, None])
            qi, ti = np.nonzero(dist <= per[:, None])
            hit_q.append(qi)
            hit_entry.append(ti.astype(np.int64) + indexed)
            hit_dist.append(dist[qi, ti])
        if not hit_q:
            return none
        qid, entry, dist = np.concatenate(hit_q), np.concatenate(hit_entry), np.concatenate(hit_dist)
        live = np.flatnonzero(alive[entry])
        if not len(live):
            return none
        # An entry found through two chunks is one hit: dedupe on (query, entry).
        combined = (qid[live].astype(np.int64) << 40) | entry[live]
        unique, first = np.unique(combined, return_index=True)
        return unique >> 40, unique & ((1 << 40) - 1), dist[live][first].astype(np.int64)


def _probe(
    tables: _Tables, dealt: np.ndarray, sub: int, radii: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
    """Entries within ``radii`` of dealt queries whose chunks are probed to ``sub`` bits.

    Masks are sorted by weight, so probing to ``sub`` bits is a prefix of
    each chunk's masks. Returns (query position, entry, distance) or None.
    """
    q_signed = dealt.view(np.int64)
    # Every probe of every chunk table for every query, in one array.
    probes = np.concatenate(
        [((((q_signed >> shift) & ((1 << width) - 1))[:, None] ^ masks[None, : _masks_within(width, sub)]) + base)
         for (shift, width, base), masks in zip(tables.specs, tables.masks)],
        axis=1,
    )
    per_query = probes.shape[1]
    flat = probes.ravel()
    starts = tables.offsets[flat]
    lengths = tables.offsets[flat + 1] - starts
    nonzero = np.flatnonzero(lengths)
    if not len(nonzero):
        return None
    starts, lengths = starts[nonzero], lengths[nonzero]
    positions, qid = _expand_runs(starts, lengths, nonzero // per_query)
    dist = np.bitwise_count(tables.sorted_keys[positions] ^ dealt[qid])
    keep = np.flatnonzero(dist <= radii[qid])
    return qid[keep], tables.order[positions[keep]].astype(np.int64), dist[keep]


def _masks_within(width: int, sub: int) -> int:
    """How many of a chunk's weight-sorted masks have weight at most ``sub``."""
    return sum(math.comb(width, k) for k in range(sub + 1))


_REPEAT_BELOW = 50_000


def _expand_runs(starts: np.ndarray, lengths: np.ndarray, owner: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions ``start .. start+length-1`` of every run, and each position's run owner.

    Both by one cumulative sum over per-position steps (1 inside a run, a jump
    at each run's first position): cheaper than two ``np.repeat`` calls, which
    mattered at millions of keys. ``owner`` must be non-decreasing.
    """
    ends = np.cumsum(lengths)
    if len(lengths) < _REPEAT_BELOW:
        # Few runs (one query image against a side index): two repeats are
        # fewer passes than the cumulative sums below (measured 43 vs 71 us
        # for 5,500 runs).
        positions = np.repeat(starts - (ends - lengths), lengths) + np.arange(int(ends[-1]))
        return positions, np.repeat(owner, lengths)
    total = int(ends[-1])
    firsts = ends[:-1]  # where each run after the first begins
    step = np.ones(total, dtype=np.int64)
    step[0] = starts[0]
    step[firsts] = starts[1:] - (starts[:-1] + lengths[:-1] - 1)
    positions = np.cumsum(step)
    jump = np.zeros(total, dtype=np.int64)
    jump[0] = owner[0]
    jump[firsts] = np.diff(owner)
    return positions, np.cumsum(jump)


def scan(keys: np.ndarray, queries: np.ndarray, radius: int) -> list[Hit]:
    """The baseline: a vectorised linear scan with ``np.bitwise_count``."""
    q = np.asarray(queries, dtype=np.uint64).reshape(-1)
    hits = []
    for i, key in enumerate(q):
        dist = np.bitwise_count(keys ^ key)
        for entry in np.flatnonzero(dist <= radius):
            hits.append(Hit(i, int(entry), int(dist[entry])))
    return hits


# ---------------------------------------------------------------------------
# Registered images over the index
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """A match needs pHash distance <= ``phash`` and pHash + dHash <= ``combined``."""

    phash: int
    combined: int


@dataclass(frozen=True)
class Match:
    image_id: str
    frame: int  # the query image's frame that matched
    query_crop: str  # "full", or the query crop that matched (e.g. "strip_bottom")
    orientation: str  # the orientation of the query that matched
    variant: str  # the stored crop variant that matched
    phash_distance: int
    dhash_distance: int

    @property
    def distance(self) -> int:
        """The combined 128-bit Hamming distance (pHash + dHash)."""
        return self.phash_distance + self.dhash_distance


class _Column:
    """A growable NumPy column (amortised doubling), read through ``view``."""

    def __init__(self, dtype: type, values: np.ndarray | list[int] | None = None) -> None:
        self._buffer: np.ndarray = np.asarray(values if values is not None else [], dtype=dtype).copy()
        self.view: np.ndarray = self._buffer

    def extend(self, values: list[int]) -> None:
        start, end = len(self.view), len(self.view) + len(values)
        if end > len(self._buffer):
            grown = np.zeros(max(end, 2 * len(self._buffer), 1024), dtype=self._buffer.dtype)
            grown[:start] = self.view
            self._buffer = grown
        self._buffer[start:end] = values
        self.view = self._buffer[:end]


# A side index is searched by a draft image's 256 inner crops, so its
# unindexed tail (scanned linearly) is folded into the tables sooner.
SIDE_TAIL_LIMIT = 2048


@dataclass
class _Subset:
    """A side index over the entries of one stored variant."""

    index: HammingIndex
    entry: _Column = field(default_factory=lambda: _Column(np.int64))  # side entry -> entry in the main index
    of: dict[str, int] = field(default_factory=dict)  # image id -> its side entry


class ImageMatcher:
    """Stored variant hashes of registered images, searchable by Hamming distance.

    The index holds every stored pHash; the dHash of each entry sits beside it
    and only confirms candidates, so the index radius is the largest pHash
    threshold of any group. Each image belongs to a group (the registry uses
    its status) that picks its thresholds. Per entry only NumPy columns are
    kept (image slot, variant code, dHash): a million images are millions of
    entries, too many for Python objects each.

    Query hashes that name the one stored variant they are meant for
    (``FrameHashes.against``: a draft's inner crops are aligned with
    ``crop_all``; its turned and mirrored copies are compared with ``full``)
    are searched in a side index holding only that variant's entries: they
    then meet one stored key per registered image instead of all of them, a
    fraction of the candidates to verify.
    """

    def __init__(self, radius: int, subsets: tuple[str, ...] = ("full", "crop_all"), side_radius: int = 5) -> None:
        self.index = HammingIndex(radius)
        # Side indexes are searched mostly at a small radius (turned copies,
        # inner crops: 5), so their chunks are chosen for it.
        self.side_radius = side_radius
        self.subsets = {
            variant: _Subset(HammingIndex(radius, tune_radius=side_radius, tail_limit=SIDE_TAIL_LIMIT))
            for variant in subsets
        }
        self._lock = threading.RLock()
        self._slot_id: list[str | None] = []  # slot -> image id (None once removed)
        self._slot_group = _Column(np.int8)
        self._span: dict[str, tuple[int, int, int]] = {}  # image id -> (slot, first entry, count)
        self._entry_slot = _Column(np.int32)
        self._entry_variant = _Column(np.int8)
        self._dhash = _Column(np.uint64)
        self._variant_names: list[str] = []
        self._variant_code: dict[str, int] = {}

    def _code(self, variant: str) -> int:
        code = self._variant_code.get(variant)
        if code is None:
            code = self._variant_code[variant] = len(self._variant_names)
            self._variant_names.append(variant)
        return code

    @classmethod
    def build(cls, radius: int, rows: Iterable[tuple[str, str, int, int]], groups: dict[str, int] | None = None) -> ImageMatcher:
        """From ``(image_id, variant, phash, dhash)`` rows, in one pass (startup)."""
        matcher = cls(radius)
        by_image: dict[str, list[tuple[str, int, int]]] = {}
        for image_id, variant, p, d in rows:
            by_image.setdefault(image_id, []).append((variant, p, d))
        ph: list[int] = []
        dh: list[int] = []
        slots: list[int] = []
        codes: list[int] = []
        for image_id, hashes in by_image.items():
            slot = len(matcher._slot_id)
            matcher._slot_id.append(image_id)
            matcher._span[image_id] = (slot, len(ph), len(hashes))
            for variant, p, d in hashes:
                ph.append(p)
                dh.append(d)
                slots.append(slot)
                codes.append(matcher._code(variant))
        matcher._slot_group = _Column(np.int8, [(groups or {}).get(i, 0) for i in by_image])
        keys = np.array(ph, dtype=np.uint64)
        matcher.index = HammingIndex.build(keys, radius)
        matcher._entry_slot = _Column(np.int32, slots)
        matcher._entry_variant = _Column(np.int8, codes)
        matcher._dhash = _Column(np.uint64, dh)
        matcher._build_subsets(keys, np.asarray(codes, dtype=np.int8))
        for subset in matcher.subsets.values():
            slots_of = matcher._entry_slot.view[subset.entry.view]
            subset.of = {matcher._slot_id[s] or "": i for i, s in enumerate(slots_of.tolist())}
        return matcher

    def _build_subsets(self, keys: np.ndarray, codes: np.ndarray) -> None:
        """The side indexes over entries already in ``index`` (startup, benchmarks)."""
        for variant, subset in self.subsets.items():
            entries = np.flatnonzero(codes == self._code(variant))
            subset.index = HammingIndex.build(
                keys[entries], self.index.radius, tune_radius=self.side_radius, tail_limit=SIDE_TAIL_LIMIT
            )
            subset.entry = _Column(np.int64, entries)

    def add(self, image_id: str, hashes: list[tuple[str, int, int]], group: int = 0) -> None:
        """Add one image's ``(variant, phash, dhash)`` hashes."""
        with self._lock:
            if image_id in self._span:
                self.remove(image_id)
            slot = len(self._slot_id)
            self._slot_id.append(image_id)
            self._slot_group.extend([group])
            entries = self.index.add([p for _, p, _ in hashes])
            self._entry_slot.extend([slot] * len(hashes))
            self._entry_variant.extend([self._code(v) for v, _, _ in hashes])
            self._dhash.extend([d for _, _, d in hashes])
            self._span[image_id] = (slot, int(entries[0]) if len(entries) else 0, len(hashes))
            for entry, (variant, p, _) in zip(entries.tolist(), hashes):
                subset = self.subsets.get(variant)
                if subset is not None:
                    (position,) = subset.index.add([p]).tolist()
                    subset.entry.extend([entry])
                    subset.of[image_id] = position

    def remove(self, image_id: str) -> bool:
        with self._lock:
            span = self._span.pop(image_id, None)
            if span is None:
                return False
            slot, first, count = span
            self.index.remove(np.arange(first, first + count))
            for subset in self.subsets.values():
                position = subset.of.pop(image_id, None)
                if position is not None:
                    subset.index.remove([position])
            self._slot_id[slot] = None
            return True

    def __contains__(self, image_id: str) -> bool:
        return image_id in self._span

    @property
    def images(self) -> int:
        return len(self._span)

    @property
    def entries(self) -> int:
        return len(self.index)

    def search(
        self, queries: np.ndarray, radii: np.ndarray, against: Sequence[str | None]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Index hits of query pHashes, each within its radius, among the variant it is ``against`` (None: all).

        Three arrays: query position, entry number in the main index, pHash distance.
        """
        groups: dict[str | None, list[int]] = {}
        start = 0
        for variant, run in groupby(against):  # the queries of one FrameHashes are contiguous
            length = sum(1 for _ in run)
            groups.setdefault(variant if variant in self.subsets else None, []).extend(range(start, start + length))
            start += length
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        for variant, positions in groups.items():
            members = np.asarray(positions)
            if variant is None:  # every stored variant
                qid, entry, dist = self.index.search_arrays(queries[members], radii=radii[members])
                parts.append((members[qid], entry, dist))
                continue
            subset = self.subsets[variant]
            # Neighbouring inner crops often hash alike: search each distinct
            # hash once (at the widest radius asked), then credit every query that had it.
            distinct, inverse = np.unique(queries[members], return_inverse=True)
            inverse = inverse.reshape(-1)
            member_radii = radii[members]
            if member_radii.min() == member_radii.max():
                widest = np.full(len(distinct), member_radii[0], dtype=np.int64)
            else:
                widest = np.zeros(len(distinct), dtype=np.int64)
                np.maximum.at(widest, inverse, member_radii)
            found_q, found_entry, found_dist = subset.index.search_arrays(distinct, radii=widest)
            if not len(found_q):
                continue
            # every (query, hit) pair whose query had the distinct hash that hit
            sharing = inverse[None, :] == found_q[:, None]  # (hits, members): small, one draft image
            hit_of, member = np.nonzero(sharing)
            entry = subset.entry.view[found_entry[hit_of]]
            dist = found_dist[hit_of]
            keep = dist <= member_radii[member]
            parts.append((members[member[keep]], entry[keep], dist[keep]))
        if not parts:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, empty
        return (np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts]),
                np.concatenate([p[2] for p in parts]))

    def match(
        self,
        frames: Iterable[FrameHashes],
        thresholds: Sequence[Thresholds] | Thresholds,
    ) -> list[Match]:
        """Best match per registered image for a query's hashes (all frames, crops, orientations).

        ``thresholds`` is one ``Thresholds`` for every image, or one per group.
        """
        queries_p: list[int] = []
        queries_d: list[int] = []
        caps: list[int] = []
        against: list[str | None] = []
        spans: list[tuple[int, FrameHashes]] = []  # (first query, its FrameHashes): origins only for hits
        for fh in frames:
            n = len(fh.phash)
            cap = self.index.radius if fh.radius is None else min(fh.radius, self.index.radius)
            spans.append((len(queries_p), fh))
            queries_p.extend(fh.phash)
            queries_d.extend(fh.dhash)
            caps.extend([cap] * n)
            against.extend([fh.against] * n)
        if not queries_p:
            return []
        starts = [first for first, _ in spans]

        def origin(query: int) -> tuple[int, str, str]:
            first, fh = spans[bisect_right(starts, query) - 1]
            return fh.frame, fh.crop, fh.orientations[query - first]

        with self._lock:
            query, entry, dist = self.search(np.array(queries_p, dtype=np.uint64), np.array(caps), against)
            if not len(query):
                return []
            # Thresholds and the dHash check for every hit at once; Python
            # objects only for what passes (a draft image's inner crops can
            # hit their picture hundreds of times).
            slot = self._entry_slot.view[entry]
            if isinstance(thresholds, Thresholds):
                limit_p = np.full(len(query), thresholds.phash)
                limit_c = np.full(len(query), thresholds.combined)
            else:
                group = self._slot_group.view[slot].astype(np.int64)
                limit_p = np.array([t.phash for t in thresholds])[group]
                limit_c = np.array([t.combined for t in thresholds])[group]
            dhash_dist = np.bitwise_count(self._dhash.view[entry] ^ np.array(queries_d, dtype=np.uint64)[query])
            ok = np.flatnonzero((dist <= np.minimum(limit_p, np.array(caps)[query])) & (dist + dhash_dist <= limit_c))
            variant_of = self._entry_variant.view
            best: dict[str, Match] = {}
            for i in ok[np.argsort(dist[ok] + dhash_dist[ok], kind="stable")].tolist():
                image_id = self._slot_id[int(slot[i])]
                if image_id is None or image_id in best:
                    continue  # removed, or a closer hit of this image came first
                frame, crop, orientation = origin(int(query[i]))
                variant = self._variant_names[int(variant_of[entry[i]])]
                best[image_id] = Match(image_id, frame, crop, orientation, variant, int(dist[i]), int(dhash_dist[i]))
        return sorted(best.values(), key=lambda m: (m.distance, m.image_id))
