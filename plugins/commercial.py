"""Checker ``commercial``: unlicensed commercial content, as an explained score.

Regulation article 12: no unlicensed commercial activity. Signals (calls to
buy, offers and prices, shop and mini-program links, selling contacts,
sponsorship markers) come from the admin-editable blocklist ``commercial``
(each term has a ``signal`` kind and a ``weight``) and from the patterns
below (prices, discounts, links, phone numbers). Each distinct piece of
evidence counts once, each kind at most ``KIND_CAP``, all weak signals
together at most ``WEAK_CAP``; a draft is flagged
only when the sum reaches the threshold *and* at least two distinct pieces
of evidence fired, so one stray word (a news story quoting a price) never
flags a draft on its own. Severity ``review``, ``info`` for accounts with the
``commercial`` permit; the finding lists every signal that fired.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from gateway.blocklists import BlocklistStore, setup_service
from gateway.hookspecs import hookimpl
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

# Patterns over ``Normalized.folded`` (same length as the original text;
# fillers such as '.' and spaces are NUL there, hence the \x00 in them).
_N = r"[0-9][0-9\x00,]*"
# Each pattern comes with the strings one of which it cannot match without:
# checking those with ``in`` first skips the regex scan on most drafts.
_PATTERNS: tuple[tuple[str, str, float, tuple[str, ...], re.Pattern[str]], ...] = (
    ("price", "price", 1.0, ("元", "块钱", "rmb", "¥", "$", "€", "£"),
     re.compile(r"[¥$€£]\x00*[0-9]|" + _N + r"\x00*(?:元|块钱|rmb)(?![\u4e00-\u9fff]{0,2}年)")),
    ("price", "price tag", 1.0, ("价", "售", "只要", "低至"),
     re.compile(r"(?:售价|价格|定价|单价|仅售|只要|低至|特价)[\x00:：]*[0-9]")),
    ("offer", "discount", 1.0, ("折", "半价"),
     re.compile(r"[0-9](?:\x00?[0-9])?\x00*折(?!扣|磨|腾|叠|服|射|断)|[一二三四五六七八九]折(?!扣|磨|腾|叠|服|射|断)|半价")),

    # A salesperson introducing themselves: 我是XX公司的小陈 / 我是XX的李经理
    ("contact", "sales introduction", 1.0, ("我是",),
     re.compile(r"我是[^，。！？\n]{1,16}的(?:小[\u4e00-\u9fff]|[\u4e00-\u9fff](?:经理|老师|总|顾问|专员))")),
    ("offer", "buy-get", 1.0, ("送", "减"),
     re.compile(r"买[0-9一二三]+送[0-9一二三]+|满[0-9]+\x00*减[0-9]+")),
)
# 5555元/平米, 1.2万元/㎡: housing ads (on the original text: '/' and ㎡ are fillers in the folded view).
_PRICE_PER_AREA = re.compile(r"\d\s*万?\s*元?\s*(?:/|每)\s*(?:平|㎡|m2)")
# A sender's tag opening or closing a message (【某某教育】…), as ads carry.
_SENDER_TAG = re.compile(r"^\s*【[^】\n]{2,16}】|【[^】\n]{2,16}】\s*$")
_LINK = re.compile(r"https?://\S+|www\.\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Signal:
    kind: str
    label: str
    weight: float
    start: int
    end: int

    def to_json(self) -> dict[str, Any]:
        return {"signal": self.kind, "evidence": self.label, "weight": self.weight, "start": self.start, "end": self.end}


@dataclass(frozen=True)
class Score:
    total: float
    signals: tuple[Signal, ...]  # one per distinct piece of evidence, first occurrence

    def flags(self, threshold: float) -> bool:
        return self.total >= threshold and len(self.signals) >= 2


def score(norm: Normalized, blocklists: BlocklistStore) -> Score:
    """Every commercial signal in ``norm`` and the combined score."""
    found: dict[str, Signal] = {}

    def add(sig: Signal) -> None:
        if sig.label not in found:
            found[sig.label] = sig

    # A term inside a longer term that also hit (购买 in 扫码购买) is the
    # same piece of evidence, not a second one. Spans are indexed by start
    # so the check looks only at the few starts a containing term can have.
    hits = blocklists.snapshot.hits(norm, LIST)
    longest: dict[int, int] = {}
    for h in hits:
        if h.end > longest.get(h.start, -1):
            longest[h.start] = h.end
    reach = max((h.end - h.start for h in hits), default=0)
    for hit in sorted(hits, key=lambda h: h.start):
        if hit.term.term in found:
            continue
        contained = any(
            longest.get(s, -1) >= hit.end and (s, longest[s]) != (hit.start, hit.end)
            for s in range(max(0, hit.end - reach), hit.start + 1)
        )
        if contained:
            continue
        attrs = hit.term.attrs
        add(Signal(attrs.get("signal", "other"), hit.term.term, float(attrs.get("weight", 1.0)), hit.start, hit.end))
    folded = norm.folded
    for kind, label, weight, needles, pattern in _PATTERNS:
        if any(n in folded for n in needles):
            m = pattern.search(folded)
            if m:
                add(Signal(kind, label, weight, m.start(), m.end()))
    original = norm.original
    tag = _SENDER_TAG.search(original) if "【" in original else None
    if tag:
        add(Signal("sponsorship", "sender tag", 1.0, tag.start(), tag.end()))
    area = _PRICE_PER_AREA.search(original) if ("平" in original or "㎡" in original) else None
    if area:
        add(Signal("price", "price per area", 1.0, area.start(), area.end()))
    link = _LINK.search(original) if ("http" in folded or "www" in folded) else None
    if link:
        add(Signal("shop_link", "link", 0.5, link.start(), link.end()))
    for run in number_runs(norm):
        if mobile_number(run.digits):
            add(Signal("contact", "mobile number", 1.0, run.start, run.end))
        elif 16 <= len(run.digits) <= 19 and run.digits.isdigit():
            add(Signal("payment", "bank card number", 1.5, run.start, run.end))
        elif run.digits.startswith("0") or 7 <= len(run.digits) <= 8:
            add(Signal("contact", "phone number", 0.5, run.start, run.end))
    per_kind: dict[str, float] = {}
    weak = 0.0
    for sig in found.values():
        if sig.weight < STRONG:
            weak += sig.weight
        else:
            per_kind[sig.kind] = per_kind.get(sig.kind, 0.0) + sig.weight
    # Weak words pile up in any long article about the economy: they count
    # by their density (per WEAK_SPAN characters), and together at most
    # WEAK_CAP, so they may tip a draft over but never carry a long one.
    density = min(1.0, WEAK_SPAN / max(1, len(norm.compact)))
    total = round(
        sum(min(KIND_CAPS.get(k, KIND_CAP), v) for k, v in per_kind.items()) + min(WEAK_CAP, weak * density), 3
    )
    ordered = tuple(sorted(found.values(), key=lambda s: s.start))
    return Score(total, ordered)


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
    service = gateway.services.get("blocklists") or setup_service(gateway)
    return [CommercialChecker(service, gateway.plugin_settings(NAME))]
