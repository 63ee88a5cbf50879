"""Deadlines in the person's own words and time zone: "by Friday", "end of the month".

A commitment only works when the bot and the person agree on the day, so every
parsed deadline is read back ("Friday 27 November") for confirmation. Time always
comes in as an argument (``now``), never from the clock, so that dialogues replay
identically in tests and benchmarks.

The common phrases are handled by small rules below; everything else falls back to
``dateparser``, which is slow to warm up (tens of milliseconds) and costs around a
millisecond per call, so results that depend only on the local date are cached.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "DEFAULT_DUE_TIME",
    "Deadline",
    "DeadlineProblem",
    "UnknownTimeZone",
    "parse_deadline",
    "parse_time_of_day",
    "read_back",
    "zone",
]

DEFAULT_DUE_TIME: time = time(17, 0)
"""When a deadline given as a day falls due: the end of a working day, local time."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Deadline:
    """A deadline the person can be held to. ``due`` is aware, in the person's zone;
    ``has_time`` says whether they named a time, or it is ``DEFAULT_DUE_TIME``."""

    due: datetime
    has_time: bool


@dataclass(frozen=True, slots=True, kw_only=True)
class DeadlineProblem:
    """Why a reply cannot be a deadline, so the bot can ask again helpfully.

    ``due`` is set for ``"past"`` so the bot can say which day it understood.
    """

    reason: Literal["unreadable", "past"]
    due: datetime | None = None


class UnknownTimeZone(ValueError):
    """A time zone name we cannot use; the message is fit to show the person."""


def zone(tz: str) -> ZoneInfo:
    """The zone for an IANA name, with a message a person can act on when it is wrong."""
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise UnknownTimeZone(
            f"I don't recognise the time zone {tz!r}. "
            "Please use a name like 'Europe/London' or 'America/New_York'."
        ) from exc


# --------------------------------------------------------------------------- times

_AMPM = r"(?P<ampm>[ap])\.?\s?m\.?"
_TIME_BODY = (
    r"(?:(?P<word>noon|midday|midnight)"
    rf"|(?P<h12>\d{{1,2}})(?:[:.](?P<m12>\d{{2}}))?\s*{_AMPM}"
    r"|(?P<h24>\d{1,2})[:h](?P<m24>\d{2})"
    r"|(?P<hdot>\d{1,2})\.(?P<mdot>\d{2}))"
)
_TIME = re.compile(rf"(?:at\s+|@\s*)?{_TIME_BODY}", re.IGNORECASE)


def _time_from(match: re.Match[str]) -> time | None:
    word = match.group("word")
    if word:
        return time(0, 0) if word.lower() == "midnight" else time(12, 0)
    if match.group("h12") is not None:
        hour, minute = int(match.group("h12")), int(match.group("m12") or 0)
        if not 1 <= hour <= 12 or minute > 59:
            return None
        hour %= 12
        if match.group("ampm").lower() == "p":
            hour += 12
        return time(hour, minute)
    if match.group("h24") is not None:
        hour, minute = int(match.group("h24")), int(match.group("m24"))
    else:
        hour, minute = int(match.group("hdot")), int(match.group("mdot"))
    if hour > 23 or minute > 59:
        return None
    return time(hour, minute)


def parse_time_of_day(text: str) -> time | None:
    """A clock time such as "7am", "19:00", "7.30pm" or "noon", or ``None``.

    A bare number ("7") is ``None``: it could be morning or evening, so the bot asks.
    """
    match = _TIME.fullmatch(text.strip().rstrip(".!?,;:…").strip())
    return _time_from(match) if match else None


# ------------------------------------------------------------------ normalisation

_FILLER_BEFORE = re.compile(
    r"^(?:by|before|on|until|till|til|due|due by|due on|no later than|latest by|for)\s+"
)
_FILLER_AFTER = re.compile(r"\s+(?:at the latest|latest|at the very latest)$")


