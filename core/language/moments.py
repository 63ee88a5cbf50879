"""Noticing a breakthrough moment in a reply, so the bot can slow down and honour it.

Coaches watch for verbal signs ("Oh!", "I see!", "That's it!", "I get it now!") and
emotional ones (tears, laughter). When one shows up, the next question should explore
it ("What just became clear?") rather than march on through the script.

The cues are deliberately narrow: "I see my manager on Tuesday" and "Oh no, the build
broke" are everyday speech, and a false "breakthrough" feels patronising. A missed one
only costs a follow-up question the person can still volunteer.

Precedence, when one reply carries several signs: **action > insight > awareness >
emotional**. A breakthrough tends to run awareness -> insight -> action, and the bot
should meet the person at the furthest point they have reached (capture the commitment,
then the insight); tears and laughter usually accompany one of the others, so they win
only when they stand alone.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

__all__ = ["MomentSign", "MomentType", "detect_moment"]

MomentType = Literal["awareness", "insight", "emotional", "action"]


@dataclass(frozen=True, slots=True, kw_only=True)
class MomentSign:
    """A breakthrough sign: what kind, and the person's own words or emoji that showed it."""

    type: MomentType
    cue: str


_I = r"\bi"
_IM = r"\bi(?:'m|\s+am)"
_IVE = r"\bi(?:'ve|\s+have)"
_S = r"\s+"  # one or more spaces between words
_END = r"(?=\s*(?:[!.,?;:…—–-]|$))"  # the cue ends the reply or a clause
_REALISE = r"reali[sz]ed?"

_EMOJI_TEARS = "😢😭🥲🥹"
_EMOJI_LAUGHTER = "😂🤣"

