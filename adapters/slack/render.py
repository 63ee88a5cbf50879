"""Showing intents in Slack: Block Kit messages (plain dicts) and file uploads.

Pure: intents in, JSON-ready dicts out, with no ``slack_sdk`` or ``slack_bolt`` import, so
the layout is tested without a network and the adapter only posts what it is given.

Every string in an intent may hold a person's words, so every string that reaches a
message goes through :func:`~adapters.slack.escape.escape`, and every limit Slack enforces
is respected by splitting, never by cutting: a long answer arrives as several sections,
a long plan as several messages, and nothing a person wrote is silently dropped. (The one
exception is a button's label, which Slack caps at 75 characters and which we shorten with
"…"; the question above it still shows in full.)

Interactive elements carry ``action_id = f"{intent.action_id}|{suffix}"``: Slack needs
action ids unique within a message, while the engine expects back the intent's own id;
:func:`parse_action_id` undoes the suffix.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from adapters.slack.escape import escape, unescape
from adapters.splitting import longest_fit, split, utf16_size
from core.dialogue.intents import (
    Ask,
    Destination,
    Document,
    Image,
    Intent,
    ProgressPicture,
    Say,
    ShowPlan,
)
from core.language import UnknownTimeZone, read_back, zone
from core.report import render_picture
from core.schedule.compose import nudge_action_id

__all__ = [
    "ACTION_ID_LIMIT",
    "BLOCK_LIMIT",
    "BUTTONS_PER_ACTIONS",
    "BUTTON_TEXT_LIMIT",
    "BUTTON_VALUE_LIMIT",
    "CONTEXT_LIMIT",
    "FALLBACK_LIMIT",
    "MESSAGE_TEXT_LIMIT",
    "SECTION_LIMIT",
    "SlackMessage",
    "SlackUpload",
    "parse_action_id",
    "render",
    "split_text",
    "text_size",
]

SECTION_LIMIT: Final = 3000
"""Characters in a section's text (Slack rejects the whole message above it)."""
BLOCK_LIMIT: Final = 50
"""Blocks in one message."""
BUTTON_TEXT_LIMIT: Final = 75
"""Characters in a button's label."""
ACTION_ID_LIMIT: Final = 255
"""Characters in an element's ``action_id``."""
BUTTONS_PER_ACTIONS: Final = 25
"""Elements in one ``actions`` block."""
BUTTON_VALUE_LIMIT: Final = 2000
"""Characters in a button's ``value``."""
CONTEXT_LIMIT: Final = 2000
"""Characters per context element: kept well under the 3,000 of a section, to be safe."""
MESSAGE_TEXT_LIMIT: Final = 9000
"""Text characters across all blocks of one message.

Slack rejects messages whose blocks add up to roughly 12,000-13,000 characters
(``msg_blocks_too_long``); the exact rule is undocumented and counts some block overhead,
so we keep a wide margin and start a new message instead.
"""
FALLBACK_LIMIT: Final = 150
"""Characters of the notification text: a preview, not the message."""

_NUDGE_PREFIX: Final = nudge_action_id("")
_SEPARATOR: Final = "|"

Block = dict[str, Any]


@dataclass(frozen=True, slots=True)
class SlackMessage:
    """One ``chat.postMessage``: ``blocks`` to show, ``text`` for notifications.

    ``text`` is what Slack shows in a push notification, in the channel sidebar and to
    screen readers that skip blocks: the start of the message, escaped, at most
    :data:`FALLBACK_LIMIT` characters. ``to`` is where it goes: intents in one batch may
    address both a channel and a person's DMs.
    """

    text: str
    blocks: list[Block]
    to: Destination


@dataclass(frozen=True, slots=True)
class SlackUpload:
    """One file upload (``files_upload_v2``): a report as Markdown or the plan as a PNG.

    ``title`` and ``alt`` are plain text fields of the file, not parsed as markup.
    """

    filename: str
    title: str
    content: bytes
    alt: str
    kind: Literal["markdown", "image"]
    to: Destination


def parse_action_id(action_id: str) -> str:
    """The intent's ``action_id`` behind a rendered element's ``action_id``.

    Rendered elements are named ``f"{intent.action_id}|{suffix}"`` where ``suffix`` is the
    choice's index (``"0"``, ``"1"``, …), ``"date"``, ``"time"`` or ``"snooze"`` (the date
    picker of a nudge, whose date the adapter turns into ``snooze:<date>``). Only the last
    ``|`` is the separator, so an intent's id may itself contain ``|``; an id without one
    is returned unchanged.
    """
    head, sep, _ = action_id.rpartition(_SEPARATOR)
    return head if sep else action_id


