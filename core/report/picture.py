"""The plan as a picture: a flow chart or a mind map, drawn with Pillow alone.

The PLAN method asks how the person wants to record their plan; "a flow chart" and
"a mind map" are sent as a PNG beside the Markdown report. Only Pillow is used, with
its bundled scalable font (``ImageFont.load_default(size=...)``, Pillow >= 10.1), so
the picture looks the same on a laptop, in CI and in the container, and needs neither
font files nor system binaries. With a given Pillow, the same input gives the same bytes
(no timestamps, no randomness), so a re-sent plan is recognisably the same file.

That bundled font covers ASCII and a few typographic marks only: other characters are
spelled with the nearest letters it has ("é" becomes "e", "—" becomes "-"), and what
has no near spelling becomes "?". The alt text and the Markdown report keep the exact
words.
"""

from __future__ import annotations

import functools
import io
import math
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import Literal

from PIL import Image, ImageDraw, ImageFont

from core.dialogue.intents import PlanPicture, ProgressPicture
from core.report._dates import short_date, to_zone, zone
from core.report.errors import PictureStyleError

__all__ = ["PictureStyle", "picture_alt", "plan_picture", "render_picture"]

PictureStyle = Literal["flowchart", "mindmap"]
_Font = ImageFont.FreeTypeFont | ImageFont.ImageFont
_Rect = tuple[float, float, float, float]

_STEP_LIMIT = 120  # characters of a step's text shown in its box
_OUTCOME_LIMIT = 160
_ALT_LIMIT = 1000  # Discord caps an attachment description at 1024 characters

_BACKGROUND = "#FAFAF7"
_INK = "#1F2937"
_MUTED = "#6B7280"
_ARROW = "#64748B"
_STEP_FILL = "#EEF2FF"
_STEP_LINE = "#6366F1"
_BADGE = "#4F46E5"
_OUTCOME_FILL = "#DCFCE7"
_OUTCOME_LINE = "#16A34A"
_OUTCOME_INK = "#166534"
_NOTE_FILL = "#F3F4F6"
_NOTE_LINE = "#9CA3AF"
# Mind map branches: (line and badge, box fill), cycled in step order.
_BRANCHES = (
    ("#4F46E5", "#EEF2FF"),
    ("#0E7490", "#ECFEFF"),
    ("#047857", "#ECFDF5"),
    ("#B45309", "#FFFBEB"),
    ("#BE185D", "#FDF2F8"),
    ("#6D28D9", "#F5F3FF"),
)

_MARGIN = 48
_PAD = 16
_BADGE_D = 36
_RADIUS = 14

# Characters the bundled font lacks, spelled with ones it has.
_SPELLINGS = {
    "—": "-",
    "–": "-",
    "‐": "-",
    "‑": "-",
    "−": "-",
    "•": "·",
    "→": "->",
    "←": "<-",
    "ß": "ss",
    "æ": "ae",
    "Æ": "AE",
    "œ": "oe",
    "Œ": "OE",
    "ø": "o",
    "Ø": "O",
    "ł": "l",
    "Ł": "L",
    "đ": "d",
    "Đ": "D",
    "ð": "d",
    "þ": "th",
    "Þ": "Th",
    "ı": "i",
    "€": "EUR",
    "£": "GBP",
    "×": "x",
    "„": '"',
    "‚": "'",
    "′": "'",
    "″": '"',
}


