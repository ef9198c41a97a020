"""Example third-party checker: holds drafts that hide their links behind URL shorteners.

A shortened link (t.cn, dwz.cn, bit.ly, …) hides where readers are sent, so
the responsible person should see where it goes before the post goes out.
Load it with ``draftgate serve --plugins-dir examples/plugins``.
"""

from __future__ import annotations

import re

from gateway.hookspecs import hookimpl
from gateway.model import Draft, Finding, Severity

SHORTENERS = ("t.cn", "dwz.cn", "url.cn", "bit.ly", "tinyurl.com", "suo.im", "w.url.cn")
LINK = re.compile(r"https?://(?:www\.)?(" + "|".join(re.escape(d) for d in SHORTENERS) + r")/[\w\-./?=&%]+", re.IGNORECASE)


class ShortLinkChecker:
    name = "short_links"
    version = "1.0"
    description = "Flags links hidden behind URL shorteners for review"

    def check(self, draft: Draft) -> list[Finding]:
        text = draft.screened_text
        return [
            Finding.text_match(self.name, "shortened_link", Severity.REVIEW,
                               f"link through the shortener {m.group(1)}: check where it leads",
                               term=m.group(1), start=m.start(), end=m.end(), text=text)
            for m in LINK.finditer(text)
        ]


@hookimpl
def register_checkers(gateway: object) -> list[ShortLinkChecker]:
    return [ShortLinkChecker()]
