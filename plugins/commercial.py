"""Checker ``commercial``: unlicensed commercial content, as an explained score.

Regulation article 12: no unlicensed commercial activity. Signals (calls to
buy, offers and prices, shop and mini-program links, selling contacts,
sponsorship markers) come from the admin-editable blocklist ``commercial``
(each term has a ``signal`` kind and a ``weight``) and from the patterns
below (prices, discounts, links, phone numbers). Each distinct piece of
evidence counts once, each kind at most ``KIND_CAP``, all weak signals
together at most ``WEAK_CAP``.

A draft is flagged when the sum reaches the threshold, at least two
distinct pieces of evidence fired (one stray word never flags a draft), and
at least ``COMMERCE_MIN`` of the evidence is commerce on its own. Each
signal has a role: ``commerce`` (a buy verb, an offer, a shop, a selling
contact, an offered price), ``campus`` (words campus notices use too:
报名, 欢迎, 抽奖, 咨询电话, a teacher's phone number; terms marked
``anchor=no``) or ``mention`` (a fee or award stated as policy, a quoted
word). In a text about university life campus words are context, not
commerce; elsewhere they count in full. Severity ``review``, ``info`` for
accounts with the ``commercial`` permit; the finding lists every signal.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.blocklists import BlocklistStore, setup_service
from gateway.hookspecs import hookimpl
from gateway.matching import make_key_search
from gateway.model import Draft, Finding, Severity
from gateway.text import Normalized, mobile_number, normalize, number_runs

NAME = "commercial"
LIST = "commercial"
THRESHOLD = 1.8
KIND_CAP = 2.0
# A phone number and the words announcing it (联系电话：138…) are one way to
# reach someone: together they never reach the threshold on their own.
KIND_CAPS = {"contact": 1.5}
STRONG = 1.0  # signals weighing less are weak: together they count at most WEAK_CAP
WEAK_CAP = 1.5
WEAK_SPAN = 150
# Signals of three or more kinds agreeing (an offer, a buy verb and a selling
# contact) are stronger evidence than their sum: each kind beyond two adds this.
DIVERSITY = 0.3
# However high the score, a draft is flagged only when this much of it is
# commerce on its own (see ``Signal.role``): one strong signal or several weak
# ones. Fees stated as policy and quoted words never count here; in a text
# about university life, neither do the campus words of the list.
COMMERCE_MIN = 1.0

# Roles of a signal (``Signal.role``).
COMMERCE = "commerce"  # commerce wherever it appears: a buy verb, an offer, a shop, a selling contact
CAMPUS = "campus"  # how campus notices are written too (报名, 欢迎, 抽奖, 咨询电话, a phone number)
MENTION = "mention"  # a price stated as policy, a quoted word: context, never commerce

# Patterns over ``Normalized.folded`` (same length as the original text;
# fillers such as '.' and spaces are NUL there, hence the \x00 in them).
_N = r"[0-9][0-9\x00,]*"
_D = "0123456789"
# Each pattern comes with its needles: strings every match of it contains,
# each with the characters one of which must precede it ("" = any). Ordinary
# prose is full of 元, 送 and 折 (元旦, 赠送, 曲折) but rarely of 9元 or 送 after
# a digit; only the few places where a needle occurs as a pattern needs it
# are searched (``_all_matches``), because a regex scan of a whole
# 2,000-character draft costs more than everything else the checker does.
_PATTERNS: tuple[tuple[str, str, float, tuple[tuple[str, str], ...], re.Pattern[str]], ...] = (
    ("price", "price", 1.0,
     (("元", _D + "\x00,"), ("块钱", _D + "\x00,"), ("rmb", _D + "\x00,"), ("¥", ""), ("$", ""), ("€", ""), ("£", "")),
     re.compile(r"[¥$€£]\x00*[0-9]|" + _N + r"\x00*(?:元|块钱|rmb)(?![\u4e00-\u9fff]{0,2}年)")),
    ("price", "price tag", 1.0,
     tuple((w, "") for w in ("售价", "价格", "定价", "单价", "仅售", "只要", "低至", "特价")),
     # Not when the number counts something else (低至397套, 只要3人).
     re.compile(r"(?:售价|价格|定价|单价|仅售|只要|低至|特价)[\x00:：]*[0-9](?![0-9.\x00]*(?:套|人|个|家|名|倍|%|次|天))")),
    ("price", "discount", 1.0,
     (("折", _D + "\x00一二三四五六七八九"), ("半价", "")),
     re.compile(r"[0-9](?:\x00?[0-9])?\x00*折(?!扣|磨|腾|叠|服|射|断)|[一二三四五六七八九]折(?!扣|磨|腾|叠|服|射|断)|半价")),

    # A salesperson introducing themselves: 我是XX公司的小陈 / 我是XX的李经理
    ("contact", "sales introduction", 1.0,
     (("我是", ""),),
     re.compile(r"我是[^，。！？\n]{1,16}的(?:小[\u4e00-\u9fff]|[\u4e00-\u9fff](?:经理|老师|总|顾问|专员))")),
    ("offer", "buy-get", 1.0,
     (("送", _D + "一二三\x00元"), ("减", _D + "\x00元"), ("返", _D + "\x00元")),
     re.compile(r"买[0-9一二三]+送[0-9一二三]+|满[0-9]+\x00*元?\x00*(?:减|送|返)[0-9]+")),
)
# 5555元/平米, 1.2万元/㎡: housing ads (on the original text: '/' and ㎡ are fillers in the folded view).
_PRICE_PER_AREA = re.compile(r"\d\s*万?\s*元?\s*(?:/|每)\s*(?:平|㎡|m2)")
# A sender's tag opening or closing a message (【某某教育】…), as ads carry.
_SENDER_TAG = re.compile(r"^\s*【[^】\n]{2,16}】|【[^】\n]{2,16}】\s*$")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)
# A salesperson's title next to a phone number (钟经理 5555555, 王先生 138…):
# a number given to sell, where notices give 王老师 or an office.
_SALES_TITLE = re.compile("经理|顾问|专员|先生|小姐|女士")

# Words that say a text is about university life. There the campus words of
# the list (``anchor=no``: 报名, 欢迎, 抽奖, 咨询电话 …), phone numbers and a
# 【栏目】 title tag are how notices are written, so they add to the score but
# do not make up its commerce part; elsewhere (an SMS, a forwarded ad) they
# are the vocabulary of advertising and count in full.
_CAMPUS_WORDS = re.compile(
    "学院|学校|我校|本校|全校|校园|校区|校友|校庆|同学|师生|教师|老师|教授|学生|本科|研究生|博士生"
    "|新生|毕业生|院系|教务|团委|学生会|社团|招新|纳新|图书馆|食堂|宿舍|大学|学年|学术"
)

# A price stated as policy, not offered for sale: fees and charges a notice
# announces (学费, 住宿费, 注册费 …), awards and grants, funding, statistics.
# In a sentence holding one of these words a price is context, not a sale.
_POLICY_CONTEXT = re.compile(
    "标准|调整|收费|收取|费用|费为|学费|住宿费|注册费|会务费|报名费|考试费|工本费|会费|资费|计费|缴纳|缴费"
    "|票价|学生票|定价"
    "|资助|奖励|奖学金|助学金|奖金|捐赠|捐款|经费|补贴|补助|预算|拨款|罚款|医保|成本"
    "|同比|环比|上涨|下降|上调|下调|涨幅|降幅|物价|万元|亿元"
)
# 每生每年 4500元, 每针128元, 每GB1元: a rate, the way notices state fees.
_RATE = re.compile(r"每[\u4e00-\u9fffa-z]{1,4}[\x00:：为]*[0-9]")
_SENTENCE_ENDS = "。！？；!?;\n"

# A term inside a short quotation is mentioned, not used (a warning quoting
# “低息”“免抵押”); 《…》 titles likewise.
QUOTE_REACH = 6
_OPEN_QUOTES = "“‘「『《\"'"


# A window around a needle reaches REACH characters each side, further over
# runs of the characters the patterns repeat (digits, fillers, numerals,
# whitespace), and MARGIN more: every match that contains the needle lies
# inside it whole, lookaheads included (a test checks this against full scans).
REACH = 24
MARGIN = 8
# All whitespace ``\s`` matches (none of it lies above U+3000).
_SPACES = "".join(c for c in map(chr, range(0x3001)) if c.isspace())
_RUN_CHARS = frozenset("0123456789\x00,.:：一二三四五六七八九元" + _SPACES)
# Before 平 in a price per area: '/', 每, or whitespace.
_AREA_NEEDLES = tuple((unit, "/每" + _SPACES) for unit in ("平", "㎡", "m2"))


def _windows(text: str, places: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Merged windows of ``text`` around the needle spans ``places``."""
    size = len(text)
    spans: list[tuple[int, int]] = []
    for start, end in places:
        lo, hi = max(0, start - REACH), min(size, end + REACH)
        while lo > 0 and text[lo - 1] in _RUN_CHARS:
            lo -= 1
        while hi < size and text[hi] in _RUN_CHARS:
            hi += 1
        # MARGIN more each side: the words a run of fillers separates from
        # the needle (价格：：9, 9    块钱) and the lookaheads after them.
        spans.append((max(0, lo - MARGIN), min(size, hi + MARGIN)))
    spans.sort()
    merged = spans[:1]
    for lo, hi in spans[1:]:
        if lo <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


