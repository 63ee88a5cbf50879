"""Clean-language echo: hand a person's own words back to them inside the next question.

Clean Language coaching keeps the client's exact words, so the bot repeats what was
said instead of paraphrasing it. Only the point of view changes ("I" becomes "you"),
because the echo is embedded mid-sentence in the bot's reply, e.g.
``f"And when {echo(answer)}, what happens next?"``.
"""

from __future__ import annotations

import re

__all__ = ["echo", "quote"]

# A "word" boundary that also treats apostrophes and hyphens as part of a word, so that
# "I-beam", "me-time" and "mine's" stay untouched.
_BEFORE = r"(?<![\w'’‘-])"
_AFTER = r"(?![\w'’‘-])"
_APOSTROPHE = r"(?P<apos>['’‘])"

# Order matters: multi-word and contracted forms must win over the bare pronoun.
_PATTERN = re.compile(
    _BEFORE
    + r"(?:"
    + r"(?P<i_am>i\s+am)"
    + r"|(?P<i_was>i\s+was)"
    + r"|(?P<am_i>am\s+i)"
    + r"|(?P<was_i>was\s+i)"
    + r"|(?P<contraction>i"
    + _APOSTROPHE
    + r"(?P<suffix>m|ve|ll|d))"
    + r"|(?P<myself>myself)"
    + r"|(?P<mine>mine)"
    + r"|(?P<my>my)"
    + r"|(?P<me>me)"
    + r"|(?P<i>i)"
    + r")"
    + _AFTER,
    re.IGNORECASE,
)

_CONTRACTIONS = {"m": "re", "ve": "ve", "ll": "ll", "d": "d"}

_PLAIN = {
    "i_am": "you are",
    "i_was": "you were",
    "am_i": "are you",
    "was_i": "were you",
    "myself": "yourself",
    "mine": "yours",
    "my": "your",
    "me": "you",
    "i": "you",
}

_WHITESPACE = re.compile(r"\s+")
_TRAILING_PUNCTUATION = ".!?,;:…"
_ELLIPSIS = "…"


def _shift(match: re.Match[str]) -> str:
    kind = match.lastgroup
    if kind == "contraction" or kind == "suffix":
        # The person's own apostrophe is kept, so curly quotes stay curly.
        suffix = match.group("suffix").lower()
        return f"you{match.group('apos')}{_CONTRACTIONS[suffix]}"
    assert kind is not None
    return _PLAIN[kind]


def _tidy(text: str) -> str:
    collapsed = _WHITESPACE.sub(" ", text).strip()
    return collapsed.rstrip(_TRAILING_PUNCTUATION + " ")


def echo(text: str) -> str:
    """The person's words from the bot's point of view, ready to embed in a question.

    Pronouns are always lower-case, even at the start, because the echo sits inside a
    sentence; every other word keeps the person's capitalisation (names, "March").
    "you"/"your" in the person's words are left alone: flipping them back would turn
    a quoted "you" into "I" and confuse who said what.
    """
    return _PATTERN.sub(_shift, _tidy(text))


def quote(text: str, limit: int = 200) -> str:
    """An echo short enough to read back a long answer without drowning the question.

    Cuts at a word boundary and marks the cut with "…"; the result is never longer
    than ``limit`` characters.
    """
    if limit < 1:
        raise ValueError("limit must be at least 1 character")
    echoed = echo(text)
    if len(echoed) <= limit:
        return echoed
    room = limit - len(_ELLIPSIS)
    head = echoed[: room + 1]
    cut = head.rfind(" ")
    head = head[:cut] if cut > 0 else echoed[:room]
    head = head.rstrip(_TRAILING_PUNCTUATION + " ")
    return f"{head}{_ELLIPSIS}"
