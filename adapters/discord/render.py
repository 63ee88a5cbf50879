"""Showing intents in Discord: message contents, embeds, buttons and attachments.

Pure: intents in, plain data out, with no ``discord`` import, so the layout is tested
without a gateway and the messenger only sends what it is given (turning
:class:`Button` into ``discord.ui.Button`` and :class:`Attachment` into ``discord.File``).

Discord's limits are met by splitting, never by cutting: text longer than 2,000
characters is sent as several messages, split on line boundaries; a plan longer than an
embed's 4,096 characters spreads over several embeds and messages. The one exception is
a button's label, capped at 80 characters and shortened with "…"; the question above it
still shows in full. Mentions in a person's words cannot ping anyone because every send
uses ``AllowedMentions.none()`` (see :mod:`adapters.discord.messenger`), so the text
itself is shown exactly as written.

Buttons are restart-safe: everything needed to act on a press is in its ``custom_id``
(:func:`custom_id`), so a press on a message sent before a restart still works.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal
from zoneinfo import ZoneInfo

from adapters.splitting import longest_fit, split, utf16_size
from core.dialogue.intents import (
    Ask,
    Destination,
    DirectMessage,
    Document,
    Image,
    Intent,
    Say,
    ShowPlan,
)
from core.language import UnknownTimeZone, read_back, zone
from core.report import render_picture
from core.schedule.accountability import DM_CHANNEL_PREFIX

__all__ = [
    "BUTTONS_PER_MESSAGE",
    "BUTTON_LABEL_LIMIT",
    "CONTENT_LIMIT",
    "CUSTOM_ID_LIMIT",
    "EMBED_DESCRIPTION_LIMIT",
    "Attachment",
    "Button",
    "ComponentId",
    "DiscordMessage",
    "custom_id",
    "hashed_action_id",
    "parse_custom_id",
    "render",
]

CONTENT_LIMIT: Final = 2000
"""Characters in a message's content."""
EMBED_DESCRIPTION_LIMIT: Final = 4096
"""Characters in an embed's description."""
EMBEDS_PER_MESSAGE: Final = 10
"""Embeds in one message."""
EMBED_TOTAL_LIMIT: Final = 6000
"""Characters across all embeds of one message."""
BUTTONS_PER_ROW: Final = 5
BUTTONS_PER_MESSAGE: Final = 25
"""Five action rows of five buttons."""
BUTTON_LABEL_LIMIT: Final = 80
"""Characters in a button's label."""
CUSTOM_ID_LIMIT: Final = 100
"""Characters in a component's ``custom_id``."""

PREFIX: Final = "bt"
"""Every ``custom_id`` of ours starts with this, so other bots' components are ignored."""
_SEP: Final = "|"
_ESCAPED: Final = re.compile(r"%(25|7C)")
"""The escapes of ``%`` and ``|`` in a choice value (see :func:`custom_id`)."""
HASHED: Final = "#"
"""Starts an action id that stands for a longer one (see :func:`hashed_action_id`)."""

Style = Literal["primary", "secondary", "success", "danger"]
Kind = Literal["choose", "answer", "date"]


@dataclass(frozen=True, slots=True, kw_only=True)
class ComponentId:
    """What a button does, as carried in its ``custom_id``.

    ``kind`` is ``choose`` (a choice: ``value`` goes to the engine), ``answer`` (opens a
    modal to type the answer, for bots without the message content intent) or ``date``
    (opens a modal for a date). ``session`` is set when the message is not in the
    session's own thread (a check-in at the top of a DM), where the channel alone cannot
    say which session the button belongs to.
    """

    kind: Kind
    action_id: str
    value: str = ""
    session: str = ""


def custom_id(component: ComponentId) -> str:
    """``bt|<kind>|<session>|<value>|<action_id>``, within :data:`CUSTOM_ID_LIMIT`.

    The action id goes last because it may contain ``|``; kinds and session ids never
    do. A choice value may (a team step's "share it" button says ``yes|<commitment>``), so
    its ``|`` and ``%`` are written ``%7C`` and ``%25``. An action id too long to fit (a
    snoozed nudge's key runs past 100 characters) is replaced by
    :func:`hashed_action_id`, which the adapter matches against the presser's own nudges.
    """
    for part in (component.kind, component.session):
        if _SEP in part:
            raise ValueError(f"{part!r} cannot be part of a custom_id")
    value = component.value.replace("%", "%25").replace(_SEP, "%7C")
    head = _SEP.join((PREFIX, component.kind, component.session, value, ""))
    action_id = component.action_id
    if len(head) + len(action_id) > CUSTOM_ID_LIMIT:
        action_id = hashed_action_id(action_id)
        if len(head) + len(action_id) > CUSTOM_ID_LIMIT:
            raise ValueError(f"custom_id cannot fit: {head!r}")
    return head + action_id