# All needles of all patterns (and of the price per area) in one search:
# one pass over the text instead of a ``str.find`` per needle.
_SEARCHES: tuple[tuple[tuple[tuple[str, str], ...], re.Pattern[str]], ...] = tuple(
    (needles, pattern) for *_, needles, pattern in _PATTERNS
) + ((_AREA_NEEDLES, _PRICE_PER_AREA),)
_NEEDLE_KEYS: tuple[str, ...] = tuple(dict.fromkeys(n for needles, _ in _SEARCHES for n, _b in needles))
_NEEDLE_USES: tuple[tuple[tuple[int, str], ...], ...] = tuple(
    tuple((i, before) for i, (needles, _) in enumerate(_SEARCHES) for n, before in needles if n == key)
    for key in _NEEDLE_KEYS
)
_NEEDLE_SEARCH = make_key_search(_NEEDLE_KEYS)


def _all_matches(folded: str, original: str) -> list[list[re.Match[str]]]:
    """Matches of each of ``_SEARCHES`` in order of position: the patterns on ``folded``, the price per area on ``original``.

    Needles are found in ``folded`` (same length as ``original``); the
    character before a needle is checked in the text its pattern reads.
    """
    places: list[list[tuple[int, int]]] = [[] for _ in _SEARCHES]
    area = len(_SEARCHES) - 1
    for index, start, end in _NEEDLE_SEARCH.find(folded):
        for i, before in _NEEDLE_USES[index]:
            text = original if i == area else folded
            if not before or (start > 0 and text[start - 1] in before):
                places[i].append((start, end))
    out: list[list[re.Match[str]]] = []
    for i, ((_, pattern), spots) in enumerate(zip(_SEARCHES, places)):
        text = original if i == area else folded
        out.append([m for lo, hi in _windows(text, spots) for m in pattern.finditer(text, lo, hi)] if spots else [])
    return out