def _normalise(text: str) -> str:
    text = re.sub(r"[’‘`´]", "'", text.casefold())
    text = re.sub(r"[,;]", " ", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(".!?:…").strip()
    previous = None
    while previous != text:
        previous = text
        text = _FILLER_BEFORE.sub("", text)
        text = _FILLER_AFTER.sub("", text)
    return text


# ------------------------------------------------------------- date-only rules

_WEEKDAYS = {
    "monday": 0, "mon": 0,
    "tuesday": 1, "tue": 1, "tues": 1,
    "wednesday": 2, "wed": 2, "weds": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3,
    "friday": 4, "fri": 4,
    "saturday": 5, "sat": 5,
    "sunday": 6, "sun": 6,
}  # fmt: skip
_MONTHS = {
    "january": 1, "jan": 1, "february": 2, "feb": 2, "march": 3, "mar": 3,
    "april": 4, "apr": 4, "may": 5, "june": 6, "jun": 6, "july": 7, "jul": 7,
    "august": 8, "aug": 8, "september": 9, "sep": 9, "sept": 9,
    "october": 10, "oct": 10, "november": 11, "nov": 11, "december": 12, "dec": 12,
}  # fmt: skip
_NUMBERS = {
    "a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
    "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12,
    "fifteen": 15, "twenty": 20, "thirty": 30,
    "a couple of": 2, "a couple": 2, "couple of": 2, "a few": 3, "few": 3,
}  # fmt: skip

_WD = "|".join(sorted(_WEEKDAYS, key=len, reverse=True))
_MON = "|".join(sorted(_MONTHS, key=len, reverse=True))
_NUM = r"\d{1,3}|" + "|".join(sorted(_NUMBERS, key=len, reverse=True))
_ORD = r"(?:st|nd|rd|th)?"
_THE = r"(?:the\s+)?"
_THIS = r"(?:the\s+|this\s+)?"


class _Unreadable(Exception):
    """A phrase our rules recognise but which names no real day ("February 30")."""


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


def _month_end(year: int, month: int) -> date:
    return date(year, month, calendar.monthrange(year, month)[1])


def _real_date(year: int, month: int, day: int) -> date:
    try:
        return date(year, month, day)
    except ValueError as exc:
        raise _Unreadable from exc


def _future_date(today: date, month: int, day: int) -> date:
    """The next ``month``/``day`` on or after today: "Jan 5" in December is next January."""
    for year in range(today.year, today.year + 9):
        try:
            candidate = date(year, month, day)
        except ValueError:  # 29 February in a common year
            continue
        if candidate >= today:
            return candidate
    raise _Unreadable


def _count(word: str) -> int:
    return int(word) if word.isdigit() else _NUMBERS[word]


def _weekday_rule(match: re.Match[str], today: date) -> date:
    target = _WEEKDAYS[match.group("wd")]
    which = match.group("which") or match.group("after") or ""
    if which == "after next":  # "Friday after next": a week after the bare "Friday"
        return _next_weekday(target, today) + timedelta(weeks=1)
    if which.startswith("next"):
        return _monday(today) + timedelta(days=7 + target)
    if which.startswith("this"):
        if match.group("after"):  # "Monday this week": that day, even if it has passed
            return _monday(today) + timedelta(days=target)
        return today + timedelta(days=(target - today.weekday()) % 7)
    return _next_weekday(target, today)


def _next_weekday(target: int, today: date) -> date:
    # Bare "Friday" said on a Friday means next week: "today" would have been said.
    return today + timedelta(days=(target - today.weekday() - 1) % 7 + 1)


def _relative_rule(match: re.Match[str], today: date) -> date:
    amount = _count(match.group("n") or "a")
    unit = match.group("unit")
    if match.group("ago"):
        amount = -amount
    if unit.startswith("day"):
        return today + timedelta(days=amount)
    if unit.startswith("week"):
        return today + timedelta(weeks=amount)
    if unit.startswith("fortnight"):
        return today + timedelta(weeks=2 * amount)
    if unit.startswith("month"):
        return _add_months(today, amount)
    return _add_months(today, 12 * amount)


def _month_day_rule(match: re.Match[str], today: date) -> date:
    month, day = _MONTHS[match.group("mon")], int(match.group("day"))
    if match.group("year"):
        return _real_date(int(match.group("year")), month, day)
    if not 1 <= day <= 31:
        raise _Unreadable
    return _future_date(today, month, day)


def _quarter_end(today: date, quarters: int = 0) -> date:
    first_month = _add_months(date(today.year, (today.month - 1) // 3 * 3 + 1, 1), 3 * quarters)
    return _month_end(first_month.year, first_month.month + 2)


def _end_of_week(today: date) -> date:
    # The coming Friday; at the weekend this week's Friday has gone, so next week's.
    friday = _monday(today) + timedelta(days=4)
    return friday if friday >= today else friday + timedelta(weeks=1)


def _month_part_rule(match: re.Match[str], today: date) -> date:
    month = _MONTHS[match.group("mon")]
    part = match.group("part") or "start"

    def in_year(year: int) -> date:
        if part == "end":
            return _month_end(year, month)
        if part in ("mid", "middle"):
            return date(year, month, 15)
        return date(year, month, 1)  # "by March" means by the time March begins

    if match.group("year"):
        return in_year(int(match.group("year")))
    candidate = in_year(today.year)
    return candidate if candidate >= today else in_year(today.year + 1)


def _day_of_month_rule(match: re.Match[str], today: date) -> date:
    day = int(match.group("day"))
    if not 1 <= day <= 31:
        raise _Unreadable
    first = today.replace(day=1)
    for months in range(12):
        month_start = _add_months(first, months)
        if day <= calendar.monthrange(month_start.year, month_start.month)[1]:
            candidate = month_start.replace(day=day)
            if candidate >= today:
                return candidate
    raise _Unreadable


def _iso_rule(match: re.Match[str], today: date) -> date:
    return _real_date(int(match.group("y")), int(match.group("m")), int(match.group("d")))


_RuleFn = Callable[[re.Match[str], date], date]

_RULES: tuple[tuple[re.Pattern[str], _RuleFn], ...] = (
    (
        re.compile(
            rf"(?:(?P<which>this coming|this|coming|next)\s+)?(?P<wd>{_WD})"
            r"(?:\s+(?P<after>this week|next week|after next))?"
        ),
        _weekday_rule,
    ),
    (
        re.compile(
            rf"(?:(?:in|within)\s+)?(?P<n>{_NUM})\s+"
            r"(?P<unit>days?|weeks?|fortnights?|months?|years?)'?"
            r"(?:\s+(?:from now|from today|time)|\s+(?P<ago>ago))?"
        ),
        _relative_rule,
    ),
    (re.compile(r"(?P<y>\d{4})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})"), _iso_rule),
    (
        re.compile(
            rf"(?:(?:{_WD})\s+)?{_THE}(?P<mon>{_MON})\s+{_THE}(?P<day>\d{{1,2}}){_ORD}"
            r"(?:\s+(?P<year>\d{4}))?"
        ),
        _month_day_rule,
    ),
    (
        re.compile(
            rf"(?:(?:{_WD})\s+)?{_THE}(?P<day>\d{{1,2}}){_ORD}\s+(?:of\s+)?(?P<mon>{_MON})"
            r"(?:\s+(?P<year>\d{4}))?"
        ),
        _month_day_rule,
    ),
    (
        re.compile(
            rf"(?:{_THIS}(?P<part>end|start|beginning|mid|middle)(?:\s+of\s+|-|\s+))?"
            rf"(?P<mon>{_MON})(?:\s+(?P<year>\d{{4}}))?"
        ),
        _month_part_rule,
    ),
    (
        re.compile(r"(?:the\s+)?(?P<day>\d{1,2})(?:st|nd|rd|th)(?:\s+of\s+(?:the|this)\s+month)?"),
        _day_of_month_rule,
    ),
)


def _fixed_phrases(today: date) -> dict[str, date]:
    tomorrow = today + timedelta(days=1)
    next_monday = _monday(today) + timedelta(weeks=1)
    month_end = _month_end(today.year, today.month)
    next_month = _add_months(today.replace(day=1), 1)
    year_end = date(today.year, 12, 31)
    phrases: dict[tuple[str, ...], date] = {
        ("today", "eod", "cob", "end of day", "end of the day", "end of today"): today,
        ("close of business", "close of play"): today,
        ("tomorrow", "tmrw", "tmr", "tomorow", "tommorow", "tommorrow", "end of tomorrow"): (
            tomorrow
        ),
        ("day after tomorrow", "the day after tomorrow"): today + timedelta(days=2),
        ("next week", "early next week", "start of next week", "beginning of next week"): (
            next_monday
        ),
        ("end of week", "end of the week", "end of this week", "eow"): _end_of_week(today),
        ("end of next week",): next_monday + timedelta(days=4),
        ("end of month", "end of the month", "end of this month", "month end", "eom"): month_end,
        ("next month", "start of next month", "beginning of next month"): next_month,
        ("end of next month",): _month_end(next_month.year, next_month.month),
        ("end of quarter", "end of the quarter", "end of this quarter", "eoq"): (
            _quarter_end(today)
        ),
        ("end of next quarter",): _quarter_end(today, 1),
        ("end of year", "end of the year", "end of this year", "year end", "eoy"): year_end,
        ("next year",): date(today.year + 1, 1, 1),
        ("end of next year",): date(today.year + 1, 12, 31),
    }
    return {phrase: day for names, day in phrases.items() for phrase in names}


def _by_rules(text: str, today: date) -> date | None:
    """The day a date-only phrase names, or ``None`` when no rule knows the phrase."""
    fixed = _fixed_phrases(today).get(text.removeprefix("the "))
    if fixed is not None:
        return fixed
    for pattern, rule in _RULES:
        match = pattern.fullmatch(text)
        if match:
            return rule(match, today)
    return None


# ------------------------------------------------------------ time + date split

_TIME_LAST = re.compile(rf"(?:(?P<rest>.*?)\s+|^)(?P<at>(?:at|@)\s*)?{_TIME_BODY}")
_TIME_FIRST = re.compile(rf"(?P<at>(?:at|@)\s*)?{_TIME_BODY}\s+(?:on\s+)?(?P<rest>.+)")
_BARE_HOUR = re.compile(r"(?:(?P<rest>.*?)\s+|^)(?:at|@)\s*(?P<hour>\d{1,2})")


def _split_time(text: str) -> tuple[str, time | None] | None:
    """The date part and the named time; ``None`` when the time is not a real time."""
    for pattern in (_TIME_LAST, _TIME_FIRST):
        match = pattern.fullmatch(text)
        if not match:
            continue
        rest = (match.group("rest") or "").strip()
        if match.group("hdot") is not None and not rest and not match.group("at"):
            # "3.12" alone: 03:12, 3 December or 12 March? Too ambiguous to guess.
            return None
        at = _time_from(match)
        return (rest, at) if at is not None else None
    match = _BARE_HOUR.fullmatch(text)
    if match:
        # "Friday at 3" is a working-hours deadline: 8-11 in the morning, 12-7 afternoon.
        hour = int(match.group("hour"))
        if not 1 <= hour <= 12:
            return None
        return (match.group("rest") or "").strip(), time(hour + 12 if hour < 8 else hour, 0)
    return text, None


# ------------------------------------------------------------------- dateparser

_SUB_DAY = re.compile(r"\b(?:hours?|hrs?|minutes?|mins?|seconds?|secs?|now|ago)\b")


def _by_dateparser(text: str, today: date, tz: str) -> tuple[date, time | None] | None:
    if _SUB_DAY.search(text):
        # Would depend on the time of day, which the cache key leaves out on purpose.
        return None
    import dateparser  # deferred: importing it costs ~0.1 s and most phrases never need it

    parsed = dateparser.parse(
        text,
        languages=["en"],
        settings={
            "PREFER_DATES_FROM": "future",
            "PREFER_DAY_OF_MONTH": "first",
            "RELATIVE_BASE": datetime.combine(today, time(0, 0)),
            "TIMEZONE": tz,
            "TO_TIMEZONE": tz,
            "RETURN_AS_TIMEZONE_AWARE": False,
        },
    )
    if parsed is None:
        return None
    at = parsed.time().replace(second=0, microsecond=0)
    return parsed.date(), (None if at == time(0, 0) else at)


@lru_cache(maxsize=4096)
def _parse_local(text: str, today: date, tz: str) -> tuple[date, time | None] | None:
    """The local day and time a normalised phrase names, given only the local date.

    Pure in its arguments, hence cached: a dialogue replayed in a benchmark asks the
    same questions on the same day over and over.
    """
    split = _split_time(text)
    if split is None:
        return None
    rest, at = split
    try:
        day = today if (not rest and at is not None) else _by_rules(rest, today)
    except _Unreadable:
        return None
    if day is not None:
        return day, at
    if at is None:
        return _by_dateparser(rest, today, tz)
    found = _by_dateparser(rest, today, tz)
    return (found[0], at) if found is not None else _by_dateparser(text, today, tz)


_WITHIN_DAY = re.compile(
    rf"(?:in|within)\s+(?P<n>half an|{_NUM})\s+(?P<unit>hours?|hrs?|minutes?|mins?)"
    rf"|(?P<n2>{_NUM})\s+(?P<unit2>hours?|hrs?|minutes?|mins?)\s+from now"
)


def _within_day(text: str, local_now: datetime) -> datetime | None:
    """Deadlines counted in hours or minutes: the only ones that need the clock time."""
    match = _WITHIN_DAY.fullmatch(text)
    if not match:
        return None
    amount_text = match.group("n") or match.group("n2")
    unit = match.group("unit") or match.group("unit2")
    amount = 0.5 if amount_text == "half an" else float(_count(amount_text))
    minutes = amount * 60 if unit.startswith("h") else amount
    # Elapsed time, not wall-clock time: "in 2 hours" across a DST change is still 2 hours.
    start = local_now.replace(second=0, microsecond=0).astimezone(UTC)
    assert local_now.tzinfo is not None
    return (start + timedelta(minutes=minutes)).astimezone(local_now.tzinfo)


# ------------------------------------------------------------------ public API


def _settle(due: datetime) -> datetime:
    """A wall time that exists: 02:30 on a spring-forward night becomes 03:30."""
    assert due.tzinfo is not None
    return due.astimezone(UTC).astimezone(due.tzinfo)


def parse_deadline(text: str, *, now: datetime, tz: str) -> Deadline | DeadlineProblem:
    """Read a deadline the way the person meant it, in their own time zone.

    A day without a time falls due at ``DEFAULT_DUE_TIME``. Anything not ahead of
    ``now`` is a ``"past"`` problem, with the understood date, so the bot can say
    "Monday 2 November has already gone — which day did you mean?".
    Raises ``UnknownTimeZone`` for a bad ``tz`` and ``ValueError`` for a naive ``now``.
    """
    where = zone(tz)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    local_now = now.astimezone(where)
    phrase = _normalise(text)
    if not phrase:
        return DeadlineProblem(reason="unreadable")
    soon = _within_day(phrase, local_now)
    if soon is not None:
        return Deadline(due=soon, has_time=True)
    parsed = _parse_local(phrase, local_now.date(), tz)
    if parsed is None:
        return DeadlineProblem(reason="unreadable")
    day, at = parsed
    due = _settle(datetime.combine(day, at or DEFAULT_DUE_TIME, tzinfo=where))
    if due.astimezone(UTC) <= now.astimezone(UTC):
        return DeadlineProblem(reason="past", due=due)
    return Deadline(due=due, has_time=at is not None)


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES = (
    "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)  # fmt: skip


def read_back(due: datetime, *, now: datetime, has_time: bool = False) -> str:
    """The deadline as the bot says it back for confirmation: "Friday 27 November".

    Spelled out in English regardless of the machine's locale; the year appears only
    when it is not the current one (in the deadline's zone), the time only when the
    person named one.
    """
    if due.tzinfo is None or now.tzinfo is None:
        raise ValueError("due and now must be timezone-aware")
    this_year = now.astimezone(due.tzinfo).year
    text = f"{_DAY_NAMES[due.weekday()]} {due.day} {_MONTH_NAMES[due.month - 1]}"
    if due.year != this_year:
        text += f" {due.year}"
    if has_time:
        text += f" at {due:%H:%M}"
    return text