def plan_picture(
    *,
    outcome: str,
    steps: Sequence[tuple[str, datetime | None]],
    style: PictureStyle,
    tz: str,
) -> bytes:
    """The plan as PNG bytes, for the person who chose to record it as a picture.

    ``steps`` are the plan's steps in order, each with its due moment (``None`` when it
    has none yet); dates are shown in ``tz``. The canvas grows with the number of steps
    and the length of their text, so 1 to 30 steps stay readable at full size.
    """
    zone_ = zone(tz)
    boxes = _step_texts(steps, zone_)
    if style == "flowchart":
        image = _flowchart(_clip(outcome, _OUTCOME_LIMIT), boxes)
    elif style == "mindmap":
        image = _mindmap(_clip(outcome, _OUTCOME_LIMIT), boxes)
    else:
        raise PictureStyleError(f"no picture style called {style!r}; use flowchart or mindmap")
    out = io.BytesIO()
    # Level 1 of 9: a plan picture is flat colour, so it is barely larger, and encoding
    # takes a third less CPU than the default level 6.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def picture_alt(
    *,
    outcome: str,
    steps: Sequence[tuple[str, datetime | None]],
    style: PictureStyle,
    tz: str,
    limit: int = _ALT_LIMIT,
) -> str:
    """What the picture shows, in words, for screen readers and for clients without images.

    Sent as the image's alt text (Slack) or attachment description (Discord); ``limit``
    keeps it under the platform's cap, cutting at a step and saying how many are left.
    """
    if style not in ("flowchart", "mindmap"):
        raise PictureStyleError(f"no picture style called {style!r}; use flowchart or mindmap")
    zone_ = zone(tz)
    goal = " ".join(outcome.split())
    kind = "Flow chart" if style == "flowchart" else "Mind map"
    link = "towards" if style == "flowchart" else "around"
    count = len(steps)
    if count == 0:
        plan = f" of a plan {link} {goal}" if goal else ""
        return _cut(f"{kind}{plan}: no steps yet.", limit)
    noun = "step" if count == 1 else "steps"
    head = f"{kind} of {count} {noun} {link} {goal}: " if goal else f"{kind} of {count} {noun}: "
    year = _reference_year(steps, zone_)
    parts: list[str] = []
    for n, (text, due) in enumerate(steps, start=1):
        when = f"by {short_date(due, zone_, year=year)}" if due else "no date yet"
        parts.append(f"{n}. {' '.join(text.split()) or 'unnamed step'} ({when})")
    text = head + "; ".join(parts) + "."
    if len(text) <= limit:
        return text
    # Drop whole steps from the end until the rest fits with a note of what was left out.
    for keep in range(len(parts) - 1, 0, -1):
        left = count - keep
        tail = f"; and {left} more {'step' if left == 1 else 'steps'}."
        candidate = head + "; ".join(parts[:keep]) + tail
        if len(candidate) <= limit:
            return candidate
    return _cut(head.rstrip(": ") + ".", limit)


# -- text -----------------------------------------------------------------------------


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: max(limit - 1, 0)] + "…"


def _clip(text: str, limit: int) -> str:
    """One line of at most ``limit`` characters, cut at a word and marked with "…"."""
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    head = flat[: limit - 1]
    cut = head.rfind(" ")
    if cut > limit // 2:
        head = head[:cut]
    return head.rstrip(" .,;:!?-") + "…"


def _reference_year(steps: Sequence[tuple[str, datetime | None]], tz: tzinfo) -> int | None:
    """The year dates are assumed to be in: the earliest due date's. Others show theirs."""
    dated = [to_zone(due, tz) for _, due in steps if due is not None]
    return min(dated).year if dated else None


@dataclass(frozen=True, slots=True)
class _StepText:
    number: int
    text: str
    date: str


def _step_texts(steps: Sequence[tuple[str, datetime | None]], tz: tzinfo) -> list[_StepText]:
    year = _reference_year(steps, tz)
    return [
        _StepText(
            number=n,
            text=_clip(text, _STEP_LIMIT) or "(unnamed step)",
            date=f"by {short_date(due, tz, year=year)}" if due else "no date yet",
        )
        for n, (text, due) in enumerate(steps, start=1)
    ]


@functools.cache
def _font(size: int) -> _Font:
    return ImageFont.load_default(size=size)


@functools.cache
def _missing_mask() -> bytes:
    # A private-use code point has no glyph in any font: what it draws is the "missing" box.
    return bytes(_font(20).getmask("\ue000"))


@functools.cache
def _has_glyph(char: str) -> bool:
    if " " <= char <= "~":
        return True
    font = _font(20)
    if not isinstance(font, ImageFont.FreeTypeFont):
        return False
    return bytes(font.getmask(char)) != _missing_mask()


@functools.cache
def _spell(char: str) -> str:
    """``char`` as the bundled font can draw it: itself, a near spelling, or "?"."""
    if _has_glyph(char):
        return char
    category = unicodedata.category(char)
    if category.startswith("Z"):
        return " "
    if category[0] in "CM" or category in ("So", "Sk"):
        return ""  # control, format, combining marks, emoji: nothing legible to draw
    if char in _SPELLINGS:
        return _SPELLINGS[char]
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c))
    if base and all(_has_glyph(c) for c in base):
        return base
    return "?"