_OPENING = frozenset(_OPEN_QUOTES)
_CLOSE_ONLY = "”’」』》"
_OPEN_ONLY = "“‘「『《"


def _quoted(text: str, start: int, end: int) -> bool:
    """True when ``text[start:end]`` lies inside a short quotation (“免抵押”, “快速放款”)."""
    before = text[max(0, start - QUOTE_REACH):start]
    if _OPENING.isdisjoint(before):
        return False  # the common case, decided by one set test
    opened = max(before.rfind(q) for q in _OPEN_QUOTES)
    if any(q in before[opened + 1:] for q in _CLOSE_ONLY):
        return False  # that quotation closed before the word
    after = text[end:end + QUOTE_REACH]
    closes = [i for i in (after.find(q) for q in _CLOSE_ONLY + "\"'") if i >= 0]
    return bool(closes) and not any(q in after[:min(closes)] for q in _OPEN_ONLY)


_TAG_AT_START = re.compile(r"\s*【[^】\n]{2,16}】")
_TAG_AT_END = re.compile(r"【[^】\n]{2,16}】\s*$")


def _sender_tag(text: str) -> re.Match[str] | None:
    """``_SENDER_TAG.search(text)``, looking only where a tag can be: the ends."""
    m = _TAG_AT_START.match(text)
    if m:
        return m
    tail = len(text.rstrip())
    return _TAG_AT_END.search(text, max(0, tail - 20))