def hashed_action_id(action_id: str) -> str:
    """The stand-in for an action id too long for a ``custom_id``: ``#`` and a digest."""
    return HASHED + hashlib.sha256(action_id.encode("utf-8")).hexdigest()[:32]


def parse_custom_id(text: str) -> ComponentId | None:
    """The :class:`ComponentId` behind a ``custom_id``, or ``None`` if it is not ours."""
    parts = text.split(_SEP, 4)
    if len(parts) != 5 or parts[0] != PREFIX or parts[1] not in ("choose", "answer", "date"):
        return None
    _, kind, session, value, action_id = parts
    return ComponentId(
        kind=kind,  # type: ignore[arg-type]
        action_id=action_id,
        value=_ESCAPED.sub(lambda m: "%" if m.group(1) == "25" else _SEP, value),
        session=session,
    )


@dataclass(frozen=True, slots=True)
class Button:
    """One button: its label (already fitted) and what pressing it does."""

    label: str
    custom_id: str
    style: Style = "secondary"


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file sent with a message: the report as Markdown or the plan as a PNG."""

    filename: str
    content: bytes
    description: str


@dataclass(frozen=True, slots=True)
class DiscordMessage:
    """One message to send to ``to``; ``buttons`` are laid out five to a row."""

    to: Destination
    content: str = ""
    embeds: tuple[dict[str, Any], ...] = ()
    buttons: tuple[Button, ...] = ()
    files: tuple[Attachment, ...] = ()


def _label(text: str) -> str:
    text = " ".join(text.split()) or "…"
    if utf16_size(text) <= BUTTON_LABEL_LIMIT:
        return text
    return text[: longest_fit(text, BUTTON_LABEL_LIMIT - 1)].rstrip() + "…"


def _session_of(to: Destination) -> str:
    """The session a button must name: only for a check-in at the top of a DM."""
    if isinstance(to, DirectMessage) or not to.channel.startswith(DM_CHANNEL_PREFIX):
        return ""
    return to.thread or ""


def _ask_buttons(intent: Ask, *, answer_button: bool) -> list[Button]:
    session = _session_of(intent.to)
    buttons = [
        Button(
            label=_label(choice.label),
            custom_id=custom_id(
                ComponentId(
                    kind="choose", action_id=intent.action_id, value=choice.value, session=session
                )
            ),
            style="primary" if i == 0 and len(intent.choices) <= 3 else "secondary",
        )
        for i, choice in enumerate(intent.choices)
    ]
    if intent.expects == "date":
        buttons.append(
            Button(
                label="Pick a date",
                custom_id=custom_id(
                    ComponentId(kind="date", action_id=intent.action_id, session=session)
                ),
            )
        )
    elif answer_button and intent.expects != "choice":
        buttons.append(
            Button(
                label="Answer",
                custom_id=custom_id(
                    ComponentId(kind="answer", action_id=intent.action_id, session=session)
                ),
                style="success",
            )
        )
    return buttons


def _plan_embeds(intent: ShowPlan, *, tz_default: str, now: datetime) -> list[dict[str, Any]]:
    """The plan as a checklist: as many embeds as its lines need, none cut."""
    tz = _zone(intent.tz, tz_default)
    lines = []
    for step in intent.steps:
        line = f"{'☑' if step.done else '☐'} {step.text}"
        if step.due is not None:
            line += f" — due {read_back(step.due.astimezone(tz), now=now)}"
        lines.append(line)
    body = "\n".join(lines) or "No steps yet."
    title = _fit(f"Your plan: {intent.title}", 256)
    return [
        {"title": title if i == 0 else f"{title} (continued)", "description": piece}
        for i, piece in enumerate(split(body, EMBED_DESCRIPTION_LIMIT - 32))
    ]


def _fit(text: str, limit: int) -> str:
    if utf16_size(text) <= limit:
        return text
    return text[: longest_fit(text, limit - 1)].rstrip() + "…"


def _zone(tz: str, tz_default: str) -> ZoneInfo:
    """The plan's zone, or the default one: a stored bad name should not lose the plan."""
    try:
        return zone(tz)
    except UnknownTimeZone:
        return zone(tz_default)