def _drawable(text: str) -> str:
    return " ".join("".join(_spell(c) for c in text).split())


def _wrap(text: str, font: _Font, width: float) -> list[str]:
    """Lines of ``text`` no wider than ``width`` pixels; an over-long word is split."""
    lines: list[str] = []
    current = ""
    for word in _drawable(text).split():
        trial = f"{current} {word}" if current else word
        if font.getlength(trial) <= width:
            current = trial
            continue
        if current:
            lines.append(current)
        while font.getlength(word) > width and len(word) > 1:
            cut = len(word) - 1
            while cut > 1 and font.getlength(word[:cut]) > width:
                cut -= 1
            lines.append(word[:cut])
            word = word[cut:]
        current = word
    if current:
        lines.append(current)
    return lines or [""]


def _line_height(font: _Font, size: int) -> int:
    if isinstance(font, ImageFont.FreeTypeFont):
        ascent, descent = font.getmetrics()
        return ascent + descent + 2
    return size + 4


# -- boxes ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Box:
    """A measured step box: its wrapped lines and its size, ready to be placed."""

    number: int
    lines: list[str]
    date: str
    width: int
    height: int


@dataclass(frozen=True, slots=True)
class _Type:
    """The two fonts a kind of box uses, and their sizes (line heights depend on them)."""

    text: _Font
    text_size: int
    small: _Font
    small_size: int


def _type(text_size: int, small_size: int) -> _Type:
    return _Type(_font(text_size), text_size, _font(small_size), small_size)


def _measure(step: _StepText, width: int, kind: _Type) -> _Box:
    text_width = width - 3 * _PAD - _BADGE_D
    lines = _wrap(step.text, kind.text, text_width)
    inner = len(lines) * _line_height(kind.text, kind.text_size) + _line_height(
        kind.small, kind.small_size
    )
    height = 2 * _PAD + max(_BADGE_D, inner)
    return _Box(step.number, lines, step.date, width, height)


def _draw_box(
    draw: ImageDraw.ImageDraw,
    box: _Box,
    x: float,
    y: float,
    kind: _Type,
    *,
    line: str,
    fill: str,
    badge: str,
) -> None:
    draw.rounded_rectangle(
        (x, y, x + box.width, y + box.height), radius=_RADIUS, fill=fill, outline=line, width=2
    )
    bx, by = x + _PAD, y + _PAD
    draw.ellipse((bx, by, bx + _BADGE_D, by + _BADGE_D), fill=badge)
    number = str(box.number)
    badge_font = _font(18 if box.number < 100 else 14)
    nw = badge_font.getlength(number)
    draw.text((bx + (_BADGE_D - nw) / 2, by + 8), number, font=badge_font, fill="#FFFFFF")
    tx = bx + _BADGE_D + _PAD
    ty = y + _PAD - 2
    step = _line_height(kind.text, kind.text_size)
    for text in box.lines:
        draw.text((tx, ty), text, font=kind.text, fill=_INK)
        ty += step
    draw.text((tx, ty + 2), box.date, font=kind.small, fill=_MUTED)


def _note(draw: ImageDraw.ImageDraw, rect: _Rect, lines: Sequence[str], kind: _Type) -> None:
    """A grey box with a centred message: what is drawn where steps would be."""
    draw.rounded_rectangle(rect, radius=_RADIUS, fill=_NOTE_FILL, outline=_NOTE_LINE, width=2)
    centre_x = (rect[0] + rect[2]) / 2
    _text_block(draw, lines, centre_x, rect[1] + _PAD - 2, kind.text, kind.text_size, _MUTED)


def _centred(box: _Box, cx: float, cy: float) -> _Rect:
    return (cx - box.width / 2, cy - box.height / 2, cx + box.width / 2, cy + box.height / 2)


def _text_block(
    draw: ImageDraw.ImageDraw,
    lines: Sequence[str],
    center_x: float,
    top: float,
    font: _Font,
    size: int,
    fill: str,
) -> None:
    """Lines centred on ``center_x`` (no anchors: the bitmap fallback font lacks them)."""
    step = _line_height(font, size)
    for n, text in enumerate(lines):
        draw.text((center_x - font.getlength(text) / 2, top + n * step), text, font=font, fill=fill)


