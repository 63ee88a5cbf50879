"""The words of the dialogue core: echoing, short replies, deadlines, breakthrough moments.

Pure functions over text (and a ``now`` passed in), free of any platform or storage,
so every adapter and every test hears the person the same way.
"""

from __future__ import annotations

from core.language.deadlines import (
    DEFAULT_DUE_TIME,
    Deadline,
    DeadlineProblem,
    UnknownTimeZone,
    parse_deadline,
    parse_time_of_day,
    read_back,
    zone,
)
from core.language.echo import echo, quote
from core.language.moments import MomentSign, MomentType, detect_moment
from core.language.nothing_else import is_no, is_nothing_else, is_yes

__all__ = [
    "DEFAULT_DUE_TIME",
    "Deadline",
    "DeadlineProblem",
    "MomentSign",
    "MomentType",
    "UnknownTimeZone",
    "detect_moment",
    "echo",
    "is_no",
    "is_nothing_else",
    "is_yes",
    "parse_deadline",
    "parse_time_of_day",
    "quote",
    "read_back",
    "zone",
]
