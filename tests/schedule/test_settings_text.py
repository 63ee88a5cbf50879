"""Typed nudge settings: every form, every error, no change on error, the summary."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from core.schedule.model import ALL_DAYS, DEFAULT_QUIET_END, DEFAULT_QUIET_START, Preferences
from core.schedule.settings_text import SETTINGS_HELP, SettingError, apply_setting, describe

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
TZ = "Europe/London"


def apply(text: str, prefs: Preferences | None = None, *, now: datetime = NOW) -> Preferences:
    changed, reply = apply_setting(prefs or Preferences.defaults("ann"), text, now=now, tz=TZ)
    assert reply.strip()
    return changed


def error(text: str, prefs: Preferences | None = None) -> str:
    with pytest.raises(SettingError) as caught:
        apply_setting(prefs or Preferences.defaults("ann"), text, now=NOW, tz=TZ)
    return str(caught.value)


# ------------------------------------------------------------------- time zone


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("tz Europe/Berlin", "Europe/Berlin"),
        ("timezone America/New_York", "America/New_York"),
        ("Time zone: europe/paris", "Europe/Paris"),
        ("TZ=Asia/Tokyo", "Asia/Tokyo"),
        ("tz new york", "America/New_York"),
        ("tz Berlin", "Europe/Berlin"),
        ("tz utc", "UTC"),
    ],
)
def test_time_zone(text: str, expected: str) -> None:
    assert apply(text).tz == expected


def test_time_zone_confirmation_says_the_local_time() -> None:
    _, reply = apply_setting(Preferences.defaults("ann"), "tz Asia/Tokyo", now=NOW, tz=TZ)
    assert reply == "Time zone set to Asia/Tokyo; it's 19:00 there now."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("tz Mars/Olympus_Mons", '"Mars/Olympus_Mons"'),
        ("tz EST", "daylight saving"),
        ("tz", "Which time zone"),
    ],
)
def test_time_zone_errors(text: str, says: str) -> None:
    message = error(text)
    assert says in message
    assert "tz Europe/Berlin" in message or "tz America/New_York" in message


# ----------------------------------------------------------------- quiet hours


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("quiet 21:00-08:00", time(21), time(8)),
        ("quiet 9pm-7am", time(21), time(7)),
        ("Quiet 10.30pm - 6.45am", time(22, 30), time(6, 45)),
        ("quiet hours from 22:00 to 07:00", time(22), time(7)),
        ("quiet 13:00-14:00", time(13), time(14)),
        ("quiet off", None, None),
        ("quiet none", None, None),
        ("quiet on", DEFAULT_QUIET_START, DEFAULT_QUIET_END),
    ],
)
def test_quiet_hours(text: str, start: time | None, end: time | None) -> None:
    prefs = apply(text, Preferences(owner="ann", quiet_start=time(1), quiet_end=time(2)))
    assert (prefs.quiet_start, prefs.quiet_end) == (start, end)


def test_quiet_hours_confirmation() -> None:
    _, reply = apply_setting(Preferences.defaults("ann"), "quiet 9pm-7am", now=NOW, tz=TZ)
    assert reply == "Quiet hours set to 21:00-07:00: no nudges in that time."
    _, reply = apply_setting(Preferences.defaults("ann"), "quiet off", now=NOW, tz=TZ)
    assert reply == "Quiet hours off: nudges may come at any hour."


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("quiet", "Which hours"),
        ("quiet 9pm", "a start and an end"),
        ("quiet 9-7", '"9"'),  # a bare hour: morning or evening?
        ("quiet 9pm-25:00", '"25:00"'),
        ("quiet 8am-8am", "same time"),
    ],
)
def test_quiet_hours_errors(text: str, says: str) -> None:
    message = error(text)
    assert says in message
    assert "quiet 21:00-08:00" in message


# ------------------------------------------------------------------------ days


@pytest.mark.parametrize(
    ("text", "days"),
    [
        ("days mon-fri", {0, 1, 2, 3, 4}),
        ("days mon,wed,fri", {0, 2, 4}),
        ("days Mon, Wed & Fri", {0, 2, 4}),
        ("days monday to friday", {0, 1, 2, 3, 4}),
        ("days weekdays", {0, 1, 2, 3, 4}),
        ("days weekends", {5, 6}),
        ("days fri-mon", {4, 5, 6, 0}),
        ("days weekdays and sun", {0, 1, 2, 3, 4, 6}),
        ("days all", set(ALL_DAYS)),
        ("days every day", set(ALL_DAYS)),
        ("days daily", set(ALL_DAYS)),
    ],
)
def test_days(text: str, days: set[int]) -> None:
    assert apply(text, Preferences(owner="ann", working_days=frozenset({3}))).working_days == days


@pytest.mark.parametrize(
    ("text", "reply"),
    [
        ("days mon-fri", "Nudges may come on Monday to Friday."),
        ("days fri-mon", "Nudges may come on Friday to Monday."),
        ("days mon,wed,fri", "Nudges may come on Monday, Wednesday and Friday."),
        ("days sat sun", "Nudges may come on Saturday and Sunday."),
        ("days tue", "Nudges may come on Tuesday."),
        ("days all", "Nudges may come every day."),
    ],
)
def test_days_confirmation(text: str, reply: str) -> None:
    assert apply_setting(Preferences.defaults("ann"), text, now=NOW, tz=TZ)[1] == reply


@pytest.mark.parametrize(
    ("text", "says"),
    [("days", "Which days"), ("days funday", '"funday"'), ("days none", "nudges off")],
)
def test_days_errors(text: str, says: str) -> None:
    message = error(text)
    assert says in message
    assert "days mon-fri" in message


# ------------------------------------------------------------------------ lead


@pytest.mark.parametrize(
    ("text", "lead"),
    [
        ("lead 2h", timedelta(hours=2)),
        ("lead 1d", timedelta(days=1)),
        ("lead 30m", timedelta(minutes=30)),
        ("lead 1h30m", timedelta(minutes=90)),
        ("lead 90 minutes", timedelta(minutes=90)),
        ("lead 2 days before", timedelta(days=2)),
        ("lead an hour", timedelta(hours=1)),
        ("lead half an hour", timedelta(minutes=30)),
        ("lead 1.5h", timedelta(minutes=90)),
        ("lead 1 week", timedelta(weeks=1)),
        ("lead default", None),
    ],
)
def test_lead(text: str, lead: timedelta | None) -> None:
    assert apply(text, Preferences(owner="ann", lead=timedelta(hours=5))).lead == lead


def test_lead_confirmation() -> None:
    _, reply = apply_setting(Preferences.defaults("ann"), "lead 1h30m", now=NOW, tz=TZ)
    assert reply == "Reminders will come 1 hour and 30 minutes before each deadline."
    _, reply = apply_setting(Preferences.defaults("ann"), "lead default", now=NOW, tz=TZ)
    assert reply.startswith("Reminders back to the usual rule (the day before")


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("lead", "How long"),
        ("lead soon", '"soon"'),
        ("lead 2 months", '"2 months"'),
        ("lead 1m", "between 5 minutes and 14 days"),
        ("lead 3 weeks", "between 5 minutes and 14 days"),
    ],
)
def test_lead_errors(text: str, says: str) -> None:
    message = error(text)
    assert says in message
    assert "lead 2h" in message


# --------------------------------------------------------------------- morning


@pytest.mark.parametrize(
    ("text", "morning"),
    [
        ("morning 8:30", time(8, 30)),
        ("morning 7am", time(7)),
        ("Morning: 10.15am", time(10, 15)),
        ("morning 8", time(8)),
    ],
)
def test_morning(text: str, morning: time) -> None:
    assert apply(text).morning == morning


def test_morning_inside_quiet_hours_says_so() -> None:
    _, reply = apply_setting(Preferences.defaults("ann"), "morning 7am", now=NOW, tz=TZ)
    assert reply.startswith("Morning reminders will come at 07:00.")
    assert "wait until 08:00" in reply
    _, reply = apply_setting(Preferences.defaults("ann"), "morning 8:30", now=NOW, tz=TZ)
    assert reply == "Morning reminders will come at 08:30."


@pytest.mark.parametrize("text", ["morning", "morning early", "morning 25"])
def test_morning_errors(text: str) -> None:
    assert "morning 8:30" in error(text)


# ----------------------------------------------------------------------- pause


@pytest.mark.parametrize(
    ("text", "until"),
    [
        # A day means "back on that day": the pause ends as it begins, local time.
        ("pause until 5 December", datetime(2026, 12, 5, 0, 0, tzinfo=UTC)),
        ("vacation until friday", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("holiday till Friday", datetime(2026, 11, 27, 0, 0, tzinfo=UTC)),
        ("pause for 2 weeks", datetime(2026, 12, 5, 0, 0, tzinfo=UTC)),
        ("pause until tomorrow", datetime(2026, 11, 22, 0, 0, tzinfo=UTC)),
        ("pause until 5pm", datetime(2026, 11, 21, 17, 0, tzinfo=UTC)),
    ],
)
def test_pause(text: str, until: datetime) -> None:
    prefs = apply(text)
    assert prefs.paused_until == until
    assert prefs.paused_until is not None and prefs.paused_until.tzinfo == UTC


def test_pause_is_read_in_the_persons_own_zone() -> None:
    # Midnight in Tokyo (their own setting beats the platform zone passed as ``tz``).
    prefs = apply("pause until 5 December", Preferences(owner="ann", tz="Asia/Tokyo"))
    assert prefs.paused_until == datetime(2026, 12, 4, 15, 0, tzinfo=UTC)


def test_pause_confirmation() -> None:
    _, reply = apply_setting(Preferences.defaults("ann"), "pause until 4 December", now=NOW, tz=TZ)
    assert reply.startswith("Nudges paused until Friday 4 December.")
    assert '"resume"' in reply


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("pause", "Until when?"),
        ("pause until someday maybe", '"someday maybe"'),
        ("pause until today", "Today is already under way"),
        ("pause until 9am", "Today is already under way"),
        ("pause until 2026-11-20", "Friday 20 November has already gone"),
    ],
)
def test_pause_errors(text: str, says: str) -> None:
    message = error(text)
    assert says in message
    assert "pause until 5 December" in message


@pytest.mark.parametrize(
    "text", ["resume", "pause off", "Vacation off", "unpause", "resume nudges"]
)
def test_resume_ends_a_pause(text: str) -> None:
    paused = Preferences(owner="ann", paused_until=NOW + timedelta(days=3))
    changed, reply = apply_setting(paused, text, now=NOW, tz=TZ)
    assert changed.paused_until is None
    assert reply == "Pause ended: nudges are back."


def test_resume_when_not_paused() -> None:
    changed, reply = apply_setting(Preferences.defaults("ann"), "resume", now=NOW, tz=TZ)
    assert changed.paused_until is None
    assert "weren't paused" in reply


# ---------------------------------------------------------------------- nudges


def test_nudges_off_and_on() -> None:
    off = apply("nudges off")
    assert off.nudges is False
    assert apply("Nudges ON", off).nudges is True
    assert apply("nudges stop").nudges is False


def test_nudges_on_while_paused_mentions_the_pause() -> None:
    prefs = Preferences(owner="ann", nudges=False, paused_until=NOW + timedelta(days=1))
    _, reply = apply_setting(prefs, "nudges on", now=NOW, tz=TZ)
    assert "still paused" in reply


def test_nudges_errors() -> None:
    assert "nudges off" in error("nudges maybe")
    assert "nudges on" in error("nudges")


# -------------------------------------------------------------- the whole line


def test_a_leading_settings_command_is_tolerated() -> None:
    assert apply("settings quiet off").quiet_start is None
    assert apply("/breakthrough settings days weekdays").working_days == frozenset(range(5))
    assert apply("set tz Europe/Berlin").tz == "Europe/Berlin"


def test_unknown_setting_lists_the_settings() -> None:
    message = error("colour blue")
    assert message.startswith('I don\'t know the setting "colour".')
    assert SETTINGS_HELP in message
    assert error("help") == SETTINGS_HELP
    assert error("   ") == SETTINGS_HELP


@pytest.mark.parametrize(
    "text",
    [
        "tz Mars/Base",
        "quiet 9pm",
        "days funday",
        "lead forever",
        "morning whenever",
        "pause until yesterday",
        "nudges perhaps",
        "colour blue",
    ],
)
def test_nothing_changes_on_an_error(text: str) -> None:
    prefs = Preferences(
        owner="ann",
        tz="Europe/Berlin",
        quiet_start=time(22),
        quiet_end=time(6),
        working_days=frozenset({0, 1}),
        lead=timedelta(hours=3),
        morning=time(7, 30),
        paused_until=NOW + timedelta(days=2),
        nudges=True,
    )
    before = repr(prefs)
    with pytest.raises(SettingError):
        apply_setting(prefs, text, now=NOW, tz=TZ)
    assert repr(prefs) == before


def test_a_naive_now_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="aware"):
        apply_setting(
            Preferences.defaults("ann"), "nudges off", now=NOW.replace(tzinfo=None), tz=TZ
        )


def test_settings_help_names_every_setting() -> None:
    for example in (
        "tz ",
        "quiet ",
        "days ",
        "lead ",
        "morning ",
        "pause until",
        "resume",
        "nudges",
    ):
        assert example in SETTINGS_HELP


# --------------------------------------------------------------------- describe


def test_describe_the_defaults() -> None:
    text = describe(Preferences.defaults("ann"), tz=TZ, now=NOW)
    lines = text.splitlines()
    assert lines[:7] == [
        "Nudges: on",
        "Time zone: Europe/London (assumed; not set)",
        "Quiet hours: 21:00-08:00",
        "Days: every day",
        "Reminders: the usual rule (the day before for deadlines more than two days away, "
        "otherwise that morning)",
        "Morning reminders at 09:00",
        "Team steps done: I ask before celebrating one in the team's channel",
    ]
    assert "settings quiet 22:00-07:00" in lines[-1]
    assert len(lines) == 8


@pytest.mark.parametrize(
    ("said", "share", "words"),
    [
        ("share always", "always", "celebrated in the team's channel"),
        ("celebrate off", "never", "kept private"),
        ("share ask", "ask", "I ask before"),
    ],
)
def test_share_sets_the_consent_to_celebrate_team_steps(said: str, share: str, words: str) -> None:
    prefs = apply(said, Preferences.defaults("ann"))
    assert prefs.share == share
    assert words in describe(prefs, tz=TZ, now=NOW)


def test_share_with_an_unknown_word_explains_and_changes_nothing() -> None:
    with pytest.raises(SettingError, match="share always"):
        apply_setting(Preferences.defaults("ann"), "share sometimes", now=NOW, tz=TZ)


def test_describe_changed_settings() -> None:
    prefs = Preferences.defaults("ann")
    for setting in ("tz Europe/Berlin", "quiet off", "days mon-fri", "lead 2h", "morning 8:30"):
        prefs = apply(setting, prefs)
    prefs = apply("pause until 4 December", prefs)
    text = describe(prefs, tz=TZ, now=NOW)
    assert text.splitlines()[:6] == [
        "Nudges paused until Friday 4 December",
        "Time zone: Europe/Berlin",
        "Quiet hours: none",
        "Days: Monday to Friday",
        "Reminders: 2 hours before each deadline",
        "Morning reminders at 08:30",
    ]


def test_describe_a_pause_with_a_time_and_one_that_is_over() -> None:
    prefs = apply("pause until 5pm")
    assert describe(prefs, tz=TZ, now=NOW).startswith(
        "Nudges paused until Saturday 21 November at 17:00\n"
    )
    later = NOW + timedelta(days=1)
    assert describe(prefs, tz=TZ, now=later).startswith("Nudges: on\n")


def test_describe_nudges_off() -> None:
    text = describe(apply("nudges off"), tz=TZ, now=NOW)
    assert text.startswith('Nudges: off (say "nudges on" to have them again)')
