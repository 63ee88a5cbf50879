"""A team's progress as a chart: its steps at the end of each week, drawn with Pillow alone.

The weekly digest of a team coaching channel carries this picture beside its text. Each
week is one column, stacked from the bottom: steps done (green), steps overdue (the
warning colour), and the rest, open (light), so the column's height is every step the
team's plans had by the end of that week, and its number is written above it. The last
column is the current week so far.

Drawn like the plan picture (:mod:`core.report.picture`, whose font and text helpers it
uses): Pillow's bundled font, no files or system binaries, the same bytes for the same
:class:`~core.dialogue.intents.ProgressPicture`.
"""

from __future__ import annotations

import io
import math
from datetime import UTC, date, datetime, time

from PIL import Image, ImageDraw

from core.dialogue.intents import ProgressPicture
from core.report._dates import short_date
from core.report.picture import (
    _BACKGROUND,
    _INK,
    _MUTED,
    _NOTE_LINE,
    _OUTCOME_LINE,
    _STEP_LINE,
    _clip,
    _drawable,
    _Font,
    _font,
    _line_height,
)

__all__ = ["render_progress", "week_label"]

WIDTH = 900
HEIGHT = 450

_DONE = _OUTCOME_LINE
_OVERDUE = "#EA580C"
_OPEN = "#C7D2FE"
_OPEN_LINE = _STEP_LINE
_GRID = "#E5E7EB"
_AXIS = _NOTE_LINE

_MARGIN = 32
_SWATCH = 14


def week_label(day: date, year: int | None = None) -> str:
    """ "16 Nov" (with the year when it is not ``year``): a week by its first day."""
    # short_date gives "Mon 16 Nov"; the weekday is left off, a week's first day is Monday.
    moment = datetime.combine(day, time(), tzinfo=UTC)
    return short_date(moment, UTC, year=day.year if year is None else year).split(" ", 1)[1]


def render_progress(picture: ProgressPicture) -> bytes:
    """The progress chart as PNG bytes, 900 by 450 pixels, whatever the number of weeks
    or steps: with many weeks only every few are labelled, and the step axis counts in
    steps of 1, 2 or 5 times a power of ten."""
    image = Image.new("RGB", (WIDTH, HEIGHT), _BACKGROUND)
    draw = ImageDraw.Draw(image)
    weeks = picture.weeks

    title_font, title_size = _font(26), 26
    small_font, small_size = _font(15), 15
    label_font, label_size = _font(14), 14
    inner = WIDTH - 2 * _MARGIN
    y = _MARGIN - 8
    title = _clip(picture.title, 160) or "Team progress"
    draw.text((_MARGIN, y), _fit(title, title_font, inner), font=title_font, fill=_INK)
    y += _line_height(title_font, title_size) + 2
    zone_name = picture.tz or "UTC"
    subtitle = (
        "Steps by the end of each week; the last column is this week so far. "
        f"Weeks start on Monday ({zone_name})."
    )
    draw.text((_MARGIN, y), _fit(subtitle, small_font, inner), font=small_font, fill=_MUTED)
    y += _line_height(small_font, small_size) + 10
    _legend(draw, _MARGIN, y, small_font)

    peak = max((total for _, total, _, _ in weeks), default=0)
    step, top_value = _scale(peak)
    ticks = list(range(0, top_value + 1, step))
    tick_texts = [f"{t:,}" for t in ticks]
    left = _MARGIN + math.ceil(max(label_font.getlength(t) for t in tick_texts)) + 10
    right = WIDTH - _MARGIN
    plot_top = y + _line_height(small_font, small_size) + 30
    plot_bottom = HEIGHT - _MARGIN - 2 * _line_height(label_font, label_size)
    per_step = (plot_bottom - plot_top) / top_value

    for value, text in zip(ticks, tick_texts, strict=True):
        ty = plot_bottom - value * per_step
        draw.line([(left, ty), (right, ty)], fill=_GRID if value else _AXIS, width=1)
        tw = label_font.getlength(text)
        draw.text((left - 8 - tw, ty - label_size / 2 - 1), text, font=label_font, fill=_MUTED)

    if not weeks or peak == 0:
        note = "No steps yet"
        nw = small_font.getlength(note)
        nx, ny = (left + right - nw) / 2, (plot_top + plot_bottom) / 2 - small_size
        nh = _line_height(small_font, small_size)
        draw.rectangle((nx - 10, ny - 4, nx + nw + 10, ny + nh + 2), fill=_BACKGROUND)
        draw.text((nx, ny), note, font=small_font, fill=_MUTED)
    if weeks:
        _columns(draw, picture, left, right, plot_bottom, per_step, label_font, label_size)

    out = io.BytesIO()
    # Level 1 of 9, as for the plan picture: flat colour compresses well at any level.
    image.save(out, format="PNG", compress_level=1)
    return out.getvalue()