def _arrow(draw: ImageDraw.ImageDraw, points: Sequence[tuple[float, float]]) -> None:
    """A polyline ending in an arrow head at its last point."""
    (x1, y1), (x2, y2) = points[-2], points[-1]
    angle = math.atan2(y2 - y1, x2 - x1)
    size = 13.0
    # Stop the shaft inside the head, so its square end does not poke past the tip.
    shaft_end = (x2 - size * 0.6 * math.cos(angle), y2 - size * 0.6 * math.sin(angle))
    draw.line([*points[:-1], shaft_end], fill=_ARROW, width=3, joint="curve")
    left = (x2 - size * math.cos(angle - 0.45), y2 - size * math.sin(angle - 0.45))
    right = (x2 - size * math.cos(angle + 0.45), y2 - size * math.sin(angle + 0.45))
    draw.polygon([(x2, y2), left, right], fill=_ARROW)


# -- flow chart -----------------------------------------------------------------------

_FLOW_W = 560
_FLOW_GAP = 46  # between boxes: the arrow's length
_COLUMN_GAP = 110
_PER_COLUMN = 10


@dataclass(frozen=True, slots=True)
class _Placed:
    kind: Literal["step", "outcome", "note"]
    box: _Box
    lines: list[str]


def _flowchart(outcome: str, steps: Sequence[_StepText]) -> Image.Image:
    """Boxes top to bottom joined by arrows, ending in the outcome; columns past ten."""
    kind = _type(22, 18)
    title_font, title_size = _font(32), 32
    label_font, label_size = _font(16), 16
    items: list[_Placed] = []
    for step in steps:
        box = _measure(step, _FLOW_W, kind)
        items.append(_Placed("step", box, box.lines))
    if not steps:
        lines = ["No steps in this plan yet."]
        height = 2 * _PAD + _line_height(kind.text, kind.text_size)
        items.append(_Placed("note", _Box(0, lines, "", _FLOW_W, height), lines))
    if outcome:
        lines = _wrap(outcome, kind.text, _FLOW_W - 2 * _PAD)
        height = (
            2 * _PAD
            + _line_height(label_font, label_size)
            + len(lines) * _line_height(kind.text, kind.text_size)
        )
        items.append(_Placed("outcome", _Box(0, lines, "", _FLOW_W, height), lines))

    columns = max(1, math.ceil(len(items) / (_PER_COLUMN + 1)))
    per_column = math.ceil(len(items) / columns)
    chunks = [items[i : i + per_column] for i in range(0, len(items), per_column)]
    columns = len(chunks)

    width = 2 * _MARGIN + columns * _FLOW_W + (columns - 1) * _COLUMN_GAP
    count = len(steps)
    title = "Your plan"
    subtitle = (
        "No steps yet"
        if not count
        else f"{count} {'step' if count == 1 else 'steps'}, in order"
        + (", towards your outcome" if outcome else "")
    )
    title_h = _line_height(title_font, title_size) + _line_height(label_font, label_size) + 12
    top = _MARGIN + title_h + _FLOW_GAP // 2
    column_heights = [
        sum(p.box.height for p in chunk) + _FLOW_GAP * (len(chunk) - 1) for chunk in chunks
    ]
    height = top + max(column_heights) + _FLOW_GAP // 2 + _MARGIN

    image = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    draw.text((_MARGIN, _MARGIN - 6), title, font=title_font, fill=_INK)
    draw.text(
        (_MARGIN, _MARGIN + _line_height(title_font, title_size)),
        subtitle,
        font=label_font,
        fill=_MUTED,
    )

    previous: tuple[float, float, float] | None = None  # centre x, bottom y, column right x
    for c, chunk in enumerate(chunks):
        x = _MARGIN + c * (_FLOW_W + _COLUMN_GAP)
        y = float(top)
        for n, placed in enumerate(chunk):
            cx = x + _FLOW_W / 2
            if previous is not None:
                px, py, right = previous
                if n == 0:
                    # Down from the last box, across the gutter, up and over to this column.
                    gutter = right + _COLUMN_GAP / 2
                    over = y - _FLOW_GAP / 2
                    below = py + _FLOW_GAP / 2
                    _arrow(draw, [(px, py), (px, below), (gutter, below), (gutter, over),
                                  (cx, over), (cx, y)])  # fmt: skip
                else:
                    _arrow(draw, [(px, py), (cx, y)])
            _draw_flow_item(draw, placed, x, y, kind, label_font, label_size)
            previous = (cx, y + placed.box.height, x + _FLOW_W) if steps else None
            y += placed.box.height + _FLOW_GAP
    return image


