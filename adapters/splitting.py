"""Splitting long text into pieces a chat platform accepts, losing nothing.

Slack caps a section at 3,000 characters and Discord a message at 2,000; a person's long
answer or a long plan must arrive whole, in several pieces, never cut short. Both
adapters split the same way and differ only in how a piece is measured (Slack counts the
text after escaping), so the cutting lives here once.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable

__all__ = ["ZWJ", "longest_fit", "split", "utf16_size"]

ZWJ = "\u200d"
"""The zero-width joiner: it glues emoji sequences (and Slack's escaping uses it)."""

Measure = Callable[[str], int]


def utf16_size(text: str) -> int:
    """How long the platforms count ``text``: in UTF-16 units, never fewer than ``len``.

    Their limits are enforced by JavaScript-like counting, where an emoji outside the
    Basic Multilingual Plane counts twice; counting that way keeps us under the limit
    whichever way they count.
    """
    return len(text.encode("utf-16-le")) // 2


def split(text: str, limit: int, *, size: Measure = utf16_size) -> list[str]:
    """``text`` in pieces with ``size(piece) <= limit``; ``"".join`` restores it exactly.

    Cuts after the last line break that fits, else after the last whitespace, else at the
    longest prefix that fits (moved back so as not to separate a character from a
    combining mark or joiner that follows it). Line breaks and spaces stay at the end of
    the piece before the cut. ``size`` must never be less than ``len`` and must allow at
    least one character in ``limit``.
    """
    pieces: list[str] = []
    rest = text
    while rest and (len(rest) > limit or size(rest) > limit):
        cut = _cut(rest, limit, size)
        pieces.append(rest[:cut])
        rest = rest[cut:]
    if rest:
        pieces.append(rest)
    return pieces


def longest_fit(text: str, limit: int, size: Measure = utf16_size) -> int:
    """The length of the longest prefix of ``text`` with ``size`` within ``limit``."""
    lo, hi = 0, min(len(text), limit)  # size >= length, so never beyond ``limit``
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if size(text[:mid]) <= limit:
            lo = mid
        else:
            hi = mid - 1
    return lo


def _cut(text: str, limit: int, size: Measure) -> int:
    n = longest_fit(text, limit, size)
    if n < 1:
        raise ValueError("limit must leave room for at least one character")
    prefix = text[:n]
    line = prefix.rfind("\n")
    if line >= 0:
        return line + 1
    for i in range(n - 1, -1, -1):
        if prefix[i].isspace():
            return i + 1
    hard = n  # n < len(text) here
    while hard > 1 and _clings(text[hard - 1], text[hard]):
        hard -= 1
    return n if _clings(text[hard - 1], text[hard]) else hard


def _clings(before: str, after: str) -> bool:
    """Whether cutting between ``before`` and ``after`` would tear one visible character."""
    return (
        before == ZWJ
        or after in (ZWJ, "\ufe0f", "\ufe0e")
        or unicodedata.combining(after) != 0
        or 0x1F3FB <= ord(after) <= 0x1F3FF  # skin-tone modifiers
    )
