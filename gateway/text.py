"""Shared text machinery for text checkers (built-in and third-party).

- ``visible_text``: what a reader sees of an HTML body.
- ``normalize``: folds the usual evasions (full-width and other compatibility
  forms, case, traditional characters, symbols/spaces/zero-width characters
  between characters, Chinese or circled numerals where a rule is about
  numbers) while keeping a map back to offsets in the original text.
- ``TermMatcher``: one multi-pattern search (``gateway.matching``: Hyperscan,
  or ``ahocorasick_rs`` where it is missing) over many terms, reporting every
  hit, overlapping ones included.
- ``stands_alone``: the jieba word-boundary filter, run only on the sentence
  around a hit; jieba's dictionary is loaded once per process.
- ``parse_blocklist`` / ``parse_term_line``: the blocklist file format.
"""

from __future__ import annotations

import bisect
import re
import threading
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from math import log
from html.parser import HTMLParser
from operator import itemgetter
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping, NamedTuple, Sequence

from gateway.matching import ASTRAL, KeySearch, make_key_search
from gateway.model import Severity

# ---------------------------------------------------------------------------
# Visible text of HTML bodies
# ---------------------------------------------------------------------------

# Elements whose content a reader never sees.
_INVISIBLE = frozenset({"script", "style", "template", "noscript", "head"})
# Elements that end a line of text when rendered; without a break, words from
# two paragraphs would run together and form terms that were never written.
_BLOCK = frozenset(
    {"p", "div", "br", "li", "tr", "td", "th", "h1", "h2", "h3", "h4", "h5", "h6",
     "section", "article", "blockquote", "pre", "table", "ul", "ol", "hr", "figure", "figcaption"}
)