def _draw_flow_item(
    draw: ImageDraw.ImageDraw,
    placed: _Placed,
    x: float,
    y: float,
    kind: _Type,
    label_font: _Font,
    label_size: int,
) -> None:
    box = placed.box
    if placed.kind == "step":
        _draw_box(draw, box, x, y, kind, line=_STEP_LINE, fill=_STEP_FILL, badge=_BADGE)
        return
    bottom = y + box.height
    if placed.kind == "note":
        _note(draw, (x, y, x + box.width, bottom), box.lines, kind)
        return
    draw.rounded_rectangle(
        (x, y, x + box.width, bottom),
        radius=_RADIUS * 2,
        fill=_OUTCOME_FILL,
        outline=_OUTCOME_LINE,
        width=3,
    )
    label = "OUTCOME"
    draw.text(
        (x + (box.width - label_font.getlength(label)) / 2, y + _PAD - 4),
        label,
        font=label_font,
        fill=_OUTCOME_INK,
    )
    _text_block(
        draw,
        box.lines,
        x + box.width / 2,
        y + _PAD + _line_height(label_font, label_size) - 2,
        kind.text,
        kind.text_size,
        _INK,
    )


# -- mind map -------------------------------------------------------------------------

_NODE_W = 260
_STRETCH = 1.4  # the ring is wider than tall: boxes are wider than tall


