"""Publish target weibo (being written for issue 6)."""

from __future__ import annotations