def _embed_size(embed: dict[str, Any]) -> int:
    return sum(utf16_size(str(embed.get(k, ""))) for k in ("title", "description"))


@dataclass(slots=True)
class _Messages:
    """Packs text, embeds, buttons and files into messages within Discord's limits."""

    out: list[DiscordMessage] = field(default_factory=list)
    to: Destination | None = None
    content: str = ""
    embeds: list[dict[str, Any]] = field(default_factory=list)
    buttons: list[Button] = field(default_factory=list)

    def text(self, to: Destination, text: str, buttons: Sequence[Button] = ()) -> None:
        """Add a paragraph; its buttons go with its last piece, so they follow the text."""
        pieces = [p for p in split(text, CONTENT_LIMIT) if p.strip()] or ([""] if buttons else [])
        for i, piece in enumerate(pieces):
            last = i == len(pieces) - 1
            joined = f"{self.content}\n\n{piece}" if self.content else piece
            fits = (
                (self.to is None or self.to == to)
                and not self.embeds
                and utf16_size(joined) <= CONTENT_LIMIT
                and (not last or len(self.buttons) + len(buttons) <= BUTTONS_PER_MESSAGE)
            )
            if not fits:
                self.flush()
                joined = piece
            self.to, self.content = to, joined
            if last:
                self.buttons += buttons

    def embed(self, to: Destination, embeds: list[dict[str, Any]]) -> None:
        for embed in embeds:
            fits = (
                (self.to is None or self.to == to)
                and len(self.embeds) < EMBEDS_PER_MESSAGE
                and sum(map(_embed_size, self.embeds)) + _embed_size(embed) <= EMBED_TOTAL_LIMIT
            )
            if not fits:
                self.flush()
            self.to = to
            self.embeds.append(embed)

    def file(self, to: Destination, attachment: Attachment) -> None:
        self.flush()
        self.out.append(DiscordMessage(to=to, files=(attachment,)))

    def flush(self) -> None:
        if self.to is not None and (self.content or self.embeds or self.buttons):
            self.out.append(
                DiscordMessage(
                    to=self.to,
                    content=self.content,
                    embeds=tuple(self.embeds),
                    buttons=tuple(self.buttons),
                )
            )
        self.to, self.content, self.embeds, self.buttons = None, "", [], []


def render(
    intents: Sequence[Intent],
    *,
    tz_default: str = "UTC",
    now: datetime,
    answer_button: bool = False,
) -> list[DiscordMessage]:
    """One turn's intents as Discord messages, to be sent in this order.

    Consecutive statements and questions to one destination share a message while it
    stays within :data:`CONTENT_LIMIT` (fewer notifications); a plan is an embed
    checklist; a document or picture is an attachment of its own. ``answer_button`` adds
    an "Answer" button (opening a modal) to every question that takes typed words, for a
    bot that cannot read the messages people type.
    """
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    zone(tz_default)  # a bad default is a configuration error: say so up front
    messages = _Messages()
    for intent in intents:
        if isinstance(intent, Say):
            messages.text(intent.to, intent.text)
        elif isinstance(intent, Ask):
            text = f"{intent.prompt}\n-# {intent.hint}" if intent.hint else intent.prompt
            messages.text(intent.to, text, _ask_buttons(intent, answer_button=answer_button))
        elif isinstance(intent, ShowPlan):
            messages.embed(intent.to, _plan_embeds(intent, tz_default=tz_default, now=now))
        elif isinstance(intent, Document):
            messages.file(
                intent.to,
                Attachment(
                    filename=intent.filename,
                    content=intent.markdown.encode("utf-8"),
                    description=_fit(intent.title, 1024),
                ),
            )
        elif isinstance(intent, Image):
            messages.file(
                intent.to,
                Attachment(
                    filename=intent.filename,
                    content=render_picture(intent.picture),
                    description=_fit(intent.alt, 1024),
                ),
            )
        else:  # pragma: no cover - exhaustive over Intent
            raise TypeError(f"cannot show {intent!r}")
    messages.flush()
    return messages.out
