"""Dates as a person reads them, in their own zone, the same on every machine.

Reports and pictures name days in English words ("Friday 27 November") rather than
through ``strftime``'s ``%A``/``%B``, which follow the process locale: a bot deployed
with ``LANG=de_DE`` would otherwise write "Freitag" into one report and "Friday" into
the next.
"""

from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = ["long_date", "short_date", "to_zone", "zone"]

_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


def zone(name: str) -> tzinfo:
    """The zone called ``name``; UTC when the name is empty or unknown.

    A report must still render when a platform handed over a zone name this machine's
    tz database does not know: the dates are then shown in UTC, not lost.
    """
    if not name:
        return UTC
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def to_zone(moment: datetime, tz: tzinfo) -> datetime:
    """``moment`` in ``tz``; a naive moment is taken to be wall time in ``tz`` already."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=tz)
    return moment.astimezone(tz)


def long_date(
    moment: datetime,
    tz: tzinfo,
    *,
    year: int | None = None,
    with_time: bool = False,
    weekday: bool = True,
) -> str:
    """ "Friday 27 November", with " 2027" unless the year is ``year``, and " at 15:00"."""
    local = to_zone(moment, tz)
    text = f"{local.day} {_MONTHS[local.month - 1]}"
    if weekday:
        text = f"{_DAYS[local.weekday()]} {text}"
    if year is None or local.year != year:
        text = f"{text} {local.year}"
    if with_time:
        text = f"{text} at {local:%H:%M}"
    return text


def short_date(moment: datetime, tz: tzinfo, *, year: int | None = None) -> str:
    """ "Fri 27 Nov" (with the year when it is not ``year``): fits on a picture's box."""
    local = to_zone(moment, tz)
    text = f"{_DAYS[local.weekday()][:3]} {local.day} {_MONTHS[local.month - 1][:3]}"
    if year is not None and local.year != year:
        text = f"{text} {local.year}"
    return text