def _sentence(text: str, start: int, end: int) -> str:
    """The sentence of ``text`` (or of a same-length view of it) around ``start:end``."""
    lo = max(text.rfind(c, 0, start) for c in _SENTENCE_ENDS) + 1
    ends = [i for i in (text.find(c, end) for c in _SENTENCE_ENDS) if i >= 0]
    return text[lo:min(ends) if ends else len(text)]


def _policy_price(folded: str, start: int, end: int) -> bool:
    """True when the price at ``start:end`` is stated as a fee, rate, award or statistic."""
    return bool(_POLICY_CONTEXT.search(_sentence(folded, start, end))) or bool(
        _RATE.search(folded, max(0, start - 8), end)
    )


class Signal(NamedTuple):
    """One piece of evidence (a named tuple: a draft has many, and it is cheaper to build)."""

    kind: str
    label: str
    weight: float
    start: int
    end: int
    role: str = COMMERCE  # COMMERCE, CAMPUS or MENTION

    def to_json(self) -> dict[str, Any]:
        return {"signal": self.kind, "evidence": self.label, "weight": self.weight,
                "start": self.start, "end": self.end, "role": self.role}


@dataclass(frozen=True)
class Score:
    total: float
    signals: tuple[Signal, ...]  # one per distinct piece of evidence, first occurrence
    campus: bool = False  # the text is about university life (campus words count as context)

    @property
    def commerce(self) -> float:
        """The part of the evidence that is commerce on its own, in this text."""
        counted = (COMMERCE,) if self.campus else (COMMERCE, CAMPUS)
        return round(sum(s.weight for s in self.signals if s.role in counted), 3)

    def flags(self, threshold: float) -> bool:
        return self.total >= threshold and len(self.signals) >= 2 and self.commerce >= COMMERCE_MIN


def _price_role(folded: str, start: int, end: int) -> str:
    return MENTION if _policy_price(folded, start, end) else COMMERCE


