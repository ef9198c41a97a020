"""Text-screening throughput: all text checkers vs a bare Aho-Corasick scan, on one core.

Run: ``.venv/bin/python bench/text_bench.py`` (options: ``--seconds``, ``--repeat``,
``--terms``, ``--chars``).

What it measures, in one process pinned to one CPU:

- **all text checkers**: ``confidentiality``, ``commercial`` and ``embargo``
  screening 2,000-character drafts one after another, with the
  confidentiality list grown to 10,000 terms (``--boundary-share``, 10 % by
  default, of them ``boundary`` terms, so the jieba filter runs on their hits) and 20 embargo topics in
  force: normalisation, matching, the jieba filter, the number patterns and
  the scoring, everything a draft goes through.
- **bare automaton**: a ``pyahocorasick`` automaton over the same terms
  scanning the same raw texts (``list(automaton.iter(text))``), the floor
  the issue names; ``ahocorasick_rs`` doing the same; and a bare Hyperscan
  database over the same terms (every match collected by a callback), the
  fastest installable matcher and so the floor the target is measured
  against (the gateway's own matcher uses it, through ``gateway.matching``).
- **jieba filter**: the cost of one word-boundary check per hit (deciding
  from the dictionary that no word crosses the hit's edges, or else
  segmenting the sentence window around it), and what one segmentation costs.

The drafts are built from jieba's own dictionary (words drawn by frequency,
punctuated into sentences, with Latin words, spaces, dashes and full-width
forms as real posts have them) with a secrecy notice, a price, a phone
number and an embargoed topic mixed in, so every checker has real work. Each text
is distinct, and the gateway's caches (normalisations, the segmentation LRU)
are emptied before every pass over them, so no result is reused across
drafts. Only installed packages are needed.
"""

from __future__ import annotations

import argparse
import itertools
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import ahocorasick  # noqa: E402
import ahocorasick_rs  # noqa: E402

try:
    import hyperscan  # noqa: E402
except ImportError:  # no wheel for this machine: the floor is ahocorasick_rs
    hyperscan = None

from draftgate_plugins.commercial import CommercialChecker  # noqa: E402
from draftgate_plugins.confidentiality import ConfidentialityChecker  # noqa: E402
from draftgate_plugins.embargo import EmbargoChecker  # noqa: E402
from gateway.blocklists import BlocklistStore, shipped_sources  # noqa: E402
from gateway.embargoes import EmbargoStore  # noqa: E402
from gateway.matching import utf16_database  # noqa: E402
from gateway.model import Account, Content, Draft  # noqa: E402
from gateway.store import Store  # noqa: E402
from gateway.text import (  # noqa: E402
    _jieba_cut,
    _window_span,
    clear_caches,
    jieba_tokenizer,
    no_word_across_edges,
    normalize,
    normalize_term,
    parse_blocklist,
    stands_alone,
)

ACCOUNT = Account("bench", "bench", "wechat", "unit", "resp")
PUNCT = "，，，。。！？；"
SPICE = ["内部资料，注意保密。", "限时优惠价¥99，扫码购买。", "联系电话13812345678。", "学校任命新校长。", "数据的机密性很重要。"]
# What real posts mix into Chinese prose: Latin words, spaces, dashes, dots, full-width forms.
MIXED = [" PKU ", "WeChat", "——", "·", " 2026 ", "（Ａ）", "《新闻》", "...", "Peking University", "“引语”"]


def pin_to_one_core() -> str:
    try:
        cpu = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {cpu})
        return f"pinned to CPU {cpu}"
    except (AttributeError, OSError):
        return "not pinned (no sched_setaffinity)"


def vocabulary() -> tuple[list[str], list[int]]:
    freq = jieba_tokenizer().FREQ
    words = [w for w, f in freq.items() if f > 0 and all("\u4e00" <= c <= "\u9fff" for c in w)]
    return words, [freq[w] for w in words]


