"""Nudge settings as a person types them: "quiet 9pm-7am", "days mon-fri", "pause until Friday".

Every adapter (``/breakthrough settings quiet 22:00-07:00`` in Slack, ``/settings`` in
the console) passes the words after its settings command here, so the grammar, the
confirmations and the error messages are the same everywhere. Parsing is forgiving
(case, spacing, "9pm" or "21:00", "mon-fri" or "weekdays"); when it fails, the message
says what was wrong and shows a form that works, and nothing changes.

Pure: time comes in as ``now``; times of day and dates are read with the same functions
as deadlines in a coaching session (:mod:`core.language`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from typing import Final, Literal
from zoneinfo import available_timezones

from core.language import (
    DeadlineProblem,
    UnknownTimeZone,
    parse_deadline,
    parse_time_of_day,
    read_back,
    zone,
)
from core.schedule.model import (
    ALL_DAYS,
    DEFAULT_QUIET_END,
    DEFAULT_QUIET_START,
    Preferences,
)

__all__ = ["SETTINGS_HELP", "SettingError", "apply_setting", "describe"]


class SettingError(ValueError):
    """A setting that could not be read; the message says why and shows an example."""


SETTINGS_HELP: Final = """\
Settings you can change, one at a time:
  tz Europe/Berlin — your time zone
  quiet 21:00-08:00 — no nudges between these times (quiet off: none)
  days mon-fri — the days nudges may come (also: weekdays, mon,wed,fri, all)
  lead 2h — how long before a deadline to remind you (lead default: the usual rule)
  morning 8:30 — when morning reminders come
  pause until 5 December — hold every nudge until then (resume: end a pause early)
  nudges off — no nudges at all (nudges on: back again)
  share ask — when you finish a team step: ask whether to celebrate it in the team's
    channel (share always: celebrate without asking; share never: keep it private)"""

_HOW_TO_CHANGE: Final = (
    'To change one, put it after the settings command, e.g. "settings quiet 22:00-07:00"; '
    '"settings help" lists them all.'
)

_MIN_LEAD: Final = timedelta(minutes=5)
_MAX_LEAD: Final = timedelta(days=14)

_DAY_NAMES: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_DAY_WORDS: Final = {
    "monday": 0, "mon": 0, "mo": 0,
    "tuesday": 1, "tue": 1, "tues": 1, "tu": 1,
    "wednesday": 2, "wed": 2, "weds": 2, "we": 2,
    "thursday": 3, "thu": 3, "thur": 3, "thurs": 3, "th": 3,
    "friday": 4, "fri": 4, "fr": 4,
    "saturday": 5, "sat": 5, "sa": 5,
    "sunday": 6, "sun": 6, "su": 6,
}  # fmt: skip
_DAY_GROUPS: Final = {
    "all": ALL_DAYS,
    "every day": ALL_DAYS,
    "everyday": ALL_DAYS,
    "daily": ALL_DAYS,
    "all days": ALL_DAYS,
    "any": ALL_DAYS,
    "weekdays": frozenset(range(5)),
    "week days": frozenset(range(5)),
    "workdays": frozenset(range(5)),
    "working days": frozenset(range(5)),
    "weekends": frozenset({5, 6}),
    "weekend": frozenset({5, 6}),
}

_KEYWORDS: Final = {
    "tz": "tz",
    "timezone": "tz",
    "time zone": "tz",
    "time-zone": "tz",
    "zone": "tz",
    "quiet": "quiet",
    "quiet hours": "quiet",
    "quiet-hours": "quiet",
    "quiet time": "quiet",
    "days": "days",
    "day": "days",
    "working days": "days",
    "work days": "days",
    "workdays": "days",
    "lead": "lead",
    "lead time": "lead",
    "morning": "morning",
    "mornings": "morning",
    "morning time": "morning",
    "pause": "pause",
    "pause nudges": "pause",
    "vacation": "pause",
    "holiday": "pause",
    "holidays": "pause",
    "away": "pause",
    "resume": "resume",
    "unpause": "resume",
    "nudges": "nudges",
    "nudge": "nudges",
    "nudging": "nudges",
    "share": "share",
    "sharing": "share",
    "celebrate": "share",
    "celebrations": "share",
    "help": "help",
}
_KEYWORD: Final = re.compile(
    r"(?P<key>"
    + "|".join(re.escape(k) for k in sorted(_KEYWORDS, key=len, reverse=True))
    + r")(?:\s*[:=]\s*|\s+|$)(?P<rest>.*)",
    re.IGNORECASE | re.DOTALL,
)
_PREFIX: Final = re.compile(r"^(?:/?breakthrough\s+)?(?:/?settings?|set)(?:\s+|$)", re.IGNORECASE)

_OFF: Final = frozenset({"off", "none", "no", "never", "disable", "disabled", "stop", "false"})
_ON: Final = frozenset({"on", "yes", "enable", "enabled", "start", "true"})
_DEFAULT: Final = frozenset({"default", "defaults", "auto", "usual", "normal", "reset"})


def apply_setting(
    prefs: Preferences, text: str, *, now: datetime, tz: str
) -> tuple[Preferences, str]:
    """Apply one typed setting; return the new preferences and a sentence confirming it.

    ``tz`` is the zone to read times and dates in when ``prefs.tz`` is unset (the
    person's platform zone); a ``tz`` the person set themselves always wins. Raises
    :class:`SettingError` (``prefs`` untouched) for anything it cannot read; ``help``
    also raises it, with :data:`SETTINGS_HELP` as the message, since the caller shows
    either the same way.
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be timezone-aware")
    words = _PREFIX.sub("", " ".join(text.split()), count=1).strip().rstrip(".!")
    match = _KEYWORD.fullmatch(words)
    if not match:
        shown = f"I don't know the setting {_q(words.split()[0])}.\n" if words else ""
        raise SettingError(f"{shown}{SETTINGS_HELP}")
    key = _KEYWORDS[match.group("key").casefold()]
    rest = match.group("rest").strip()
    here = prefs.tz or tz
    if key == "tz":
        return _set_tz(prefs, rest, now=now)
    if key == "quiet":
        return _set_quiet(prefs, rest)
    if key == "days":
        return _set_days(prefs, rest)
    if key == "lead":
        return _set_lead(prefs, rest)
    if key == "morning":
        return _set_morning(prefs, rest)
    if key == "pause":
        return _set_pause(prefs, rest, now=now, tz=here)
    if key == "resume":
        if rest.casefold() not in ("", "nudges", "now", "nudges now"):
            raise SettingError('To end a pause, just say "resume".')
        return _resume(prefs, now=now)
    if key == "nudges":
        return _set_nudges(prefs, rest, now=now)
    if key == "share":
        return _set_share(prefs, rest)
    raise SettingError(SETTINGS_HELP)


def describe(prefs: Preferences, *, tz: str, now: datetime) -> str:
    """The person's settings in plain words, one per line, then how to change them.

    ``tz`` is the zone used when ``prefs.tz`` is unset, as in :func:`apply_setting`.
    """
    here = prefs.tz or tz
    lines: list[str] = []
    if not prefs.nudges:
        lines.append('Nudges: off (say "nudges on" to have them again)')
    elif _paused(prefs, now):
        assert prefs.paused_until is not None
        lines.append(f"Nudges paused until {_when(prefs.paused_until, tz=here, now=now)}")
    else:
        lines.append("Nudges: on")
    lines.append(f"Time zone: {prefs.tz}" if prefs.tz else f"Time zone: {here} (assumed; not set)")
    lines.append(f"Quiet hours: {_quiet_text(prefs)}")
    lines.append(f"Days: {_days_text(prefs.working_days)}")
    lines.append(f"Reminders: {_lead_text(prefs.lead)}")
    lines.append(f"Morning reminders at {_clock(prefs.morning)}")
    lines.append(f"Team steps done: {_SHARE_TEXT[prefs.share]}")
    lines.append(_HOW_TO_CHANGE)
    return "\n".join(lines)


# ------------------------------------------------------------------ time zone


def _set_tz(prefs: Preferences, rest: str, *, now: datetime) -> tuple[Preferences, str]:
    example = 'e.g. "tz Europe/Berlin" or "tz America/New_York"'
    if not rest:
        raise SettingError(f"Which time zone? Give its name, {example}.")
    name = _zone_name(rest)
    if name is None:
        raise SettingError(
            f"I don't recognise the time zone {_q(rest)}. Use a region/city name, {example}."
        )
    local = now.astimezone(zone(name))
    changed = replace(prefs, tz=name)
    return changed, f"Time zone set to {name}; it's {_clock(local.time())} there now."


def _zone_name(text: str) -> str | None:
    """The IANA name meant by ``text``, spelled canonically: any case, or just the city.

    "europe/berlin", "Berlin" and "new york" all work. Abbreviations such as "EST" or
    "CET" are refused even though the tz database has them: they ignore daylight saving
    time where the person lives, so nudges would drift an hour for half the year.
    """
    candidate = "_".join(text.split())
    lowered = candidate.casefold()
    if lowered in ("utc", "gmt", "z", "etc/utc"):
        return "UTC"
    by_name, by_city = _zone_index()
    found = by_name.get(lowered) or by_city.get(lowered)
    if found is not None:
        return found
    try:  # a valid name the index does not list (a newer or older tz database)
        zone(candidate)
    except UnknownTimeZone:
        return None
    if "/" not in candidate:
        raise SettingError(
            f"{_q(text.strip())} is an abbreviation that ignores daylight saving time where "
            'you live. Use a region/city name, e.g. "tz America/New_York" or "tz Europe/Paris".'
        )
    return candidate


@lru_cache(maxsize=1)
def _zone_index() -> tuple[dict[str, str], dict[str, str]]:
    """Every zone by its lower-cased name, and by its unambiguous last part (the city).

    Built once, lazily: listing the zones reads the tz database (tens of milliseconds).
    """
    names = {
        n for n in available_timezones() if "/" in n and not n.startswith(("Etc/", "SystemV/"))
    }
    by_name = {n.casefold(): n for n in names}
    cities: dict[str, set[str]] = {}
    for n in names:
        cities.setdefault(n.rsplit("/", 1)[1].casefold(), set()).add(n)
    by_city = {city: next(iter(found)) for city, found in cities.items() if len(found) == 1}
    return by_name, by_city


# ---------------------------------------------------------------- quiet hours


def _set_quiet(prefs: Preferences, rest: str) -> tuple[Preferences, str]:
    example = 'e.g. "quiet 21:00-08:00", "quiet 9pm-7am" or "quiet off"'
    word = rest.casefold()
    if word in _OFF:
        changed = replace(prefs, quiet_start=None, quiet_end=None)
        return changed, "Quiet hours off: nudges may come at any hour."
    if word in _ON or word in _DEFAULT:
        changed = replace(prefs, quiet_start=DEFAULT_QUIET_START, quiet_end=DEFAULT_QUIET_END)
        return changed, f"Quiet hours set to {_quiet_text(changed)}: no nudges in that time."
    if not rest:
        raise SettingError(f"Which hours should be quiet? Give a start and an end, {example}.")
    body = re.sub(r"^(?:from|between)\s+", "", word)
    parts = re.split(r"\s*(?:-|–|—|\bto\b|\buntil\b|\btill\b|\band\b)\s*", body)
    if len(parts) != 2 or not all(parts):
        raise SettingError(f"Quiet hours need a start and an end, {example}.")
    start, end = (parse_time_of_day(p) for p in parts)
    if start is None or end is None:
        bad = parts[0] if start is None else parts[1]
        raise SettingError(
            f"I couldn't read {_q(bad)} as a time of day; use 21:00 or 9pm, {example}."
        )
    if start == end:
        raise SettingError(
            f"Quiet hours can't start and end at the same time ({_clock(start)}); "
            f'to have none, say "quiet off". Otherwise, {example}.'
        )
    changed = replace(prefs, quiet_start=start, quiet_end=end)
    return changed, f"Quiet hours set to {_quiet_text(changed)}: no nudges in that time."


def _quiet_text(prefs: Preferences) -> str:
    if prefs.quiet_start is None or prefs.quiet_end is None:
        return "none"
    return f"{_clock(prefs.quiet_start)}-{_clock(prefs.quiet_end)}"


# ----------------------------------------------------------------------- days


def _set_days(prefs: Preferences, rest: str) -> tuple[Preferences, str]:
    days = _parse_days(rest)
    changed = replace(prefs, working_days=days)
    on = "" if days == ALL_DAYS else "on "
    return changed, f"Nudges may come {on}{_days_text(days)}."


def _parse_days(text: str) -> frozenset[int]:
    example = 'e.g. "days mon-fri", "days mon,wed,fri", "days weekdays" or "days all"'
    word = " ".join(text.casefold().replace("&", " and ").split())
    if not word:
        raise SettingError(f"Which days may nudges come? {example[0].upper()}{example[1:]}.")
    if word in _DAY_GROUPS:
        return _DAY_GROUPS[word]
    if word in _OFF:
        raise SettingError(f'To stop nudges altogether, say "nudges off". For days, {example}.')
    days: set[int] = set()
    pieces = [p for p in re.split(r"\s*(?:,|;|/|\band\b|\s)\s*", _join_ranges(word)) if p]
    for piece in pieces:
        if piece in _DAY_GROUPS:
            days |= _DAY_GROUPS[piece]
            continue
        first, sep, last = piece.partition("-")
        if first not in _DAY_WORDS or (sep and last not in _DAY_WORDS):
            raise SettingError(f"I couldn't read {_q(piece)} as a day; {example}.")
        start = _DAY_WORDS[first]
        end = _DAY_WORDS[last] if sep else start
        span = (end - start) % 7  # "fri-mon" wraps over the weekend
        days |= {(start + i) % 7 for i in range(span + 1)}
    return frozenset(days)


def _join_ranges(text: str) -> str:
    """ "monday to friday", "mon – fri" and "mon through fri" as "monday-friday"."""
    return re.sub(r"\s*(?:–|—|-|\bto\b|\bthrough\b|\bthru\b|\buntil\b|\btill\b)\s*", "-", text)


def _days_text(days: frozenset[int]) -> str:
    """ "every day", "Monday to Friday", "Friday to Monday", "Monday, Wednesday and Friday"."""
    if days == ALL_DAYS or not days:
        return "every day"
    starts = [d for d in days if (d - 1) % 7 not in days]
    if len(days) >= 3 and len(starts) == 1:  # one unbroken run, perhaps over the weekend
        first = starts[0]
        return f"{_DAY_NAMES[first]} to {_DAY_NAMES[(first + len(days) - 1) % 7]}"
    names = [_DAY_NAMES[d] for d in sorted(days)]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


# ----------------------------------------------------------------------- lead

_DURATION_PART: Final = re.compile(
    r"(?P<n>\d+(?:\.\d+)?|an?|one|half an?)\s*"
    r"(?P<unit>weeks?|w|days?|d|hours?|hrs?|h|minutes?|mins?|m)(?![a-z])"
)
_UNIT_SECONDS: Final = {"w": 604_800, "d": 86_400, "h": 3_600, "m": 60}


def _set_lead(prefs: Preferences, rest: str) -> tuple[Preferences, str]:
    example = 'e.g. "lead 2h", "lead 1d", "lead 30m" or "lead default"'
    word = rest.casefold().removesuffix(" before").removesuffix(" ahead").strip()
    if word in _DEFAULT or word in _OFF:
        changed = replace(prefs, lead=None)
        return changed, f"Reminders back to {_lead_text(None)}."
    if not word:
        raise SettingError(
            f"How long before a deadline should I remind you? {example[0].upper()}{example[1:]}."
        )
    lead = _parse_duration(word)
    if lead is None:
        raise SettingError(f"I couldn't read {_q(rest)} as a length of time; {example}.")
    if not _MIN_LEAD <= lead <= _MAX_LEAD:
        raise SettingError(
            f"A reminder can come between 5 minutes and 14 days before a deadline; {example}."
        )
    changed = replace(prefs, lead=lead)
    return changed, f"Reminders will come {_duration_text(lead)} before each deadline."


def _parse_duration(text: str) -> timedelta | None:
    """ "2h", "1 day", "1h30m", "90 minutes", "an hour", "half an hour"; else ``None``."""
    compact = re.sub(r"\s*(?:and|,)\s*", " ", text).strip()
    total = 0.0
    position = 0
    for match in _DURATION_PART.finditer(compact):
        if compact[position : match.start()].strip():
            return None
        number = match.group("n")
        amount = (
            0.5
            if number.startswith("half")
            else 1.0
            if number in ("a", "an", "one")
            else float(number)
        )
        total += amount * _UNIT_SECONDS[match.group("unit")[0]]
        position = match.end()
    if position == 0 or compact[position:].strip():
        return None
    return timedelta(seconds=round(total))


def _duration_text(lead: timedelta) -> str:
    minutes = int(lead.total_seconds() // 60)
    days, minutes = divmod(minutes, 1440)
    hours, minutes = divmod(minutes, 60)
    parts = [
        f"{n} {unit}{'' if n == 1 else 's'}"
        for n, unit in ((days, "day"), (hours, "hour"), (minutes, "minute"))
        if n
    ]
    return " and ".join(parts) if len(parts) <= 2 else f"{parts[0]}, {parts[1]} and {parts[2]}"


def _lead_text(lead: timedelta | None) -> str:
    if lead is None:
        return (
            "the usual rule (the day before for deadlines more than two days away, "
            "otherwise that morning)"
        )
    return f"{_duration_text(lead)} before each deadline"


# -------------------------------------------------------------------- morning


def _set_morning(prefs: Preferences, rest: str) -> tuple[Preferences, str]:
    example = 'e.g. "morning 8:30" or "morning 7am"'
    if not rest:
        raise SettingError(f"When do your mornings start? Give a time, {example}.")
    at = parse_time_of_day(rest)
    if at is None and re.fullmatch(r"\d{1,2}", rest.strip()):
        hour = int(rest)  # "morning 8" is unambiguous: it's the morning
        at = time(hour, 0) if hour < 24 else None
    if at is None:
        raise SettingError(f"I couldn't read {_q(rest)} as a time of day; {example}.")
    changed = replace(prefs, morning=at)
    reply = f"Morning reminders will come at {_clock(at)}."
    start, end = prefs.quiet_start, prefs.quiet_end
    if start is not None and end is not None and _inside(at, start, end):
        reply += (
            f" That's inside your quiet hours ({_quiet_text(prefs)}), so they will wait"
            f" until {_clock(end)}."
        )
    return changed, reply


def _inside(at: time, start: time, end: time) -> bool:
    return start <= at < end if start < end else (at >= start or at < end)


# ---------------------------------------------------------------------- pause


def _set_pause(prefs: Preferences, rest: str, *, now: datetime, tz: str) -> tuple[Preferences, str]:
    example = 'e.g. "pause until 5 December", "pause until Friday" or "pause for 2 weeks"'
    word = rest.casefold()
    if word in _OFF or word in ("end", "over", "done"):
        return _resume(prefs, now=now)
    if not rest:
        raise SettingError(f"Until when? {example[0].upper()}{example[1:]}.")
    found = parse_deadline(rest, now=now, tz=tz)
    if isinstance(found, DeadlineProblem):
        if found.reason == "past" and found.due is not None:
            if found.due.date() == now.astimezone(found.due.tzinfo).date():
                raise SettingError(f"Today is already under way; pick a day ahead, {example}.")
            gone = read_back(found.due, now=now)
            raise SettingError(f"{gone} has already gone; pick a day ahead, {example}.")
        shown = re.sub(r"^(?:until|till|til)\s+", "", rest, flags=re.IGNORECASE)
        raise SettingError(f"I couldn't read {_q(shown)} as a date; {example}.")
    until = found.due
    if not found.has_time:
        # "Until Friday" means back on Friday: the pause ends as that day begins.
        until = found.due.replace(hour=0, minute=0)
        until = until.astimezone(UTC).astimezone(until.tzinfo)  # a midnight that exists
    if until <= now:
        raise SettingError(f"Today is already under way; pick a day ahead, {example}.")
    changed = replace(prefs, paused_until=until.astimezone(UTC))
    reply = (
        f"Nudges paused until {_when(changed.paused_until, tz=tz, now=now)}. "
        'Say "resume" to end the pause sooner.'
    )
    if not prefs.nudges:
        reply += ' (Nudges are off altogether, too; "nudges on" brings them back.)'
    return changed, reply


def _resume(prefs: Preferences, *, now: datetime) -> tuple[Preferences, str]:
    if not _paused(prefs, now):
        return replace(prefs, paused_until=None), "Nudges weren't paused; nothing to resume."
    reply = "Pause ended: nudges are back."
    if not prefs.nudges:
        reply = 'Pause ended, but nudges are off altogether; "nudges on" brings them back.'
    return replace(prefs, paused_until=None), reply


def _paused(prefs: Preferences, now: datetime) -> bool:
    return prefs.paused_until is not None and prefs.paused_until > now


# --------------------------------------------------------------------- nudges


def _set_nudges(prefs: Preferences, rest: str, *, now: datetime) -> tuple[Preferences, str]:
    word = rest.casefold()
    if word in _OFF:
        changed = replace(prefs, nudges=False)
        return changed, 'Nudges off: I won\'t send any until you say "nudges on".'
    if word in _ON:
        changed = replace(prefs, nudges=True)
        reply = "Nudges on."
        if _paused(prefs, now):
            reply += ' They are still paused, though; "resume" ends the pause.'
        return changed, reply
    raise SettingError('Say "nudges off" to stop all nudges, or "nudges on" to have them again.')


# -------------------------------------------------------------------- sharing

_SHARE_TEXT: Final = {
    "ask": "I ask before celebrating one in the team's channel",
    "always": "celebrated in the team's channel",
    "never": "kept private",
}


def _set_share(prefs: Preferences, rest: str) -> tuple[Preferences, str]:
    word = rest.casefold()
    share: Literal["ask", "always", "never"]
    if word in ("ask", "", *_DEFAULT):
        share = "ask"
    elif word in ("always", *_ON):
        share = "always"
    elif word in _OFF:
        share = "never"
    else:
        raise SettingError(
            'Say "share ask" (I ask each time), "share always" or "share never": whether a '
            "team step you finish is celebrated in the team's channel."
        )
    changed = replace(prefs, share=share)
    return changed, f"Team steps you finish: {_SHARE_TEXT[share]}."


# -------------------------------------------------------------------- helpers


def _q(text: str) -> str:
    """Quote the person's own words back, as the examples are quoted."""
    return f'"{text}"'


def _clock(at: time) -> str:
    return f"{at:%H:%M}"


def _when(at: datetime | None, *, tz: str, now: datetime) -> str:
    """A pause end as the person reads it: "Friday 4 December", with the time unless midnight."""
    assert at is not None
    local = at.astimezone(zone(tz))
    return read_back(local, now=now, has_time=local.time() != time(0, 0))