def text_size(text: str) -> int:
    """How long Slack counts ``text``: in UTF-16 units (see :func:`utf16_size`)."""
    return utf16_size(text)


def split_text(text: str, limit: int = SECTION_LIMIT) -> list[str]:
    """``text`` in pieces whose *escaped* size is at most ``limit``; ``"".join`` restores it.

    Cut as :func:`adapters.splitting.split` cuts. Sizes are measured after :func:`escape`
    because that is what Slack counts: a text of ``&`` characters grows fivefold.
    """
    if limit < 8:
        raise ValueError("limit must leave room for at least one escaped character")
    return split(text, limit, size=_escaped_size)


def _escaped_size(text: str) -> int:
    return text_size(escape(text))


def _longest_fit(text: str, limit: int) -> int:
    """The length of the longest prefix of ``text`` whose escaped size is within ``limit``."""
    return longest_fit(text, limit, _escaped_size)


# --------------------------------------------------------------------------- blocks


def _sections(text: str) -> list[Block]:
    """``text`` as mrkdwn sections within :data:`SECTION_LIMIT`, escaped.

    Blank pieces are left out: Slack rejects empty text, and whitespace shows nothing.
    """
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(piece)}}
        for piece in split_text(text, SECTION_LIMIT)
        if piece.strip()
    ]


def _contexts(text: str) -> list[Block]:
    return [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": escape(piece)}]}
        for piece in split_text(text, CONTEXT_LIMIT)
        if piece.strip()
    ]


def _label(text: str) -> str:
    """A button's label: escaped, shortened with "…" to fit :data:`BUTTON_TEXT_LIMIT`."""
    text = " ".join(text.split()) or "…"
    if _escaped_size(text) <= BUTTON_TEXT_LIMIT:
        return escape(text)
    # Room for the "…" (one character, which escaping leaves alone) after the prefix.
    n = _longest_fit(text, BUTTON_TEXT_LIMIT - 1)
    return escape(text[:n].rstrip() + "…")


def _element_id(intent: Ask, suffix: str) -> str:
    action_id = f"{intent.action_id}{_SEPARATOR}{suffix}"
    if len(action_id) > ACTION_ID_LIMIT:
        # Shortening would break the round trip to the engine: fail where it is made.
        raise ValueError(f"action_id longer than {ACTION_ID_LIMIT} characters: {action_id!r}")
    return action_id


def _ask_blocks(intent: Ask) -> list[Block]:
    blocks = _sections(intent.prompt)
    if intent.hint:
        blocks += _contexts(intent.hint)
    elements: list[Block] = []
    for i, choice in enumerate(intent.choices):
        if len(choice.value) > BUTTON_VALUE_LIMIT:
            raise ValueError(f"choice value longer than {BUTTON_VALUE_LIMIT} characters")
        elements.append(
            {
                "type": "button",
                "text": {"type": "plain_text", "text": _label(choice.label), "emoji": True},
                "action_id": _element_id(intent, str(i)),
                "value": choice.value,
            }
        )
    if intent.action_id.startswith(_NUDGE_PREFIX) and intent.choices:
        elements.append(_datepicker(_element_id(intent, "snooze"), "Snooze until…"))
    elif intent.expects == "date":
        elements.append(_datepicker(_element_id(intent, "date"), "Pick a date"))
    if intent.expects == "time":
        elements.append(
            {
                "type": "timepicker",
                "action_id": _element_id(intent, "time"),
                "placeholder": {"type": "plain_text", "text": "Pick a time"},
            }
        )
    for start in range(0, len(elements), BUTTONS_PER_ACTIONS):
        blocks.append(
            {"type": "actions", "elements": elements[start : start + BUTTONS_PER_ACTIONS]}
        )
    return blocks


def _datepicker(action_id: str, placeholder: str) -> Block:
    return {
        "type": "datepicker",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }


def _plan_blocks(intent: ShowPlan, *, tz_default: str, now: datetime) -> list[Block]:
    tz = _zone(intent.tz, tz_default)
    blocks = _sections(f"*Your plan:* {intent.title}")
    for step in intent.steps:
        line = f"{'☑' if step.done else '☐'} {step.text}"
        if step.due is not None:
            line += f" — due {read_back(step.due.astimezone(tz), now=now)}"
        blocks += _sections(line)
    return blocks


def _zone(tz: str, tz_default: str) -> ZoneInfo:
    """The plan's zone, or the default one: a stored bad name should not lose the plan."""
    try:
        return zone(tz)
    except UnknownTimeZone:
        return zone(tz_default)


# --------------------------------------------------------------------------- messages


