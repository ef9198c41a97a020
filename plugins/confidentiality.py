"""Checker ``confidentiality``: secrecy markings, internal-only notices, personal data.

Regulation article 12: no classified or secret information. Blocks drafts
that carry secrecy markings as they appear in Chinese documents (绝密, 机密
as markings, 机密★5年, 绝密★启用前, 密级, 涉密, 内部资料 注意保密 …) from
the admin-editable blocklist ``confidentiality``, plus resident identity card
numbers (validated by their check digit; ``block``) and mobile phone numbers
(``review``), however they are written (全角, Chinese numerals, separators).
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from gateway.blocklists import BlocklistStore, setup_service
from gateway.hookspecs import hookimpl
from gateway.model import Draft, Finding, Severity
from gateway.text import is_resident_id, jieba_tokenizer, mobile_number, normalize, number_runs

NAME = "confidentiality"
LIST = "confidentiality"

# A marking, a star and a period of secrecy, as printed on classified
# documents and examination papers. Matched on ``Normalized.digits`` (spaces
# already gone) so that 机密★五年 and 機密☆5年 count; the star itself makes it
# a marking, so no word-boundary filter applies.
_MARKING_PERIOD = re.compile(
    r"(绝密|机密|秘密)[★☆](?:[0-9十]+(?:年|个月|月|天|日)|长期|启用前|启用)?"
)


@lru_cache(maxsize=4096)
def _message(term: str) -> str:
    # A draft repeats its terms (and 10,000-term lists repeat across drafts):
    # the message of a term is built once.
    return f"{term!r}: classified or internal-only material must not be published (art. 12)"


class ConfidentialityChecker:
    name = NAME
    version = "1.0"
    description = "secrecy markings, internal-only notices, identity card and mobile numbers (art. 12)"

    def __init__(self, blocklists: BlocklistStore, settings: dict[str, Any] | None = None) -> None:
        self.blocklists = blocklists
        settings = settings or {}
        self.id_severity = Severity(settings.get("id_card_severity", "block"))
        self.mobile_severity = Severity(settings.get("mobile_severity", "review"))

    def check(self, draft: Draft) -> list[Finding]:
        text = draft.screened_text
        norm = normalize(text)
        findings: list[Finding] = []
        for hit in self.blocklists.snapshot.hits(norm, LIST):
            term = hit.term
            findings.append(
                Finding.text_match(
                    NAME, term.attrs.get("rule", "secrecy_term"), hit.severity, _message(term.term),
                    term=term.term, start=hit.start, end=hit.end, text=text,
                )
            )
        if "★" in norm.compact or "☆" in norm.compact:
            for m in _MARKING_PERIOD.finditer(norm.digits):
                start, end = norm.to_original(m.start(), m.end())
                findings.append(
                    Finding.text_match(
                        NAME, "secrecy_marking", Severity.BLOCK,
                        f"secrecy marking {text[start:end]!r}: classified material must not be published (art. 12)",
                        term=m.group(), start=start, end=end, text=text,
                    )
                )
        for run in number_runs(norm):
            if is_resident_id(run.digits):
                findings.append(
                    Finding.text_match(
                        NAME, "id_card_number", self.id_severity,
                        "a resident identity card number: personal data must not be published",
                        term="<identity card number>", start=run.start, end=run.end, text=text,
                    )
                )
            elif mobile_number(run.digits):
                findings.append(
                    Finding.text_match(
                        NAME, "mobile_number", self.mobile_severity,
                        "a mobile phone number: publish personal numbers only with consent",
                        term="<mobile number>", start=run.start, end=run.end, text=text,
                    )
                )
        return findings


def _warm_up() -> None:
    normalize("")  # builds the folding tables
    jieba_tokenizer()  # loads jieba's dictionary (about half a second, once per process)


@hookimpl
async def startup(gateway: Any) -> None:
    # Off the event loop, before the first draft: its boundary checks then
    # never pay for loading the dictionary inside the checker's time limit.
    await gateway.run_cpu(_warm_up)


@hookimpl
def register_checkers(gateway: Any) -> list[ConfidentialityChecker]:
    service = setup_service(gateway)
    return [ConfidentialityChecker(service, gateway.plugin_settings(NAME))]