def score(norm: Normalized, blocklists: BlocklistStore) -> Score:
    """Every commercial signal in ``norm`` and the combined score."""
    found: dict[str, Signal] = {}
    folded = norm.folded
    original = norm.original

    def add(sig: Signal) -> None:
        if sig.label not in found:
            found[sig.label] = sig

    def add_pattern(sig: Signal) -> None:
        # A pattern matching where a term or another pattern already matched
        # (特价 and the price tag 特价248, a price and its price per area)
        # reads the same words again: the same evidence, counted once.
        if not any(f.start < sig.end and sig.start < f.end for f in found.values()):
            add(sig)

    # A term inside a longer term that also hit (购买 in 扫码购买) is the
    # same piece of evidence, not a second one: in order of start (longer
    # first at one start), a hit ending no later than one before it is inside it.
    hits = blocklists.snapshot.hits(norm, LIST)
    reach = -1
    for hit in sorted(hits, key=lambda h: (h.start, -h.end)):
        if hit.end <= reach:
            continue
        reach = hit.end
        if hit.term.term in found:
            continue
        attrs = hit.term.attrs
        kind = attrs.get("signal", "other")
        if _quoted(original, hit.start, hit.end):
            role = MENTION
        elif kind == "price":
            role = _price_role(folded, hit.start, hit.end)
        else:
            role = CAMPUS if attrs.get("anchor") == "no" else COMMERCE
        add(Signal(kind, hit.term.term, float(attrs.get("weight", 1.0)), hit.start, hit.end, role))
    *pattern_matches, area_matches = _all_matches(folded, original)
    for (kind, label, weight, _needles, _pattern), matches in zip(_PATTERNS, pattern_matches):
        # The first match is the evidence; a price counts as commerce when
        # any of its matches is offered rather than stated as policy.
        if not matches:
            continue
        first = matches[0]  # in order of position: the windows are sorted and disjoint
        role = COMMERCE
        if kind == "price" and not any(_price_role(folded, m.start(), m.end()) == COMMERCE for m in matches):
            role = MENTION
        add_pattern(Signal(kind, label, weight, first.start(), first.end(), role))
    tag = _sender_tag(original) if "【" in original else None
    if tag:
        # A sender signing off (…【某某教育】) is how advertisers end a
        # message; campus posts head their titles with 【讲座】.
        signs_off = tag.end() >= len(original.rstrip())
        add(Signal("sponsorship", "sender tag", 1.0, tag.start(), tag.end(), COMMERCE if signs_off else CAMPUS))
    area = area_matches[0] if area_matches else None
    if area:
        add_pattern(Signal("price", "price per area", 1.0, area.start(), area.end(),
                           _price_role(folded, area.start(), area.end())))
    link = _LINK.search(original) if ("http" in folded or "www" in folded) else None
    if link:
        add(Signal("shop_link", "link", 0.5, link.start(), link.end(), CAMPUS))
    for run in number_runs(norm):
        if mobile_number(run.digits):
            # Notices give a teacher's mobile for registration: in a campus
            # text a way to reach someone, not a sale.
            add(Signal("contact", "mobile number", 1.0, run.start, run.end, CAMPUS))
        elif 16 <= len(run.digits) <= 19 and run.digits.isdigit():
            add(Signal("payment", "bank card number", 1.5, run.start, run.end))
        elif run.digits.startswith("0") or 7 <= len(run.digits) <= 8:
            add(Signal("contact", "phone number", 0.5, run.start, run.end, CAMPUS))
        else:
            continue
        if _SALES_TITLE.search(original, max(0, run.start - 8), run.start) or _SALES_TITLE.search(
            original, run.end, run.end + 6
        ):
            add(Signal("contact", "salesperson's number", 1.0, run.start, run.end))
    per_kind: dict[str, float] = {}
    weak = 0.0
    for sig in found.values():
        # Weak contact words (联系人, 电话) go with the numbers they announce,
        # under the contact cap, not into the weak pile.
        if sig.weight < STRONG and sig.kind not in KIND_CAPS:
            weak += sig.weight
        else:
            per_kind[sig.kind] = per_kind.get(sig.kind, 0.0) + sig.weight
    caps = dict(KIND_CAPS)
    if any(s.kind == "contact" and s.weight >= 1.5 and s.role == COMMERCE for s in found.values()):
        # 加微信, vx, V信: a contact only a seller gives is more than a way
        # to reach someone, and a number with it is a second piece.
        caps["contact"] = KIND_CAP
    # Weak words pile up in any long article about the economy: they count
    # by their density (per WEAK_SPAN characters), and together at most
    # WEAK_CAP, so they may tip a draft over but never carry a long one.
    density = min(1.0, WEAK_SPAN / max(1, len(norm.compact)))
    kinds = len({s.kind for s in found.values() if s.role != MENTION})
    total = round(
        sum(min(caps.get(k, KIND_CAP), v) for k, v in per_kind.items())
        + min(WEAK_CAP, weak * density)
        + DIVERSITY * max(0, kinds - 2) * density,
        3,
    )
    ordered = tuple(sorted(found.values(), key=lambda s: s.start))
    return Score(total, ordered, bool(_CAMPUS_WORDS.search(norm.compact)))


class CommercialChecker:
    name = NAME
    version = "1.0"
    description = "commercial content: prices, calls to buy, shop links, selling contacts, sponsorship (art. 12)"

    def __init__(self, blocklists: BlocklistStore, settings: dict[str, Any] | None = None) -> None:
        self.blocklists = blocklists
        self.threshold = float((settings or {}).get("threshold", THRESHOLD))

    def check(self, draft: Draft) -> list[Finding]:
        text = draft.screened_text
        result = score(normalize(text), self.blocklists)
        if not result.flags(self.threshold):
            return []
        permitted = draft.account.permits.commercial
        severity = Severity.INFO if permitted else Severity.REVIEW
        strongest = max(result.signals, key=lambda s: (s.weight, -s.start))
        listed = "; ".join(f"{s.kind}: {s.label}" for s in result.signals[:12])
        message = (
            f"commercial content (score {result.total:g}, threshold {self.threshold:g}): {listed}"
            + (" — the account holds the commercial permit" if permitted else " — needs sign-off (art. 12)")
        )
        return [
            Finding.text_match(
                NAME, "commercial_content", severity, message,
                term=strongest.label, start=strongest.start, end=strongest.end, text=text,
                score=result.total, threshold=self.threshold,
                signals=[s.to_json() for s in result.signals],
            )
        ]


@hookimpl
def register_checkers(gateway: Any) -> list[CommercialChecker]:
    service = setup_service(gateway)
    return [CommercialChecker(service, gateway.plugin_settings(NAME))]