def make_terms(n: int, rng: random.Random) -> list[str]:
    """``n`` distinct 3-6 character dictionary words: the kind of phrases admins list."""
    freq = jieba_tokenizer().FREQ
    pool = sorted(w for w, f in freq.items() if 3 <= len(w) <= 6 and f > 0 and all("\u4e00" <= c <= "\u9fff" for c in w))
    taken = {t.key for _, text in shipped_sources() for t in parse_blocklist(text).terms}
    out: list[str] = []
    # Traditional and simplified spellings of one word normalise to one term.
    for w in rng.sample(pool, n * 2):
        key = normalize_term(w)
        if key not in taken:
            taken.add(key)
            out.append(w)
            if len(out) == n:
                break
    return out


def make_drafts(count: int, chars: int, rng: random.Random, terms: list[str]) -> list[str]:
    words, weights = vocabulary()
    cum = list(itertools.accumulate(weights))
    texts = []
    for _ in range(count):
        parts: list[str] = []
        size = 0
        sentence = 0
        drawn = iter(rng.choices(words, cum_weights=cum, k=chars))
        while size < chars:
            w = next(drawn) if rng.random() > 0.01 else rng.choice(terms)
            parts.append(w)
            size += len(w)
            sentence += len(w)
            if sentence > rng.randint(12, 30):
                parts.append(rng.choice(PUNCT))
                size += 1
                sentence = 0
            if rng.random() < 0.02:
                mixed = rng.choice(MIXED)
                parts.append(mixed)
                size += len(mixed)
            if rng.random() < 0.004:
                spice = rng.choice(SPICE)
                parts.append(spice)
                size += len(spice)
        texts.append("".join(parts)[:chars])
    return texts


def rate(fn: Callable[[str], object], texts: list[str], seconds: float,
         before_pass: Callable[[], None] | None = None) -> float:
    """Drafts per second of ``fn`` over ``texts`` (cycled) for about ``seconds``.

    ``before_pass`` runs before each pass over ``texts`` (inside the timing):
    the screening run uses it to empty the gateway's caches, so that a pass
    reuses nothing from the previous one.
    """
    n = 0
    start = time.perf_counter()
    deadline = start + seconds
    while True:
        if before_pass is not None:
            before_pass()
        for t in texts:
            fn(t)
        n += len(texts)
        now = time.perf_counter()
        if now >= deadline:
            return n / (now - start)