def _mindmap(outcome: str, steps: Sequence[_StepText]) -> Image.Image:
    """The outcome in a central ellipse, the steps around it clockwise from the top."""
    kind = _type(19, 16)
    centre_font, centre_size = _font(24), 24
    lines = _wrap(outcome or "Your plan", centre_font, 300)
    block_w = max(centre_font.getlength(line) for line in lines)
    block_h = len(lines) * _line_height(centre_font, centre_size)
    # An ellipse through the corners of the text block: half-axes = half-sides * sqrt(2).
    rx = max(block_w / 2 * math.sqrt(2) + 16, 130.0)
    ry = max(block_h / 2 * math.sqrt(2) + 16, 70.0)
    ellipse: _Rect = (-rx, -ry, rx, ry)

    boxes = [_measure(step, _NODE_W, kind) for step in steps]
    rects = _arrange(boxes, rx, ry)
    note_lines = ["No steps in this plan yet."]
    if not boxes:
        note_h = 2 * _PAD + _line_height(kind.text, kind.text_size)
        rects = [(-_NODE_W / 2, ry + 60, _NODE_W / 2, ry + 60 + note_h)]

    caption_font, caption_size = _font(16), 16
    caption_h = _line_height(caption_font, caption_size) + 16
    left = min([ellipse[0], *(r[0] for r in rects)])
    top = min([ellipse[1], *(r[1] for r in rects)])
    right = max([ellipse[2], *(r[2] for r in rects)])
    bottom = max([ellipse[3], *(r[3] for r in rects)])
    width = math.ceil(right - left) + 2 * _MARGIN
    height = math.ceil(bottom - top) + 2 * _MARGIN + caption_h
    ox = _MARGIN - left
    oy = _MARGIN + caption_h - top

    image = Image.new("RGB", (width, height), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    count = len(steps)
    caption = (
        f"Your plan: {count} {'step' if count == 1 else 'steps'}, numbered in order"
        if count
        else "Your plan: no steps yet"
    )
    draw.text((_MARGIN, _MARGIN - 8), caption, font=caption_font, fill=_MUTED)

    for n, rect in enumerate(rects if boxes else []):
        colour = _BRANCHES[n % len(_BRANCHES)][0]
        centre = (ox + (rect[0] + rect[2]) / 2, oy + (rect[1] + rect[3]) / 2)
        draw.line([(ox, oy), centre], fill=colour, width=4)
    draw.ellipse(
        (ox - rx, oy - ry, ox + rx, oy + ry), fill=_OUTCOME_FILL, outline=_OUTCOME_LINE, width=3
    )
    _text_block(
        draw, lines, ox, oy - block_h / 2, centre_font, centre_size, _INK if outcome else _MUTED
    )
    if not boxes:
        x0, y0, x1, y1 = rects[0]
        _note(draw, (ox + x0, oy + y0, ox + x1, oy + y1), note_lines, kind)
        return image
    for n, (box, rect) in enumerate(zip(boxes, rects, strict=True)):
        colour, fill = _BRANCHES[n % len(_BRANCHES)]
        _draw_box(draw, box, ox + rect[0], oy + rect[1], kind, line=colour, fill=fill, badge=colour)
    return image


def _arrange(boxes: Sequence[_Box], rx: float, ry: float) -> list[_Rect]:
    """Box positions around the centre, clockwise from the top, as close in as they fit.

    Boxes sit on a ring; a box that would touch one placed before it (or sit on its
    branch line, or have its own line run under it) moves out along its ray, by up to
    about a box's height. Neighbours that collide so alternate between an inner and an
    outer ring. When a box finds no room that way, the whole ring grows and all boxes are
    placed again; a large enough ring always fits, so this ends.
    """
    count = len(boxes)
    if not count:
        return []
    centre: _Rect = (-rx - 36, -ry - 36, rx + 36, ry + 36)
    push = max(b.height for b in boxes) + 60
    base = 40.0
    while True:
        rects = _ring(boxes, count, base, push, centre)
        if rects is not None:
            return rects
        base += 12


def _ring(
    boxes: Sequence[_Box], count: int, base: float, push: float, centre: _Rect
) -> list[_Rect] | None:
    rects: list[_Rect] = []
    for n, box in enumerate(boxes):
        angle = -math.pi / 2 + 2 * math.pi * n / count
        dx, dy = _STRETCH * math.cos(angle), math.sin(angle)
        radius = base
        while True:
            rect = _centred(box, radius * dx, radius * dy)
            if _free(rect, rects, centre):
                rects.append(rect)
                break
            radius += 6
            if radius > base + push and not _overlap(rect, centre, 0):
                return None
    return rects


def _free(rect: _Rect, placed: Sequence[_Rect], centre: _Rect) -> bool:
    if _overlap(rect, centre, 0):
        return False
    mid = _middle(rect)
    grown = _grow(rect, 8)
    for other in placed:
        if _overlap(rect, other, 18):
            return False
        if _crosses((0.0, 0.0), mid, _grow(other, 8)):
            return False
        if _crosses((0.0, 0.0), _middle(other), grown):
            return False
    return True


def _middle(rect: _Rect) -> tuple[float, float]:
    return ((rect[0] + rect[2]) / 2, (rect[1] + rect[3]) / 2)


def _grow(rect: _Rect, by: float) -> _Rect:
    return (rect[0] - by, rect[1] - by, rect[2] + by, rect[3] + by)


def _overlap(a: _Rect, b: _Rect, gap: float) -> bool:
    return a[0] < b[2] + gap and b[0] < a[2] + gap and a[1] < b[3] + gap and b[1] < a[3] + gap


def _crosses(p: tuple[float, float], q: tuple[float, float], rect: _Rect) -> bool:
    """Whether the segment p-q passes through ``rect`` (Liang-Barsky clipping)."""
    (x0, y0), (x1, y1) = p, q
    dx, dy = x1 - x0, y1 - y0
    low, high = 0.0, 1.0
    for edge, distance in (
        (-dx, x0 - rect[0]),
        (dx, rect[2] - x0),
        (-dy, y0 - rect[1]),
        (dy, rect[3] - y0),
    ):
        if edge == 0:
            if distance < 0:
                return False
            continue
        t = distance / edge
        if edge < 0:
            low = max(low, t)
        else:
            high = min(high, t)
        if low > high:
            return False
    return True


def render_picture(picture: PlanPicture | ProgressPicture) -> bytes:
    """Draw an :class:`~core.dialogue.intents.Image`'s picture: adapters call this on delivery."""
    if isinstance(picture, ProgressPicture):
        # Imported here: core.report.progress draws with this module's helpers.
        from core.report.progress import render_progress

        return render_progress(picture)
    return plan_picture(
        outcome=picture.outcome, steps=picture.steps, style=picture.style, tz=picture.tz
    )