def _texts(node: Any) -> Iterator[str]:
    """Every ``text`` string in a block, in order (labels and placeholders included)."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                yield value
            else:
                yield from _texts(value)
    elif isinstance(node, list):
        for item in node:
            yield from _texts(item)


def _action_ids(block: Block) -> list[str]:
    return [e["action_id"] for e in block.get("elements", ()) if "action_id" in e]


def _block_size(block: Block) -> int:
    return sum(text_size(t) for t in _texts(block))


def _fallback(blocks: list[Block]) -> str:
    """The notification text: the message's first words, shortened, escaped again."""
    for text in _texts(blocks):
        words = " ".join(unescape(text).split())
        if words:
            break
    else:
        words = "…"
    if _escaped_size(words) > FALLBACK_LIMIT:
        n = _longest_fit(words, FALLBACK_LIMIT - 1)  # room for the "…"
        cut = words.rfind(" ", 0, n + 1)  # at a word boundary when there is one
        words = words[: cut if cut > 0 else n].rstrip() + "…"
    return escape(words)


@dataclass(slots=True)
class _Messages:
    """Packs blocks into messages within Slack's per-message limits, in order."""

    out: list[SlackMessage | SlackUpload] = field(default_factory=list)
    to: Destination | None = None
    blocks: list[Block] = field(default_factory=list)
    size: int = 0
    ids: set[str] = field(default_factory=set)

    def fits(self, to: Destination, blocks: list[Block]) -> bool:
        ids = [i for b in blocks for i in _action_ids(b)]
        return (
            (not self.blocks or to == self.to)
            and len(self.blocks) + len(blocks) <= BLOCK_LIMIT
            and self.size + sum(_block_size(b) for b in blocks) <= MESSAGE_TEXT_LIMIT
            and not self.ids.intersection(ids)
            and len(set(ids)) == len(ids)
        )

    def add(self, to: Destination, blocks: list[Block]) -> None:
        """Add an intent's blocks: together when they fit, so a question keeps its buttons."""
        if not blocks:
            return
        if not self.fits(to, blocks):
            self.flush()
            if not self.fits(to, blocks):
                for block in blocks:  # too big for any one message: spread it, in order
                    if not self.fits(to, [block]):
                        self.flush()
                    self._append(to, block)
                return
        for block in blocks:
            self._append(to, block)

    def _append(self, to: Destination, block: Block) -> None:
        self.to = to
        self.blocks.append(block)
        self.size += _block_size(block)
        self.ids.update(_action_ids(block))

    def upload(self, upload: SlackUpload) -> None:
        self.flush()
        self.out.append(upload)

    def flush(self) -> None:
        if self.blocks and self.to is not None:
            self.out.append(SlackMessage(_fallback(self.blocks), self.blocks, self.to))
        self.to, self.blocks, self.size, self.ids = None, [], 0, set()


def render(
    intents: Sequence[Intent], *, tz_default: str = "UTC", now: datetime
) -> list[SlackMessage | SlackUpload]:
    """One turn's intents as Slack messages and uploads, to be sent in this order.

    Consecutive statements, questions and plans to the same destination share a message
    while it stays within :data:`BLOCK_LIMIT` blocks and :data:`MESSAGE_TEXT_LIMIT`
    characters (fewer posts, fewer notifications); a document or picture ends the message
    before it, so the order the engine chose is kept. ``now`` (timezone-aware) decides
    whether due dates show their year; ``tz_default`` stands in for a plan's time zone when
    that is not recognised, so a bad stored name costs the right dates, not the plan.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone(tz_default)  # a bad default is a configuration error: say so up front
    messages = _Messages()
    for intent in intents:
        if isinstance(intent, Say):
            messages.add(intent.to, _sections(intent.text))
        elif isinstance(intent, Ask):
            messages.add(intent.to, _ask_blocks(intent))
        elif isinstance(intent, ShowPlan):
            messages.add(intent.to, _plan_blocks(intent, tz_default=tz_default, now=now))
        elif isinstance(intent, Document):
            messages.upload(
                SlackUpload(
                    filename=intent.filename,
                    title=intent.title,
                    content=intent.markdown.encode("utf-8"),
                    alt=intent.title,
                    kind="markdown",
                    to=intent.to,
                )
            )
        elif isinstance(intent, Image):
            messages.upload(
                SlackUpload(
                    filename=intent.filename,
                    title=_picture_title(intent),
                    content=render_picture(intent.picture),
                    alt=intent.alt,
                    kind="image",
                    to=intent.to,
                )
            )
        else:  # pragma: no cover - exhaustive over Intent
            raise TypeError(f"cannot show {intent!r}")
    messages.flush()
    return messages.out


def _picture_title(intent: Image) -> str:
    picture = intent.picture
    if isinstance(picture, ProgressPicture):
        return "The team's progress"
    return f"Your plan as a {'flow chart' if picture.style == 'flowchart' else 'mind map'}"
