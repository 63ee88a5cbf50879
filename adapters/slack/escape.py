"""Making a person's words safe to post in Slack text.

Slack reads ``&``, ``<`` and ``>`` as control characters: ``<!channel>``, ``<!here>``,
``<!everyone>`` and ``<@U123>`` are mentions that notify people, and ``<url|label>`` is a
link whose label can hide where it goes. Everything the coach says may quote what a
person typed, so every piece of text the Slack adapter posts goes through :func:`escape`:
a person writing ``<!channel>`` must see their words echoed, not wake up a workspace.

Only these three characters are entity-encoded, because they are the only entities Slack
decodes for display; encoding anything else would show up as literal ``&...;`` text.
"""

from __future__ import annotations

import re

__all__ = ["ZWJ", "escape", "unescape"]

ZWJ = "\u200d"
"""The zero-width joiner put after ``@`` in ``@channel``: invisible, but breaks the word."""

# An "@" before a broadcast word, also when more letters follow ("@channels" costs an
# invisible joiner, which is cheaper than guessing how Slack tokenises), and also when
# joiners already follow it, so that escaping stays reversible for such text.
_BROADCAST = "(?:channel|here|everyone)"
_BARE_MENTION = re.compile(rf"@(?={ZWJ}*{_BROADCAST})", re.IGNORECASE)
_JOINED_MENTION = re.compile(rf"@{ZWJ}(?={ZWJ}*{_BROADCAST})", re.IGNORECASE)


def escape(text: str) -> str:
    """``text`` as Slack shows it literally: ``&``, ``<``, ``>`` encoded, broadcasts defused.

    Besides the three entities, a bare ``@channel``, ``@here`` or ``@everyone`` gets a
    zero-width joiner after the ``@``. Slack does not turn those into pings in text posted
    through the API with ``parse=none``, but Block Kit text with ``verbatim: false`` "parses
    certain mentions" and that behaviour is not pinned down; an invisible joiner costs
    nothing and makes sure a quoted "@channel" can never notify anyone.
    """
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return _BARE_MENTION.sub("@" + ZWJ, text)


def unescape(text: str) -> str:
    """The exact inverse of :func:`escape`: ``unescape(escape(s)) == s`` for every ``s``.

    Used to recover a person's words from rendered text (a notification's fallback, tests).
    It is not a general decoder of Slack markup: mentions and links are left as they are.
    """
    text = _JOINED_MENTION.sub("@", text)
    return text.replace("&gt;", ">").replace("&lt;", "<").replace("&amp;", "&")
