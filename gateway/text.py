"""Shared text machinery for text checkers: visible text of HTML bodies.

(The normalisation, matching and jieba filter follow in this module.)
"""

from __future__ import annotations

from html.parser import HTMLParser

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