def breakdown(texts: list[str], blocklists: BlocklistStore, checkers: list, make_draft: Callable[[str], Draft],
              passes: int = 3) -> dict[str, float]:
    """Mean µs per draft of each stage, caches emptied before each draft (fastest of ``passes``)."""
    from gateway.blocklists import _ScanCache

    clock = time.perf_counter
    snapshot = blocklists.snapshot
    search = snapshot.matcher._search
    assert search is not None
    best: dict[str, float] = {}
    for _ in range(passes):
        sums = dict.fromkeys(("normalisation", "the scan", "judging hits", *(c.name for c in checkers)), 0.0)
        for text in texts:
            draft = make_draft(text)
            clear_caches()
            snapshot._cache = _ScanCache()
            t0 = clock()
            norm = normalize(draft.screened_text)
            t1 = clock()
            search.find(norm.compact)
            t2 = clock()
            snapshot.scan(norm)  # the scan again, then judging every hit (the jieba filter included)
            t3 = clock()
            sums["normalisation"] += t1 - t0
            sums["the scan"] += t2 - t1
            sums["judging hits"] += (t3 - t2) - (t2 - t1)
            for checker in checkers:  # normalisation and the judged hits are now shared, as in screening
                t = clock()
                checker.check(draft)
                sums[checker.name] += clock() - t
        for stage, total in sums.items():
            best[stage] = min(best.get(stage, float("inf")), total / len(texts) * 1e6)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--terms", type=int, default=10_000)
    parser.add_argument("--chars", type=int, default=2_000)
    parser.add_argument("--drafts", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--boundary-share", type=float, default=0.1,
                        help="share of the benchmark terms with the boundary policy (jieba-filtered)")
    args = parser.parse_args()
    pinned = pin_to_one_core()
    rng = random.Random(2026)

    terms = make_terms(args.terms, rng)
    sources = []
    for name, text in shipped_sources():
        if name.endswith("confidentiality.txt"):
            every = round(1 / args.boundary_share) if args.boundary_share > 0 else 0
            extra = "\n".join(t + (" | policy=boundary" if every and i % every == 0 else "") for i, t in enumerate(terms))
            text = text + "\n# benchmark terms\n" + extra + "\n"
        sources.append((name, text))
    tmp = tempfile.mkdtemp(prefix="draftgate-bench-")
    store = Store(Path(tmp) / "bench.db")
    t0 = time.perf_counter()
    blocklists = BlocklistStore(store, sources)
    build_s = time.perf_counter() - t0
    embargoes = EmbargoStore(store)
    ends = (datetime.now(timezone.utc) + timedelta(days=1)).isoformat()
    embargoes.create("校长任命", ["校长+任命"], ends)
    for i, group in enumerate(rng.sample(terms, 19)):
        embargoes.create(f"topic {i}", [group], ends)
    checkers = [ConfidentialityChecker(blocklists), CommercialChecker(blocklists), EmbargoChecker(embargoes)]

    all_terms = [t.key for bl in blocklists.snapshot.lists.values() for t in bl.terms]
    automaton = ahocorasick.Automaton()
    for i, key in enumerate(all_terms):
        automaton.add_word(key, i)
    automaton.make_automaton()
    rs_automaton = ahocorasick_rs.AhoCorasick(all_terms, matchkind=ahocorasick_rs.MatchKind.Standard)
    hs_db = None
    if hyperscan is not None:
        # UTF-16, as the gateway scans (Python's own layout for Chinese text;
        # faster than UTF-8 here); match ends are all a bare scan collects,
        # and those at odd byte offsets (half a character) are dropped.
        hs_db = utf16_database(all_terms)
        hs_scratch = hyperscan.Scratch(hs_db)

    texts = make_drafts(args.drafts, args.chars, rng, terms)
    counter = iter(range(10**12))

    def screen(text: str) -> int:
        draft = Draft(f"d{next(counter)}", 1, ACCOUNT, Content("", text), "op", "2026-01-01T00:00:00+00:00")
        return sum(len(c.check(draft)) for c in checkers)

    def bare(text: str) -> int:
        return len(list(automaton.iter(text)))

    def bare_rs(text: str) -> int:
        return len(rs_automaton.find_matches_as_indexes(text, overlapping=True))

    def bare_hs(text: str) -> int:
        found: list[tuple[int, int]] = []
        hs_db.scan(text.encode("utf-16-le"), match_event_handler=lambda i, _f, to, _fl, _c: found.append((i, to)),
                   scratch=hs_scratch)
        return sum(1 for _, to in found if not to & 1)  # whole characters only

    jieba_tokenizer()
    # Warm up (tables, jieba dictionary), then count the work in one pass.
    findings = sum(screen(t) for t in texts)
    raw_hits = sum(bare(t) for t in texts)
    assert raw_hits == sum(bare_rs(t) for t in texts)
    if hs_db is not None:
        assert raw_hits == sum(bare_hs(t) for t in texts), "hyperscan's floor must see the same hits"
    boundary_hits = []
    shortcut = 0
    for t in texts:
        norm = normalize("\n\n" + t)  # the screened text: title, blank line, body
        for cstart, cend, group in blocklists.snapshot.matcher.raw(norm.compact):
            if any(term.policy == "boundary" for term in group):
                boundary_hits.append((norm, cstart, cend))
                shortcut += no_word_across_edges(norm, cstart, cend)

    print(f"draftgate text benchmark: {pinned}; {os.cpu_count()} CPUs on the machine, python {sys.version.split()[0]}")
    print(f"  {len(all_terms):,} terms ({args.terms:,} benchmark terms + shipped lists), automaton built in {build_s:.2f}s")
    print(f"  {len(texts)} distinct drafts of {args.chars:,} characters; per draft: "
          f"{raw_hits / len(texts):.1f} raw hits, {len(boundary_hits) / len(texts):.1f} needing the jieba filter "
          f"({shortcut / max(1, len(boundary_hits)):.0%} decided without segmenting: no word crosses their edges), "
          f"{findings / len(texts):.1f} findings; 20 embargoes in force")
    full_rates, py_rates, rs_rates, hs_rates, jieba_costs, cut_costs = [], [], [], [], [], []
    for r in range(args.repeat):
        p = rate(bare, texts, args.seconds)
        b = rate(bare_rs, texts, args.seconds)
        h = rate(bare_hs, texts, args.seconds) if hs_db is not None else 0.0
        f = rate(screen, texts, args.seconds, clear_caches)
        clear_caches()
        for norm, _, _ in boundary_hits:
            norm._segments.clear()  # no segmentation reused from an earlier run
        start = time.perf_counter()
        for norm, cs, ce in boundary_hits:
            stands_alone(norm, cs, ce)
        per_hit = (time.perf_counter() - start) / max(1, len(boundary_hits))
        # What segmenting costs when it must run (the shortcut not taken): the
        # gateway's own segmentation, and jieba.cut it reproduces.
        windows = [norm.compact[slice(*_window_span(norm, cs, ce))] for norm, cs, ce in boundary_hits]
        start = time.perf_counter()
        for w in windows:
            list(_jieba_cut(w))
        per_cut = (time.perf_counter() - start) / max(1, len(windows))
        tokenizer = jieba_tokenizer()
        start = time.perf_counter()
        for w in windows:
            list(tokenizer.cut(w, HMM=False))
        per_jieba = (time.perf_counter() - start) / max(1, len(windows))
        cut_costs.append(per_cut)
        full_rates.append(f)
        py_rates.append(p)
        rs_rates.append(b)
        hs_rates.append(h)
        jieba_costs.append(per_hit)
        hs_text = f"bare hyperscan {h:7.0f}/s ({1e3 / h:.3f} ms) | " if h else ""
        print(f"  run {r + 1}: all text checkers {f:7.0f} drafts/s ({1e3 / f:.3f} ms) | {hs_text}bare ahocorasick_rs "
              f"{b:7.0f}/s ({1e3 / b:.3f} ms) | bare pyahocorasick {p:6.0f}/s ({1e3 / p:.3f} ms) | "
              f"jieba filter {per_hit * 1e6:.0f} µs/hit (a segmentation {per_cut * 1e6:.0f} µs; "
              f"jieba.cut {per_jieba * 1e6:.0f} µs)")
    stages = breakdown(texts, blocklists, checkers,
                       lambda t: Draft("d", 1, ACCOUNT, Content("", t), "op", "2026-01-01T00:00:00+00:00"))
    print("  where a draft's time goes (µs, caches emptied before each draft; each checker's own work once "
          "normalisation and the judged hits are shared): "
          + ", ".join(f"{stage} {us:.0f}" for stage, us in stages.items())
          + f"; sum {sum(stages.values()):.0f}")
    f, p, b = statistics.median(full_rates), statistics.median(py_rates), statistics.median(rs_rates)
    j = statistics.median(jieba_costs)
    print(f"median: all text checkers {f:.0f} drafts/s (target >= 500)")
    print(f"        vs bare pyahocorasick {p:.0f} drafts/s: {p / f:.2f}x its cost (the floor the issue names)")
    print(f"        vs bare ahocorasick_rs {b:.0f} drafts/s: {b / f:.2f}x its cost")
    if hs_rates[0]:
        h = statistics.median(hs_rates)
        print(f"        vs bare hyperscan {h:.0f} drafts/s (the fastest floor: target <= 3x): {h / f:.2f}x its cost")
    print(f"        jieba filter {j * 1e6:.0f} µs per hit; {len(boundary_hits) / len(texts):.1f} hits per draft "
          f"need it = {j * 1e6 * len(boundary_hits) / len(texts):.0f} µs of the {1e6 / f:.0f} µs per draft "
          f"(segmenting every window would cost {statistics.median(cut_costs) * 1e6:.0f} µs per hit)")
    store.close()


if __name__ == "__main__":
    main()
