"""Reading ``/breakthrough <text>``: which subcommand a person meant, and the words after it.

A slash command is typed from memory, often in a hurry, so reading it is forgiving: case,
``-``/``_``, a stray leading ``/`` and a few natural variants ("7-step", "check-in",
"setting", "?") all land on the same subcommand. A word we do not know is never guessed
at (``/breakthrough delete`` must not become ``forget``): it becomes ``help``, carrying
the word so the reply can say "I don't know “delete”" and list what works.

Slack sends a command's text with ``&``, ``<`` and ``>`` entity-encoded (whatever the
manifest's ``should_escape`` says), so the text is decoded first: a topic such as
"Fix <login> & signup" is stored in the person's own characters, and escaped again only
when it is shown.

Pure: no ``slack_sdk`` or ``slack_bolt`` import; the Bolt handler passes ``command["text"]``
in and acts on the :class:`SlashCommand` it gets back.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

from adapters.slack.escape import unescape

__all__ = [
    "HELP_LIMIT",
    "METHOD_SUBCOMMANDS",
    "SUBCOMMANDS",
    "SlashCommand",
    "help_text",
    "parse",
]

SUBCOMMANDS: Final[dict[str, str]] = {
    "plan": "PLAN: what you want, what needs to happen, your first step, dates",
    "seven-step": "seven-step problem solving, with a review after you've acted",
    "session": "a full coaching session with a review",
    "team": "a team plan in this channel's thread: everyone adds steps, owners claim "
    "and date them, a weekly digest",
    "checkin": "check in on your next open commitment",
    "status": "your sessions and what is scheduled",
    "report": "the report of your latest session",
    "settings": "show or change nudge settings: time zone, quiet hours, working days, "
    "lead time, pause",
    "pause": "pause your latest session",
    "resume": "resume your latest session",
    "stop": "stop your latest session",
    "export": "all your data, in a DM",
    "forget": "delete everything about you, after you confirm",
    "help": "this list",
}
"""Every subcommand, in the order help lists them, with its one-line description."""

METHOD_SUBCOMMANDS: Final = ("plan", "seven-step", "session")
"""Subcommands that start a coaching session of the method with that id; ``rest`` is the topic."""

HELP_LIMIT: Final = 1500
"""Characters of :func:`help_text` at most: a reply to read at a glance, not a manual."""

# What each subcommand's help line shows after the command word (an example, not a rule).
_EXAMPLES: Final[dict[str, str]] = {
    "plan": "plan Launch the beta",
    "seven-step": "seven-step Stop missing deadlines",
    "session": "session Speaking up in meetings",
    "team": "team Q3 roadmap",
    "settings": "settings quiet 22:00-07:00",
}

# Spellings people reach for, after lower-casing and dropping "-", "_" and a leading "/".
_ALIASES: Final[dict[str, str]] = {
    "sevenstep": "seven-step",
    "sevensteps": "seven-step",
    "7step": "seven-step",
    "7steps": "seven-step",
    "7": "seven-step",
    "setting": "settings",
    "?": "help",
}

# Punctuation people put after the word ("plan: Launch the beta", "status?").
_TRAILING: Final = ":;,.!?"
# The longest unknown word help quotes back in full: a pasted paragraph is not a word.
_QUOTE_LIMIT: Final = 40


@dataclass(frozen=True, slots=True)
class SlashCommand:
    """What ``/breakthrough <text>`` asked for.

    ``name`` is a key of :data:`SUBCOMMANDS`; ``rest`` is the text after the subcommand
    word, stripped, decoded and in its original case (a topic, a setting, …). When the
    first word was not a subcommand, ``name`` is ``"help"``, ``unknown`` is that word and
    ``rest`` the whole text, so a caller could still offer to use it as a topic.
    """

    name: str
    rest: str
    unknown: str | None = None


def _key(word: str) -> str:
    return re.sub(r"[-_]", "", word.lower().lstrip("/"))


_LOOKUP: Final[dict[str, str]] = {_key(name): name for name in SUBCOMMANDS} | _ALIASES


def _subcommand(word: str) -> str | None:
    """The subcommand ``word`` names, or ``None``; "?" and "7" are words here too."""
    key = _key(word)
    if key in _LOOKUP:
        return _LOOKUP[key]
    # "status?" reads as "status" (a lone "?" was found above, as help).
    return _LOOKUP.get(key.rstrip(_TRAILING))


def parse(text: str) -> SlashCommand:
    """The subcommand and its words in ``text``, the command's text exactly as Slack sent it.

    Empty text asks for help; an unknown first word gives help with ``unknown`` set.
    """
    text = unescape(text).strip()
    if not text:
        return SlashCommand("help", "")
    parts = text.split(maxsplit=1)  # any whitespace ends the word, a newline or a tab too
    word = parts[0]
    rest = parts[1].strip() if len(parts) > 1 else ""
    name = _subcommand(word)
    if name is None:
        return SlashCommand("help", text, unknown=word)
    return SlashCommand(name, rest)


def _quoted(word: str) -> str:
    word = " ".join(word.split())
    if len(word) > _QUOTE_LIMIT:
        word = word[: _QUOTE_LIMIT - 1] + "…"
    return f"“{word}”"


def help_text(command: str = "/breakthrough", *, unknown: str | None = None) -> str:
    """What a person reads after ``/breakthrough help``, or after a word we did not know.

    Plain text with Slack's ``*bold*`` and ```code``` only, no ``<…>`` markup: the caller
    escapes it like every other text, so the unknown word is shown and never acted on.
    ``command`` is the slash command as installed, should a workspace rename it.
    """
    lines: list[str] = []
    if unknown is not None and unknown.strip():
        lines.append(f"I don't know {_quoted(unknown)}. Here's what I can do:")
    else:
        lines.append("*Breakthrough* — coaching in your own words. Here's what I can do:")
    for name, description in SUBCOMMANDS.items():
        example = _EXAMPLES.get(name, name)
        more = f" (`{command} team help` for more)" if name == "team" else ""
        lines.append(f"`{command} {example}` — {description}{more}")
    lines.append(
        "In a session's thread you can also type `status`, `pause`, `back`, `skip`, "
        "`stop` or `help`."
    )
    return "\n".join(lines)