_PATTERNS: tuple[tuple[MomentType, tuple[str, ...]], ...] = (
    (
        "action",
        (
            rf"{_IM}{_S}(?:going{_S}to|gonna){_S}do{_S}(?:it|this|that)\b",
            rf"{_I}(?:'ll|{_S}will){_S}do{_S}(?:it|this)\b",
            rf"{_IVE}{_S}(?:decided|made{_S}(?:up{_S}my{_S}mind|a{_S}decision))\b",
            rf"{_I}{_S}(?:just{_S})?decided{_S}to\b",
            rf"\bmy{_S}mind{_S}is{_S}made{_S}up\b",
            rf"{_I}{_S}(?:now{_S})?know{_S}(?:exactly{_S})?what{_S}"
            rf"(?:to|i{_S}(?:need|have|want){_S}to){_S}do\b",
            rf"\bnow{_S}i{_S}know{_S}what{_S}to{_S}do\b",
            rf"{_IM}{_S}(?:finally{_S})?ready{_S}to\b",
            rf"{_IM}{_S}committ(?:ing|ed){_S}to\b",
            rf"\blet's{_S}do{_S}(?:this|it)\b",
            rf"\bno{_S}more{_S}excuses\b",
        ),
    ),
    (
        "insight",
        (
            # "Oh!", "Oh wow", "Oh, I see", "Oh right", "Oh… that's it"; not "oh no", "oh well".
            rf"\bo+h+(?:\s*!|\s*(?:\.\.\.|…)|[,.]?{_S}(?:wow|i{_S}see|right|that's{_S}it)\b)",
            r"\ba+-?h+a+\b!?",
            r"\bah-ha\b!?",
            rf"\bthat's{_S}(?:it\s*!|exactly{_S}it\b|it{_S}exactly\b)",
            rf"{_I}{_S}(?:finally{_S})?get{_S}it{_S}now\b|\bnow{_S}i{_S}get{_S}it\b",
            rf"{_I}{_S}(?:finally{_S}get{_S}it|get{_S}it\s*!)",
            rf"{_I}{_S}(?:finally{_S}understand|understand{_S}now)\b|\bnow{_S}i{_S}understand\b",
            rf"\b(?:it|that|something){_S}(?:just{_S})?(?:clicked|clicks)\b",
            rf"\b(?:it|that|this){_S}(?:all{_S})?makes{_S}(?:so{_S}much{_S})?sense{_S}now\b",
            rf"\bnow{_S}it{_S}(?:all{_S})?makes{_S}sense\b",
            rf"\bit{_S}all{_S}makes{_S}sense\b",
            rf"\bthe{_S}penny{_S}(?:has{_S}|just{_S})*dropped\b",
            rf"\blight\s*bulb(?:{_S}moment|{_S}(?:just{_S})?(?:went|came|switched){_S}on|{_END})",
            r"\beureka\b",
            rf"\bnever{_S}(?:thought{_S}of|looked{_S}at){_S}it{_S}(?:like{_S}that|that{_S}way)\b",
            "💡",
        ),
    ),
    (
        "awareness",
        (
            # "I see" alone, or before punctuation / now / it / that / why / how / what.
            rf"{_I}{_S}(?:can{_S})?see(?:{_S}(?:now|that|why|how|what)\b|{_S}it{_END}"
            rf"|{_S}it{_S}(?:now|clearly)\b|{_END})",
            rf"\bnow{_S}i{_S}(?:can{_S})?see\b",
            rf"{_I}(?:'ve|'d|{_S}had|{_S}have)?{_S}never{_S}(?:noticed|{_REALISE}|seen{_S}it)\b",
            rf"{_I}{_S}(?:hadn't|had{_S}not){_S}(?:noticed|{_REALISE})\b",
            rf"{_I}(?:'ve)?{_S}just{_S}{_REALISE}\b",
            rf"{_I}{_S}(?:{_REALISE}{_S}now|now{_S}{_REALISE})\b",
            rf"{_I}{_S}didn't{_S}{_REALISE}{_S}(?:until{_S}now|how{_S}much)\b",
            rf"{_I}{_S}(?:notice|can{_S}see|see){_S}(?:that{_S})?i{_S}(?:always|never|keep)\b",
            rf"{_IM}{_S}noticing{_S}(?:that{_S})?i\b",
            rf"\bblind{_S}spot\b",
        ),
    ),
    (
        "emotional",
        (
            f"[{_EMOJI_TEARS}{_EMOJI_LAUGHTER}]+",
            rf"{_IM}{_S}(?:in{_S}tears|crying|tearing{_S}up|welling{_S}up)\b",
            rf"\b(?:brought|moved){_S}(?:me{_S})?to{_S}tears\b|\bmade{_S}me{_S}cry\b",
            rf"{_I}{_S}(?:feel|am|felt){_S}(?:so{_S}|really{_S}|very{_S}|such{_S})?relieved\b",
            rf"{_IM}{_S}(?:so{_S}|really{_S})?relieved\b",
            rf"\b(?:what|such){_S}a{_S}relief\b",
            rf"\b(?:a{_S})?weight{_S}(?:off{_S}my{_S}shoulders|has{_S}lifted|lifted)\b",
            rf"{_I}{_S}(?:can't|cannot){_S}stop{_S}laughing\b",
            r"\bgoosebumps\b",
        ),
    ),
)

_COMPILED: tuple[tuple[MomentType, tuple[re.Pattern[str], ...]], ...] = tuple(
    (kind, tuple(re.compile(p, re.IGNORECASE) for p in patterns)) for kind, patterns in _PATTERNS
)

# Same length as the original, so match positions point at the person's own text.
_STRAIGHT = str.maketrans({"’": "'", "‘": "'", "`": "'", "´": "'"})


def detect_moment(text: str) -> MomentSign | None:
    """The breakthrough sign in a reply, or ``None`` for ordinary speech.

    ``cue`` quotes the person's text exactly (their apostrophes and capitals), so the
    bot can reflect it back ("You said 'it clicked' — what clicked?").
    """
    searchable = text.translate(_STRAIGHT)
    for kind, patterns in _COMPILED:
        matches = [m for m in (p.search(searchable) for p in patterns) if m is not None]
        if matches:
            first = min(matches, key=lambda m: m.start())
            return MomentSign(type=kind, cue=text[first.start() : first.end()].strip())
    return None
