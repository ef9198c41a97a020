"""Checker ``embargo``: admin-defined topics only the publicity department may announce.

Regulation article 14: major news and major matters are announced only by
the publicity department. While an embargo is in force (after its optional
start, before its end, not lifted) a draft naming its topic, by any of its
alternatives (a group of parts must occur in one sentence), is blocked,
unless the account is exempt or one of the department's ``official``
accounts. The finding names the topic and when the embargo lifts.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any, Callable

from gateway.embargoes import EmbargoStore, setup_service
from gateway.hookspecs import hookimpl
from gateway.model import Draft, Finding, Severity
from gateway.text import normalize

NAME = "embargo"


class EmbargoChecker:
    name = NAME
    version = "1.0"
    description = "embargoed topics only the publicity department may announce (art. 14)"

    def __init__(self, embargoes: EmbargoStore, clock: Callable[[], datetime] | None = None) -> None:
        self.embargoes = embargoes
        self.clock = clock or (lambda: datetime.now(timezone.utc))

    def check(self, draft: Draft) -> list[Finding]:
        snapshot = self.embargoes.snapshot
        applicable = snapshot.applicable(draft.account.id, draft.account.official, self.clock())
        if not applicable:
            return []
        text = draft.screened_text
        findings = []
        for match in snapshot.matches(normalize(text), applicable):
            e = match.embargo
            lifts = e.lifts_at.isoformat()
            findings.append(
                Finding.text_match(
                    NAME, "embargoed_topic", Severity.BLOCK,
                    f"topic {e.topic!r} is under embargo until {lifts}: only the publicity department "
                    "may announce it (art. 14)",
                    term="+".join(match.alternative), start=match.start, end=match.end, text=text,
                    topic=e.topic, embargo_id=e.id, lifts_at=lifts,
                )
            )
        return findings


@hookimpl
def register_checkers(gateway: Any) -> list[EmbargoChecker]:
    service = setup_service(gateway)
    return [EmbargoChecker(service)]
