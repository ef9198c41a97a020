"""draftgate: a pre-publication screening gateway for official new-media accounts."""

from __future__ import annotations

__version__ = "0.1.0"