def _columns(
    draw: ImageDraw.ImageDraw,
    picture: ProgressPicture,
    left: float,
    right: float,
    bottom: float,
    per_step: float,
    font: _Font,
    size: int,
) -> None:
    weeks = picture.weeks
    count = len(weeks)
    band = (right - left) / count
    bar = min(band * 0.62, 72.0)
    year = weeks[-1][0].year
    labels = [week_label(day, year) for day, _, _, _ in weeks]
    widest = max(font.getlength(text) for text in labels)
    every = max(1, math.ceil((widest + 12) / band))
    line = _line_height(font, size)
    for n, (_, total, done, overdue) in enumerate(weeks):
        centre = left + (n + 0.5) * band
        x0, x1 = centre - bar / 2, centre + bar / 2
        done = min(done, total)
        overdue = min(overdue, total - done)
        y_done = bottom - done * per_step
        y_overdue = y_done - overdue * per_step
        if overdue and y_done - y_overdue < 2:
            y_overdue = y_done - 2  # one overdue step of thousands must still show
        y_total = min(bottom - total * per_step, y_overdue)
        if total:
            draw.rectangle((x0, y_total, x1, bottom), fill=_OPEN, outline=_OPEN_LINE)
        if overdue:
            draw.rectangle((x0, y_overdue, x1, y_done), fill=_OVERDUE)
        if done:
            draw.rectangle((x0, y_done, x1, bottom), fill=_DONE)
        number = f"{total:,}"
        width = font.getlength(number)
        if total and width <= band - 2:
            draw.text((centre - width / 2, y_total - line - 1), number, font=font, fill=_INK)
        # Label the last week and every ``every``-th one before it, so labels never touch.
        if (count - 1 - n) % every == 0:
            _centred_text(draw, labels[n], centre, bottom + 6, font)
        if n == count - 1:
            _centred_text(draw, "this week", centre, bottom + 6 + line, font)


def _centred_text(
    draw: ImageDraw.ImageDraw, text: str, centre: float, top: float, font: _Font
) -> None:
    """An axis label under its column, moved in where it would run off the picture."""
    width = font.getlength(text)
    x = min(max(centre - width / 2, 4.0), WIDTH - 4 - width)
    draw.text((x, top), text, font=font, fill=_MUTED)


def _legend(draw: ImageDraw.ImageDraw, x: float, y: float, font: _Font) -> None:
    for fill, outline, text in (
        (_DONE, _DONE, "Done"),
        (_OVERDUE, _OVERDUE, "Overdue"),
        (_OPEN, _OPEN_LINE, "Open"),
    ):
        draw.rectangle((x, y + 2, x + _SWATCH, y + 2 + _SWATCH), fill=fill, outline=outline)
        x += _SWATCH + 6
        draw.text((x, y), text, font=font, fill=_INK)
        x += font.getlength(text) + 22


def _scale(peak: int) -> tuple[int, int]:
    """(gridline step, axis top) for counts up to ``peak``: a whole step of 1, 2 or 5
    times a power of ten, about five gridlines, and never fewer than four steps of axis
    for a handful of steps (one step must not fill the whole height)."""
    if peak <= 0:
        return 1, 4
    raw = peak / 5
    magnitude = 10 ** math.floor(math.log10(raw)) if raw >= 1 else 1
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    top = max(math.ceil(peak / step) * step, 4 * step if step == 1 else step)
    return step, top


def _fit(text: str, font: _Font, width: float) -> str:
    """``text`` as the font can draw it, cut with "..." to ``width`` pixels."""
    drawn = _drawable(text)
    if font.getlength(drawn) <= width:
        return drawn
    while drawn and font.getlength(drawn + "...") > width:
        drawn = drawn[:-1]
    return drawn.rstrip() + "..."
