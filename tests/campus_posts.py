"""The hand-written campus and selling posts of ``tests/data/campus_posts.txt``.

Shared by the commercial checker's tests and ``bench/text_eval.py``.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple


class Post(NamedTuple):
    kind: str  # "campus" (must pass) or "commercial" (must be flagged)
    title: str
    body: str


def load_posts(path: Path = Path(__file__).parent / "data" / "campus_posts.txt") -> list[Post]:
    """The hand-written posts of ``tests/data/campus_posts.txt`` (format in its header)."""
    posts: list[Post] = []
    current: list[str] | None = None
    kind = title = ""
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.startswith("#"):
            continue
        if line.startswith("=== "):
            if current is not None:
                posts.append(Post(kind, title, "\n".join(current).strip()))
            head, _, title = line[4:].partition(":")
            kind, title, current = head.strip(), title.strip(), []
        elif current is not None:
            current.append(line)
    if current is not None:
        posts.append(Post(kind, title, "\n".join(current).strip()))
    assert {p.kind for p in posts} <= {"campus", "commercial"}
    return posts
