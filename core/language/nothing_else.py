"""Short replies that steer the dialogue: "nothing else", yes and no.

Coaching loops ask "what else?" until the person runs dry, and confirmations ask
"is that right?". These helpers decide when such a reply is a signal rather than
content. They match the *whole* reply, so a real answer that merely contains
"no" or "done" ("no budget for marketing", "get it done by Friday") is kept as content.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["is_no", "is_nothing_else", "is_yes"]

_APOSTROPHES = re.compile(r"['’‘`´]")
# Skin tones and variation selectors, so 👍🏽 and ✔️ count as 👍 and ✔.
_EMOJI_MODIFIERS = re.compile("[\ufe0e\ufe0f\U0001f3fb-\U0001f3ff]")
_WHITESPACE = re.compile(r"\s+")


def _words(text: str) -> str:
    """Lower-case words only: apostrophes dropped ("that's" -> "thats"), other marks
    and emoji turned into spaces, "/" kept for "n/a"."""
    text = _APOSTROPHES.sub("", unicodedata.normalize("NFKC", text).casefold())
    kept = "".join(ch if ch.isalnum() or ch == "/" else " " for ch in text)
    return _WHITESPACE.sub(" ", kept).strip(" /")


def _symbols(text: str) -> list[str]:
    """The emoji/symbols of a reply that has no words in it, one per character."""
    text = _EMOJI_MODIFIERS.sub("", text)
    return [ch for ch in text if not ch.isspace()]


def _alternatives(*phrases: str) -> str:
    return "|".join(re.escape(p) for p in sorted(phrases, key=len, reverse=True))


_NOTHING_CORE = _alternatives(
    "nothing",
    "nothing else",
    "nothing more",
    "nothing further",
    "nothing to add",
    "nothing else to add",
    "nothing else comes to mind",
    "no",
    "nope",
    "nah",
    "no more",
    "none",
    "not really",
    "n/a",
    "na",
    "done",
    "im done",
    "i am done",
    "all done",
    "thats all",
    "that is all",
    "thats everything",
    "that is everything",
    "thats it",
    "that is it",
    "thats about it",
    "thats all i have",
    "thats all i got",
    "i think thats it",
    "i think thats all",
)
_NOTHING = re.compile(
    rf"^(?:(?:no|nope|nah|ok|okay|um|umm|hmm|well)\s+)?"
    rf"(?:{_NOTHING_CORE})"
    rf"(?:\s+(?:thanks|thank you|thx|for now|really|at all|right now))*$"
)

_YES_WORDS = frozenset(
    {
        "yes",
        "y",
        "yeah",
        "yea",
        "yep",
        "yup",
        "sure",
        "correct",
        "right",
        "thats right",
        "that is right",
        "thats correct",
        "that is correct",
        "yes thats right",
        "yes please",
        "ok",
        "okay",
        "exactly",
        "absolutely",
        "definitely",
    }
)
_YES_SYMBOLS = frozenset({"👍", "✅", "✔", "☑", "👌"})

_NO_WORDS = frozenset(
    {
        "no",
        "n",
        "nope",
        "nah",
        "not really",
        "not quite",
        "wrong",
        "thats wrong",
        "that is wrong",
        "incorrect",
        "no thanks",
    }
)
_NO_SYMBOLS = frozenset({"👎", "❌", "✖", "🚫"})


def is_nothing_else(text: str) -> bool:
    """True when a reply inside a "what else?" loop means the person has nothing to add.

    An empty reply, or one with no words at all ("-", "👍", "🤷"), also ends the loop:
    it carries no item to record. "that's it" followed by more words is a real answer.
    """
    words = _words(text)
    if not words:
        return True
    return _NOTHING.fullmatch(words) is not None


def is_yes(text: str) -> bool:
    """True when a reply confirms a read-back ("yes", "yep", "👍")."""
    words = _words(text)
    if words:
        return words in _YES_WORDS
    symbols = _symbols(text)
    return bool(symbols) and all(s in _YES_SYMBOLS for s in symbols)


def is_no(text: str) -> bool:
    """True when a reply rejects a read-back ("no", "nope", "👎"), so the bot asks again."""
    words = _words(text)
    if words:
        return words in _NO_WORDS
    symbols = _symbols(text)
    return bool(symbols) and all(s in _NO_SYMBOLS for s in symbols)