class _Visible(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            self._hidden += 1
            return
        if tag in _BLOCK:
            self.parts.append("\n")
        if self._hidden:
            return
        # alt and title texts are shown to readers (hover text, missing images).
        for name, value in attrs:
            if name in ("alt", "title") and value and value.strip():
                self.parts.append(f" {value.strip()} ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _INVISIBLE:
            return
        self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag in _INVISIBLE:
            self._hidden = max(0, self._hidden - 1)
        elif tag in _BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._hidden:
            self.parts.append(data)


def visible_text(markup: str) -> str:
    """The text a reader sees in an HTML body: entities decoded, scripts and styles dropped.

    ``alt`` and ``title`` attributes are kept; block elements become line breaks.
    """
    parser = _Visible()
    parser.feed(markup)
    parser.close()
    text = "".join(parser.parts)
    lines = [" ".join(line.split()) for line in text.split("\n")]
    out: list[str] = []
    for line in lines:
        if line or (out and out[-1]):
            out.append(line)
    return "\n".join(out).strip("\n")


# ---------------------------------------------------------------------------
# Normalisation
# ---------------------------------------------------------------------------

# Code points whose folding we precompute: the BMP plus the planes where styled
# letters and digits live (mathematical alphanumerics, enclosed alphanumerics).
_FOLD_RANGES = ((0x80, 0x10000), (0x1D400, 0x1D800), (0x1F100, 0x1F200))

# Marks that carry meaning in secrecy markings and prices: never treated as
# filler even though Unicode calls them symbols.
_MEANINGFUL_SYMBOLS = frozenset("★☆¥$€£%+")
# Punctuation that ends a sentence or clause: kept, because deleting it would
# glue unrelated words together across sentences.
_SENTENCE_PUNCT = frozenset("。！？；!?;\n…")
_CLAUSE_PUNCT = frozenset("，,、：:（）()《》【】[]「」『』“”\"‘’<>{}")

# Chinese and "financial" numerals, read as digits by number rules only.
_NUMERALS = {
    "〇": "0", "零": "0", "一": "1", "幺": "1", "二": "2", "三": "3", "四": "4",
    "五": "5", "六": "6", "七": "7", "八": "8", "九": "9",
    "壹": "1", "贰": "2", "叁": "3", "肆": "4", "伍": "5", "陆": "6", "柒": "7", "捌": "8", "玖": "9",
}


def _t2s_chars() -> dict[str, str]:
    """Character-level traditional->simplified map from OpenCC's own dictionary.

    Character level (not OpenCC's phrase conversion) because it keeps the text
    the same length, so offsets stay exact, and because it runs in C through
    ``str.translate`` instead of OpenCC's pure-Python phrase segmentation
    (about two orders of magnitude slower on a 2,000-character draft).
    """
    import opencc  # opencc-python-reimplemented ships the dictionaries

    path = Path(opencc.__file__).parent / "dictionary" / "TSCharacters.txt"
    table: dict[str, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 2:
            trad, simp = parts[0], parts[1].split(" ")[0]
            if len(trad) == 1 and len(simp) == 1 and trad != simp:
                table[trad] = simp
    return table


@dataclass(frozen=True)
class _Tables:
    # One char -> one char: NFKC, lower case, traditional->simplified; filler
    # characters (spaces, zero-width, symbols) -> NUL, removed afterwards.
    # A single ``str.translate`` does all of it in C.
    fold: dict[int, int]
    numerals: dict[int, int]
    # Runs of characters that ``fold`` changes. Ordinary Chinese prose has
    # few, so folding only those runs (instead of translating every
    # character) makes normalisation several times cheaper. Kept to the BMP
    # so that ``re`` compiles it to a bitmap; anything beyond the BMP is
    # caught by ``ASTRAL``.
    fold_runs: re.Pattern[str]


_tables_lock = threading.Lock()
_tables: _Tables | None = None
_GAP = "\x00"
_GAP_RUNS = re.compile("\x00+")


def _is_gap(ch: str) -> bool:
    if ch in _MEANINGFUL_SYMBOLS or ch in _SENTENCE_PUNCT or ch in _CLAUSE_PUNCT:
        return False
    cat = unicodedata.category(ch)
    if cat in ("Zs", "Zl", "Zp", "Cf", "Sk", "Sm", "So", "Pc", "Pd", "Cc"):
        return True
    # Other punctuation used as filler: * . / \\ | ~ # @ & ' ` · • ・ and the like.
    return cat == "Po"


def _build_tables() -> _Tables:
    t2s = _t2s_chars()
    fold: dict[int, int] = {}
    for lo, hi in ((0, 0x80), *_FOLD_RANGES):
        for cp in range(lo, hi):
            ch = chr(cp)
            out = unicodedata.normalize("NFKC", ch)
            # Multi-character expansions (e.g. ⑩ -> "10", ㈱ -> "(株)") would
            # shift offsets; they are left as they are.
            if len(out) != 1:
                out = ch
            low = out.lower()
            out = low if len(low) == 1 else out
            out = t2s.get(out, out)
            if _is_gap(out):
                out = _GAP
            elif unicodedata.category(out).startswith("P"):
                # Kept punctuation (，vs ,) means the same either way: not
                # folding it keeps ordinary prose on the fast path.
                out = ch
            if out != ch:
                fold[cp] = ord(out)
    numerals = {ord(k): ord(v) for k, v in _NUMERALS.items()}
    return _Tables(fold, numerals, re.compile(f"[{_char_class(c for c in fold if c < 0x10000)}]+"))


def _char_class(codepoints: Iterable[int]) -> str:
    """A regex character class body for ``codepoints``, as ranges."""
    parts: list[str] = []
    cps = sorted(codepoints)
    i = 0
    while i < len(cps):
        j = i
        while j + 1 < len(cps) and cps[j + 1] == cps[j] + 1:
            j += 1
        lo, hi = re.escape(chr(cps[i])), re.escape(chr(cps[j]))
        parts.append(lo if i == j else f"{lo}-{hi}")
        i = j + 1
    return "".join(parts)


def _get_tables() -> _Tables:
    global _tables
    if _tables is None:
        with _tables_lock:
            if _tables is None:
                _tables = _build_tables()
    return _tables


_NUMERAL_RUNS = re.compile("[" + "".join(_NUMERALS) + "]+")
_SENTENCE_RE = re.compile(f"[{''.join(sorted(_SENTENCE_PUNCT))}]")


@dataclass(frozen=True)
class Normalized:
    """A text and its normalised views, with offsets mapped back to the original.

    - ``folded``: same length as ``original``; NFKC, lower case, simplified,
      filler characters replaced by NUL.
    - ``compact``: ``folded`` without spaces, zero-width characters and filler
      symbols: the view terms are matched against.
    - ``digits``: ``compact`` with Chinese and styled numerals read as digits
      (same length as ``compact``): the view number rules use.
    """

    original: str
    folded: str
    compact: str
    # Kept runs of ``folded``: compact start of each run, and how far it is
    # shifted from its position in the original.
    _run_starts: tuple[int, ...] = field(repr=False)
    _run_shifts: tuple[int, ...] = field(repr=False)

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """Map a half-open span of ``compact`` to the span of ``original`` it came from."""
        if not self._run_starts:
            return start, end
        i = bisect.bisect_right(self._run_starts, start) - 1
        j = bisect.bisect_right(self._run_starts, end - 1) - 1 if end > start else i
        return start + self._run_shifts[i], end + self._run_shifts[j]

    @cached_property
    def digits(self) -> str:
        # Only the numeral runs are translated: a dict-based ``translate`` over
        # the whole text pays a failed lookup for every other character.
        numerals = _get_tables().numerals
        return _NUMERAL_RUNS.sub(lambda m: m.group().translate(numerals), self.compact)

    @cached_property
    def _memo(self) -> dict[str, Any]:
        # Results several checkers share for this text (e.g. number runs).
        return {}

    @cached_property
    def _segments(self) -> dict[str, list[str]]:
        # jieba tokens of window texts already segmented: hits in one sentence,
        # and a sentence repeated many times, share one segmentation.
        return {}

    @cached_property
    def _sentence_ends(self) -> list[int]:
        return [m.start() for m in _SENTENCE_RE.finditer(self.compact)]

    def sentence_of(self, pos: int) -> tuple[int, int]:
        """The half-open span of ``compact`` holding the sentence around ``pos``."""
        ends = self._sentence_ends
        i = bisect.bisect_left(ends, pos)
        start = ends[i - 1] + 1 if i > 0 else 0
        end = ends[i] if i < len(ends) else len(self.compact)
        return start, end

    def sentence_index(self, pos: int) -> int:
        """Which sentence ``pos`` of ``compact`` is in (0-based)."""
        return bisect.bisect_left(self._sentence_ends, pos)


def _normalize(text: str) -> Normalized:
    folded = _normalize_folded(text)
    if _GAP not in folded:
        return Normalized(text, folded, folded, (), ())
    starts: list[int] = [0]
    shifts: list[int] = [0]
    deleted = 0
    for m in _GAP_RUNS.finditer(folded):
        # The kept run after this gap starts, in compact, where the gap started.
        starts.append(m.start() - deleted)
        deleted += m.end() - m.start()
        shifts.append(deleted)
    compact = folded.replace(_GAP, "")
    return Normalized(text, folded, compact, tuple(starts), tuple(shifts))


def _normalize_folded(text: str) -> str:
    tables = _get_tables()
    if ASTRAL.search(text):
        return text.translate(tables.fold)
    fold = tables.fold
    return tables.fold_runs.sub(lambda m: m.group().translate(fold), text)


@lru_cache(maxsize=16)
def normalize(text: str) -> Normalized:
    """Normalise ``text`` (cached: the text checkers of one draft share the work)."""
    return _normalize(text)


def normalize_term(term: str) -> str:
    """The form of a blocklist term that is matched against ``Normalized.compact``."""
    return _normalize(term).compact


def fold_digits(text: str) -> str:
    """``text`` with Chinese and styled numerals as ASCII digits (same length)."""
    return text.translate(_get_tables().numerals)


# ---------------------------------------------------------------------------
# Terms, hits and the matcher
# ---------------------------------------------------------------------------

POLICIES = ("strict", "boundary")
# A term is a word or a phrase; a paragraph-long one is a paste error, and
# it would also be beyond what the matcher takes (Hyperscan: 2,000 characters).
MAX_TERM_CHARS = 200


@dataclass(frozen=True)
class Term:
    """One entry of a blocklist, with how a hit on it is judged."""

    term: str  # as written in the list
    key: str  # normalised form, matched against ``Normalized.compact``
    list_name: str
    severity: Severity
    policy: str = "strict"  # strict | boundary
    allow: tuple[str, ...] = ()  # normalised containing phrases in which a hit does not count
    downgrade: Severity | None = None  # boundary policy: report cross-word hits at this severity instead of dropping them
    attrs: Mapping[str, str] = field(default_factory=dict)


class Hit(NamedTuple):
    """A term found in the normalised text; offsets in both views.

    A named tuple, not a dataclass: a draft has dozens of hits, and building
    a frozen dataclass costs about three times as much.
    """

    term: Term
    cstart: int  # in Normalized.compact
    cend: int
    start: int  # in Normalized.original (Draft.screened_text)
    end: int
    severity: Severity


MAX_HITS_PER_TERM = 20


def _ascii_alnum(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def _is_plain(term: Term) -> bool:
    """True when ``judge`` always returns ``term.severity``: strict, no allow-list, no ASCII edge."""
    return (term.policy == "strict" and not term.allow
            and not _ascii_alnum(term.key[0]) and not _ascii_alnum(term.key[-1]))


class TermMatcher:
    """An immutable multi-pattern search over many terms (rebuilt, never mutated).

    Backed by ``gateway.matching``: Hyperscan where its wheel exists, else
    ``ahocorasick_rs``. On Chinese text against 10,000 terms they scan about
    35 and 10 times faster than ``pyahocorasick``, whose per-node transition
    lists are slow for an alphabet of thousands of characters
    (``bench/text_bench.py`` prints all three).
    """

    def __init__(self, terms: Iterable[Term]) -> None:
        by_key: dict[str, list[Term]] = {}
        for t in terms:
            by_key.setdefault(t.key, []).append(t)
        keys = tuple(by_key)
        self._groups: tuple[tuple[Term, ...], ...] = tuple(tuple(g) for g in by_key.values())
        # Groups whose every term keeps every hit at its own severity (what
        # ``judge`` would say without looking): decided once, not per hit.
        self._plain: tuple[bool, ...] = tuple(all(_is_plain(t) for t in g) for g in self._groups)
        self._search: KeySearch | None = make_key_search(keys) if keys else None

    def raw(self, compact: str) -> Iterator[tuple[int, int, tuple[Term, ...]]]:
        """Every occurrence of every key in ``compact`` as ``(start, end, terms)``, overlaps included, in order."""
        if self._search is None:
            return
        groups = self._groups
        for index, start, end in sorted(self._search.find(compact), key=itemgetter(1, 2)):
            yield start, end, groups[index]

    def find(self, norm: Normalized) -> list[Hit]:
        """Hits in ``norm`` after each term's policy (allow-list, word boundary) is applied.

        At most ``MAX_HITS_PER_TERM`` hits of one term at one severity are
        reported: more say nothing new about the draft. Every occurrence is
        still judged (skipping some would let decoys hide a real hit); the
        segmentation of identical sentence windows is shared.
        """
        hits: list[Hit] = []
        if self._search is None:
            return hits
        groups, plain = self._groups, self._plain
        to_original = norm.to_original
        # In order of position, as a reader meets them (the backends report
        # in an order of their own).
        matches = sorted(self._search.find(norm.compact), key=itemgetter(1, 2))
        # The cap can only bite on a term that occurs more often than it:
        # counting per hit is needed only when some key does.
        capped = len(matches) > MAX_HITS_PER_TERM and (
            max(Counter(map(itemgetter(0), matches)).values()) > MAX_HITS_PER_TERM
        )
        reported: dict[tuple[int, Severity], int] = {}
        for index, cstart, cend in matches:
            start, end = to_original(cstart, cend)
            for term in groups[index]:
                # Most terms need no judging: strict, no allow-list, no ASCII edge.
                severity = term.severity if plain[index] else judge(norm, term, cstart, cend, start, end)
                if severity is None:
                    continue
                if capped:
                    key = (id(term), severity)
                    count = reported.get(key, 0)
                    if count >= MAX_HITS_PER_TERM:
                        continue
                    reported[key] = count + 1
                hits.append(Hit(term, cstart, cend, start, end, severity))
        return hits


def judge(norm: Normalized, term: Term, cstart: int, cend: int, start: int, end: int) -> Severity | None:
    """The severity a hit of ``term`` at this place deserves, or None when it does not count."""
    original = norm.original
    key = term.key
    # An ASCII-edged term inside a longer ASCII word is a different word
    # ("vx" in "devx"); checked on the original text so that inserted
    # spaces ("v x") still count as evasion.
    if _ascii_alnum(key[0]) and start > 0 and _ascii_alnum(norm.folded[start - 1]):
        return None
    if _ascii_alnum(key[-1]) and end < len(original) and _ascii_alnum(norm.folded[end]):
        return None
    compact = norm.compact
    for phrase in term.allow:
        offset = phrase.find(key)
        while offset >= 0:
            lo = cstart - offset
            if lo >= 0 and compact.startswith(phrase, lo):
                return None
            offset = phrase.find(key, offset + 1)
    if term.policy == "boundary" and not stands_alone(norm, cstart, cend):
        return term.downgrade
    return term.severity


# ---------------------------------------------------------------------------
# The jieba word-boundary filter
# ---------------------------------------------------------------------------

_jieba_lock = threading.Lock()
_jieba: Any = None
# Segmenting a whole long sentence costs more than it tells: a hit's words are
# decided by its neighbourhood, so the window is clipped to this many
# characters each side (still within the sentence).
WINDOW = 16


def jieba_tokenizer() -> Any:
    """jieba's tokenizer with its dictionary loaded (once per process, thread-safe)."""
    global _jieba
    if _jieba is None:
        with _jieba_lock:
            if _jieba is None:
                import logging

                import jieba

                jieba.setLogLevel(logging.WARNING)
                jieba.dt.initialize()
                global _max_word
                _max_word = max(map(len, jieba.dt.FREQ))
                _jieba = jieba.dt
    return _jieba


def _window_span(norm: Normalized, cstart: int, cend: int) -> tuple[int, int]:
    """The span of ``compact`` segmented for a hit: its sentence, clipped to WINDOW each side."""
    s_lo, s_hi = norm.sentence_of(cstart)
    return max(s_lo, cstart - WINDOW), min(max(s_hi, cend), cend + WINDOW)


# Segmentations of recent windows, across drafts: a revised draft, a
# re-screened one or a boilerplate sentence repeats its windows. Bounded; the
# benchmark clears it (``clear_caches``) so that no draft reuses another's.
_SEGMENT_CACHE = 4096


@lru_cache(maxsize=_SEGMENT_CACHE)
def _cut(window: str) -> tuple[str, ...]:
    # HMM off: the question is whether dictionary words cross the hit's
    # edges; guessing unknown words adds cost, not a better answer.
    return tuple(_jieba_cut(window))


def _jieba_cut(text: str) -> Iterator[str]:
    """``jieba.cut(text, HMM=False)``, the same tokens, about twice as fast.

    The same algorithm as jieba's own (blocks of ``re_han_default``, a DAG of
    dictionary words, the most probable route, single ASCII letters and
    digits glued together), without its generator layers and per-call
    checks; a test compares the two on random text.
    """
    import jieba

    tokenizer = jieba_tokenizer()
    freq = tokenizer.FREQ
    logtotal = log(tokenizer.total)
    re_han, re_skip, re_eng = jieba.re_han_default, jieba.re_skip_default, jieba.re_eng
    for blk in re_han.split(text):
        if not blk:
            continue
        if not re_han.match(blk):
            for x in re_skip.split(blk):
                if re_skip.match(x):
                    yield x
                else:
                    yield from x
            continue
        n = len(blk)
        # route[i] = (best log-probability of blk[i:], end index of its first word)
        route: list[tuple[float, int]] = [(0.0, 0)] * (n + 1)
        for idx in range(n - 1, -1, -1):
            best: tuple[float, int] | None = None
            i = idx
            frag = blk[idx]
            while i < n and frag in freq:
                f = freq[frag]
                if f:
                    cand = (log(f) - logtotal + route[i + 1][0], i)
                    if best is None or cand > best:
                        best = cand
                i += 1
                frag = blk[idx:i + 1]
            if best is None:
                # No dictionary word starts here: the character alone, as
                # jieba scores it (frequency 1).
                best = (log(freq.get(blk[idx]) or 1) - logtotal + route[idx + 1][0], idx)
            route[idx] = best
        x = 0
        buf = ""
        while x < n:
            y = route[x][1] + 1
            word = blk[x:y]
            if y - x == 1 and re_eng.match(word):
                buf += word
            else:
                if buf:
                    yield buf
                    buf = ""
                yield word
            x = y
        if buf:
            yield buf


def clear_caches() -> None:
    """Forget cached normalisations and segmentations (benchmarks, tests)."""
    normalize.cache_clear()
    _cut.cache_clear()


def segment_window(norm: Normalized, cstart: int, cend: int) -> tuple[int, list[str]]:
    """jieba tokens of the sentence around a hit (clipped), and where that window starts."""
    lo, hi = _window_span(norm, cstart, cend)
    return lo, _segment(norm, lo, hi)


def _segment(norm: Normalized, lo: int, hi: int) -> list[str]:
    window = norm.compact[lo:hi]
    cache = norm._segments
    tokens = cache.get(window)
    if tokens is None:
        tokens = cache[window] = list(_cut(window))
    return tokens


_ASCII_ALNUM = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789")
_max_word: int = 0


def _no_word_across(text: str, edge: int, lo: int, hi: int) -> bool:
    """True when no token jieba could make of ``text[lo:hi]`` spans ``edge``.

    jieba (HMM off) cuts a window into dictionary words (of positive
    frequency), single characters, and runs of single ASCII letters and
    digits it glues together. If no dictionary word within the window covers
    both ``text[edge - 1]`` and ``text[edge]``, and the two are not both ASCII
    letters or digits, every segmentation has a boundary at ``edge``: the
    answer jieba would give, without running it. Words are looked up as jieba
    itself does (``get_DAG``): extending from each start while the prefix is
    in its dictionary.
    """
    if edge <= lo or edge >= hi:
        return True  # window edges are always boundaries
    if text[edge - 1] in _ASCII_ALNUM and text[edge] in _ASCII_ALNUM:
        return False
    freq = jieba_tokenizer().FREQ
    past = edge + 1
    # A word from j across the edge has text[j:edge + 1] as a prefix, and
    # jieba's dictionary holds every prefix of its words: one lookup per
    # start rules out most of them.
    for j in [j for j in range(max(lo, edge - _max_word + 1), edge) if text[j:past] in freq]:
        i = past
        frag = text[j:i]
        while i <= hi and frag in freq:
            if freq[frag]:
                return False
            i += 1
            frag = text[j:i]
    return True


def no_word_across_edges(norm: Normalized, cstart: int, cend: int, span: tuple[int, int] | None = None) -> bool:
    """True when no dictionary word reaches across either edge of ``compact[cstart:cend]``
    within its window (``span``, computed when not given): then every segmentation
    has both edges as boundaries, and jieba need not run."""
    lo, hi = span or _window_span(norm, cstart, cend)
    compact = norm.compact
    return _no_word_across(compact, cstart, lo, hi) and _no_word_across(compact, cend, lo, hi)


def stands_alone(norm: Normalized, cstart: int, cend: int) -> bool:
    """True when ``compact[cstart:cend]`` is one or more whole words of its sentence."""
    lo, hi = _window_span(norm, cstart, cend)
    if no_word_across_edges(norm, cstart, cend, (lo, hi)):
        return True  # most hits
    tokens = _segment(norm, lo, hi)
    bounds = {lo}
    pos = lo
    for token in tokens:
        pos += len(token)
        bounds.add(pos)
    return cstart in bounds and cend in bounds


# ---------------------------------------------------------------------------
# Blocklist files
# ---------------------------------------------------------------------------
#
#   # comments start with '#'
#   @list confidentiality          header: the list's name,
#   @category confidentiality      its category,
#   @severity block                the default severity,
#   @policy strict                 and (optionally) the default policy
#   绝密 | policy=boundary         one term a line; optional key=value fields:
#   机密 | allow=机密性,机密度      severity, policy (strict|boundary), allow
#   内部资料 | severity=review     (containing phrases), downgrade, and free
#   包邮 | signal=call_to_buy      attributes a checker may read (signal, weight...)

HEADER_KEYS = ("list", "category", "severity", "policy")


class BlocklistError(ValueError):
    """A blocklist could not be parsed; ``problems`` lists every bad line."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True)
class Blocklist:
    name: str
    category: str
    severity: Severity
    policy: str
    terms: tuple[Term, ...]
    source: str = ""


def _severity(value: str) -> Severity:
    try:
        return Severity(value.strip().lower())
    except ValueError:
        raise ValueError(f"unknown severity {value.strip()!r} (expected info, review or block)") from None


def parse_term_line(
    line: str, *, list_name: str, severity: Severity, policy: str = "strict", max_chars: int | None = MAX_TERM_CHARS
) -> Term:
    """Parse one term line (``term | key=value | ...``); raises ValueError with the reason.

    ``max_chars=None`` takes a term of any length: lines stored before the
    limit existed stay enforced.
    """
    fields_ = [f.strip() for f in line.split("|")]
    raw = fields_[0]
    if not raw:
        raise ValueError("empty term")
    if max_chars is not None and len(raw) > max_chars:
        raise ValueError(f"term is {len(raw)} characters long (at most {max_chars})")
    key = normalize_term(raw)
    if not key:
        raise ValueError(f"term {raw!r} has no characters left after normalisation")
    sev, pol, allow, downgrade = severity, policy, (), None
    attrs: dict[str, str] = {}
    for f in fields_[1:]:
        if not f:
            continue
        name, eq, value = f.partition("=")
        name, value = name.strip().lower(), value.strip()
        if not eq or not name:
            raise ValueError(f"field {f!r} is not key=value")
        if name == "severity":
            sev = _severity(value)
        elif name == "policy":
            if value not in POLICIES:
                raise ValueError(f"unknown policy {value!r} (expected strict or boundary)")
            pol = value
        elif name == "allow":
            phrases = [p.strip() for p in value.replace("，", ",").split(",") if p.strip()]
            if not phrases:
                raise ValueError("allow= needs at least one phrase")
            keys = tuple(normalize_term(p) for p in phrases)
            for p, k in zip(phrases, keys):
                if key not in k:
                    raise ValueError(f"allow phrase {p!r} does not contain the term {raw!r}")
            allow = keys
        elif name == "downgrade":
            downgrade = _severity(value)
        else:
            attrs[name] = value
    return Term(raw, key, list_name, sev, pol, allow, downgrade, attrs)


def parse_blocklist(text: str, source: str = "<string>") -> Blocklist:
    """Parse a whole blocklist file; every malformed line is reported as ``source:line: reason``."""
    header: dict[str, str] = {}
    problems: list[str] = []
    terms: list[Term] = []
    seen: dict[str, int] = {}
    for lineno, raw_line in enumerate(text.splitlines(), start=1):
        line = raw_line.strip()
        if lineno == 1:
            line = line.lstrip("\ufeff")
        if not line or line.startswith("#"):
            continue
        where = f"{source}:{lineno}"
        if line.startswith("@"):
            name, _, value = line[1:].partition(" ")
            name, value = name.strip().lower(), value.strip()
            if name not in HEADER_KEYS:
                problems.append(f"{where}: unknown header @{name}")
            elif terms:
                problems.append(f"{where}: header @{name} after the first term")
            elif name in header:
                problems.append(f"{where}: header @{name} given twice")
            elif not value:
                problems.append(f"{where}: header @{name} has no value")
            else:
                header[name] = value
            continue
        missing = [k for k in ("list", "category", "severity") if k not in header]
        if missing:
            problems.append(f"{where}: term before the header is complete (missing @{', @'.join(missing)})")
            continue
        try:
            default_sev = _severity(header["severity"])
            default_pol = header.get("policy", "strict")
            if default_pol not in POLICIES:
                raise ValueError(f"unknown default policy {default_pol!r}")
        except ValueError as exc:
            problems.append(f"{source}: header: {exc}")
            break
        try:
            term = parse_term_line(line, list_name=header["list"], severity=default_sev, policy=default_pol)
        except ValueError as exc:
            problems.append(f"{where}: {exc}")
            continue
        if term.key in seen:
            problems.append(f"{where}: term {term.term!r} repeats line {seen[term.key]}")
            continue
        seen[term.key] = lineno
        terms.append(term)
    missing = [k for k in ("list", "category", "severity") if k not in header]
    if missing and not problems:
        problems.append(f"{source}: header incomplete (missing @{', @'.join(missing)})")
    if problems:
        raise BlocklistError(problems)
    return Blocklist(
        header["list"], header["category"], _severity(header["severity"]),
        header.get("policy", "strict"), tuple(terms), source,
    )


# ---------------------------------------------------------------------------
# Numbers (for rules about numbers: identity cards, phone numbers)
# ---------------------------------------------------------------------------

# Runs of at least 7 digits in ``Normalized.digits`` (Chinese and styled
# numerals already read as digits, separators already removed); an identity
# card number may end in X.
_DIGIT_CHARS = "0-9" + "".join(_NUMERALS)
# Matched on ``Normalized.compact`` (numerals still as written) so that the
# digits view is only computed for the few runs found, not the whole draft.
# No lookarounds: scanning left to right, a greedy match always starts at the
# beginning of its run, and lookarounds would double the cost of the scan.
_DIGIT_RUN = re.compile(f"[{_DIGIT_CHARS}]{{7,}}x?")


@dataclass(frozen=True)
class NumberRun:
    digits: str
    start: int  # in Normalized.original
    end: int


def number_runs(norm: Normalized) -> list[NumberRun]:
    """Long digit runs however they were written (一三八, ①③⑧, １３８, 138-1234-5678).

    Computed once per text: several checkers ask.
    """
    memo = norm._memo
    runs: list[NumberRun] | None = memo.get("number_runs")
    if runs is None:
        numerals = _get_tables().numerals
        runs = []
        for m in _DIGIT_RUN.finditer(norm.compact):
            start, end = norm.to_original(m.start(), m.end())
            runs.append(NumberRun(m.group().translate(numerals), start, end))
        memo["number_runs"] = runs
    return runs


_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10x98765432"


def is_resident_id(number: str) -> bool:
    """An 18-character PRC resident identity card number with a valid check digit and birth date."""
    if len(number) != 18 or not number[:17].isdigit() or number[0] == "0":
        return False
    total = sum(int(d) * w for d, w in zip(number[:17], _ID_WEIGHTS))
    if _ID_CHECK[total % 11] != number[17].lower():
        return False
    year, month, day = int(number[6:10]), int(number[10:12]), int(number[12:14])
    return 1900 <= year <= 2100 and 1 <= month <= 12 and 1 <= day <= 31


_MOBILE = re.compile(r"(?:0?86)?(1[3-9][0-9]{9})")


def mobile_number(number: str) -> str | None:
    """The 11-digit mainland mobile number ``number`` is (optionally with 86 in front), or None."""
    m = _MOBILE.fullmatch(number)
    return m.group(1) if m else None
