"""gateway.image_index: multi-index hashing agrees with a brute-force scan, and updates in place."""

from __future__ import annotations

import numpy as np
import pytest

from gateway.image_index import (
    HammingIndex,
    ImageMatcher,
    Thresholds,
    choose_chunks,
    scan,
)
from gateway.images import FrameHashes


def random_keys(rng: np.random.Generator, n: int) -> np.ndarray:
    return rng.integers(0, 2**64 - 1, n, dtype=np.uint64, endpoint=True)


def flip_bits(key: int, bits: list[int]) -> int:
    for b in bits:
        key ^= 1 << int(b)
    return key


def planted(rng: np.random.Generator, keys: np.ndarray, count: int, radius: int) -> list[int]:
    """Queries at exactly 0..radius bits from random entries, so hits exist at every distance."""
    out = []
    for i in range(count):
        entry = int(keys[rng.integers(len(keys))])
        out.append(flip_bits(entry, list(rng.choice(64, size=i % (radius + 1), replace=False))))
    return out


def as_set(hits: list) -> set[tuple[int, int, int]]:
    return {(h.query, h.entry, h.distance) for h in hits}


@pytest.mark.parametrize("n,radius,chunks", [(2_000, 10, None), (20_000, 10, 3), (20_000, 8, 4), (5_000, 13, 5)])
def test_search_equals_linear_scan(n: int, radius: int, chunks: int | None) -> None:
    rng = np.random.default_rng(n + radius)
    keys = random_keys(rng, n)
    # a cluster of near neighbours, as real hashes have
    keys[: n // 10] = [flip_bits(int(keys[0]), list(rng.choice(64, size=3, replace=False))) for _ in range(n // 10)]
    index = HammingIndex.build(keys, radius, chunks=chunks)
    queries = planted(rng, keys, 40, radius) + [int(k) for k in random_keys(rng, 10)]
    got = as_set(index.search(queries))
    want = as_set(scan(keys, np.array(queries, dtype=np.uint64), radius))
    assert got == want
    assert len(want) >= 40  # the planted queries all hit


@pytest.mark.parametrize("chunks", [3, 4])
def test_per_query_radii_equal_a_scan_at_each_radius(chunks: int) -> None:
    rng = np.random.default_rng(17 + chunks)
    keys = random_keys(rng, 20_000)
    index = HammingIndex.build(keys, 8, chunks=chunks)
    index.add(random_keys(rng, 300))  # and the unindexed tail honours them too
    everything = np.concatenate([keys, index._keys[len(keys):]])
    queries = planted(rng, everything, 60, 8)
    radii = [8 if i % 3 == 0 else (5 if i % 3 == 1 else 2) for i in range(len(queries))]
    got = as_set(index.search(queries, radii=radii))
    want = set()
    for i, (q, r) in enumerate(zip(queries, radii)):
        want |= {(i, h.entry, h.distance) for h in scan(everything, np.array([q], dtype=np.uint64), r)}
    assert got == want
    assert any(d > 5 for _, _, d in got) and any(d <= 2 for _, _, d in got)  # every depth was exercised
    with pytest.raises(ValueError):
        index.search(queries[:2], radii=[9, 1])


def test_smaller_query_radius() -> None:
    rng = np.random.default_rng(3)
    keys = random_keys(rng, 5_000)
    index = HammingIndex.build(keys, 12)
    queries = planted(rng, keys, 30, 12)
    assert as_set(index.search(queries, radius=5)) == as_set(scan(keys, np.array(queries, dtype=np.uint64), 5))
    with pytest.raises(ValueError):
        index.search(queries, radius=13)


def test_add_and_remove_in_place_through_tail_and_reindex() -> None:
    rng = np.random.default_rng(11)
    index = HammingIndex(10, tail_limit=100)
    all_keys: list[int] = []
    for _ in range(7):  # 7 x 60 keys: the tail is folded into the tables several times
        batch = [int(k) for k in random_keys(rng, 60)]
        entries = index.add(batch)
        assert list(entries) == list(range(len(all_keys), len(all_keys) + 60))
        all_keys += batch
    assert index.wait_rebuilt(10)  # the tail is folded into new tables on a background thread
    assert 100 < index._indexed <= len(all_keys)
    keys = np.array(all_keys, dtype=np.uint64)
    queries = planted(rng, keys, 30, 10)
    assert as_set(index.search(queries)) == as_set(scan(keys, np.array(queries, dtype=np.uint64), 10))
    removed = [h.entry for h in index.search(queries)][:10]
    index.remove(removed)
    assert not {h.entry for h in index.search(queries)} & set(removed)
    assert len(index) == len(all_keys) - len(set(removed))


def test_searches_see_every_key_while_a_rebuild_runs() -> None:
    rng = np.random.default_rng(5)
    keys = random_keys(rng, 50_000)
    index = HammingIndex.build(keys[:40_000], 8, tail_limit=1000)
    index.add(keys[40_000:])  # far past the tail limit: a background rebuild starts
    queries = [int(k) for k in keys[-50:]]
    hits = {(h.query, h.entry) for h in index.search(queries) if h.distance == 0}
    assert {(i, 49_950 + i) for i in range(50)} <= hits  # whether or not the rebuild finished
    assert index.wait_rebuilt(30)
    assert index._indexed == 50_000
    assert {(i, 49_950 + i) for i in range(50)} <= {(h.query, h.entry) for h in index.search(queries)}


def test_chunk_choice_grows_chunks_with_size() -> None:
    assert choose_chunks(10_000, 10) >= choose_chunks(10_000_000, 10)
    assert choose_chunks(1_000_000, 10) in (3, 4)


def test_matcher_best_match_per_image_and_thresholds() -> None:
    m = ImageMatcher(10)
    m.add("a", [("full", 0x0F0F_0F0F_0F0F_0F0F, 0x1234), ("crop_left", 0xFFFF_0000_FFFF_0000, 0x1234)], group=0)
    m.add("b", [("full", 0xAAAA_AAAA_AAAA_AAAA, 0)], group=1)
    query = [FrameHashes(0, (0x0F0F_0F0F_0F0F_0F0E, 0xAAAA_AAAA_AAAA_AAAA), (0x1234, 0xFF), "full",
                         ("identity", "flip_h"))]
    found = m.match(query, Thresholds(10, 20))
    assert [(x.image_id, x.orientation, x.phash_distance, x.dhash_distance) for x in found] == [
        ("a", "identity", 1, 0),
        ("b", "flip_h", 0, 8),
    ]
    # the combined threshold refuses b (0 + 8 > 5); per-status thresholds pick per image
    assert [x.image_id for x in m.match(query, Thresholds(10, 5))] == ["a"]
    per_group = [Thresholds(0, 0), Thresholds(10, 20)]  # a is in group 0, b in group 1
    assert [x.image_id for x in m.match(query, per_group)] == ["b"]
    assert m.remove("a") and not m.remove("a")
    assert [x.image_id for x in m.match(query, Thresholds(10, 20))] == ["b"]
    assert m.images == 1 and m.entries == 1
    # built in one pass from rows, the same answers
    rebuilt = ImageMatcher.build(10, [("b", "full", 0xAAAA_AAAA_AAAA_AAAA, 0), ("a", "full", 0x0F0F_0F0F_0F0F_0F0F, 0x1234)],
                                 {"a": 0, "b": 1})
    assert [(x.image_id, x.variant) for x in rebuilt.match(query, per_group)] == [("b", "full")]
    assert [x.image_id for x in rebuilt.match(query, Thresholds(10, 20))] == ["a", "b"]


def test_bits_are_dealt_round_robin_and_distances_kept() -> None:
    from gateway.image_index import _split, interleave_tables, permute_bits

    for m in (3, 4):
        tables = interleave_tables(m)
        spans = _split(64, m)
        single = permute_bits(np.array([1 << i for i in range(64)], dtype=np.uint64), tables)
        for i, dealt in enumerate(single):
            shift, width = spans[i % m]
            assert shift <= int(dealt).bit_length() - 1 < shift + width
        assert len({int(x) for x in single}) == 64  # a permutation
    rng = np.random.default_rng(1)
    a, b = random_keys(rng, 1000), random_keys(rng, 1000)
    t = interleave_tables(3)
    assert np.array_equal(np.bitwise_count(a ^ b), np.bitwise_count(permute_bits(a, t) ^ permute_bits(b, t)))


def test_aligned_queries_meet_only_the_aligned_variant() -> None:
    key, other = 0x0123_4567_89AB_CDEF, 0x0F0F_0F0F_0F0F_0F0F
    near = key ^ 0b111  # 3 bits away
    rows = [("a", "full", other, 0), ("a", "crop_all", key, 0), ("b", "full", key, 0), ("c", "crop_all", ~key & (2**64 - 1), 0)]
    inner = [FrameHashes(0, (near,), (0,), "inner", ("identity",), radius=5, against="crop_all")]
    tight = [FrameHashes(0, (key ^ 0b111111,), (0,), "inner", ("identity",), radius=5, against="crop_all")]  # 6 bits
    plain = [FrameHashes(0, (near,), (0,), "full", ("identity",))]
    built = ImageMatcher.build(8, rows)
    grown = ImageMatcher(8)
    for image_id in ("a", "b", "c"):
        grown.add(image_id, [(v, p, d) for i, v, p, d in rows if i == image_id])
    for m in (built, grown):
        # b's full hash equals a's crop_all, but an aligned query only meets crop_all entries
        assert [(x.image_id, x.variant, x.query_crop, x.phash_distance) for x in m.match(inner, Thresholds(8, 64))] == [
            ("a", "crop_all", "inner", 3)
        ]
        assert m.match(tight, Thresholds(8, 64)) == []  # within the status threshold, beyond the query's radius
        assert {x.image_id for x in m.match(plain, Thresholds(8, 64))} == {"a", "b"}
        assert m.remove("a")
        assert m.match(inner, Thresholds(8, 64)) == []
        m.add("a", [("crop_all", key, 0)])  # re-registered: found again, through its new aligned entry
        assert [x.image_id for x in m.match(inner, Thresholds(8, 64))] == ["a"]
