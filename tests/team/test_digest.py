"""The weekly digest of a team channel: what each person reads, and the progress chart."""

from __future__ import annotations

import io
import random
from datetime import UTC, date, datetime, timedelta

import pytest
from PIL import Image

from core.dialogue.intents import PlanPicture, ProgressPicture
from core.report import plan_picture, render_picture, render_progress
from core.team.digest import (
    MORE_PEOPLE_HINT,
    PEOPLE_SHOWN,
    DigestError,
    DigestStep,
    digest_text,
    progress_alt,
    progress_picture,
)

NOW = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)  # a Wednesday
CREATED = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TITLE = "Weekly digest: #growth"


def step(
    text: str = "Write the launch post",
    *,
    owner: str | None = "Ana",
    key: str | None = "",
    due: datetime | None = None,
    status: str = "open",
    done_at: datetime | None = None,
    created_at: datetime = CREATED,
    plan: str = "Launch the beta",
) -> DigestStep:
    """A step; ``key`` defaults to one made from the owner's name."""
    if key == "":
        key = None if owner is None else f"u-{owner.lower()}"
    return DigestStep(
        plan=plan,
        text=text,
        owner=owner,
        owner_key=key,
        due=due,
        status=status,
        done_at=done_at,
        created_at=created_at,
    )


def digest(steps: list[DigestStep], *, tz: str = "Europe/London", now: datetime = NOW) -> str:
    return digest_text(steps, title=TITLE, now=now, tz=tz)


def person_lines(text: str) -> list[str]:
    """The lines under "By person:", up to the next blank line."""
    if "By person:\n" not in text:
        return []
    section = text.split("By person:\n", 1)[1].split("\n\n", 1)[0]
    return [line for line in section.splitlines() if line.startswith("• ")]


def colour_count(image: Image.Image, rgb: tuple[int, int, int]) -> int:
    colours = image.getcolors(maxcolors=image.width * image.height) or []
    return next((count for count, colour in colours if colour == rgb), 0)


def opened(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


# -- the text -------------------------------------------------------------------------


def test_done_open_and_overdue_are_disjoint_counts_per_person() -> None:
    past, future = NOW - timedelta(days=2), NOW + timedelta(days=10)
    steps = [
        step("a", status="done", due=past, done_at=past),
        step("b", due=future),
        step("c", status="not_yet"),  # no date: open
        step("d", due=past),
        step("e", status="blocked", due=past),
        step("f", owner="Bo", status="done", done_at=past),
    ]

    text = digest(steps)

    assert text.splitlines()[:2] == [TITLE, "6 steps: 2 done, 2 open, 2 overdue."]
    assert person_lines(text) == [
        "• Ana: 1 done, 2 open, 2 overdue",
        "• Bo: 1 done, 0 open, 0 overdue",
    ]
    assert "Open steps are not done and not yet due; overdue ones are past their date." in text


def test_a_step_due_exactly_now_is_not_yet_overdue() -> None:
    text = digest([step(due=NOW), step(due=NOW - timedelta(seconds=1))])

    assert person_lines(text) == ["• Ana: 0 done, 1 open, 1 overdue"]


def test_people_are_listed_most_overdue_first_then_by_name() -> None:
    past = NOW - timedelta(days=1)
    steps = [
        step(owner="Zoe", due=past),
        step(owner="carl", due=past),
        step(owner="Bea"),
        step(owner="Max", due=past),
        step(owner="Max", due=past),
    ]

    names = [line.split(":")[0] for line in person_lines(digest(steps))]

    assert names == ["• Max", "• carl", "• Zoe", "• Bea"]


def test_people_are_grouped_by_key_and_shown_by_their_newest_name() -> None:
    steps = [
        step(owner="Sam", key="u1"),
        step(owner="Sam", key="u2", status="done", done_at=NOW),
        step(owner="Sam Jones", key="u1", created_at=CREATED + timedelta(days=3)),
    ]

    lines = person_lines(digest(steps))

    assert lines == ["• Sam: 1 done, 0 open, 0 overdue", "• Sam Jones: 0 done, 2 open, 0 overdue"]
    assert person_lines(digest(list(reversed(steps)))) == lines


def test_unclaimed_steps_still_to_do_are_listed_soonest_first() -> None:
    long = "Find a venue that takes two hundred people and has a projector that works " * 2
    steps = [
        step("Order the snacks", owner=None, due=NOW + timedelta(days=3)),
        step(long, owner=None, due=NOW - timedelta(days=1)),
        step("Already done by someone", owner=None, status="done", done_at=NOW),
        step("Ana's step"),
    ]

    text = digest(steps)
    line = next(x for x in text.splitlines() if x.startswith("Unclaimed"))

    assert "4 steps: 1 done, 2 open, 1 overdue; 2 unclaimed." in text
    assert line.startswith("Unclaimed (2): Find a venue that takes two hundred people and")
    assert line.endswith("…; Order the snacks")
    assert len(line.split(": ", 1)[1].split("; ")[0]) <= 60
    assert "Already done by someone" not in text
    assert "Ana's step" not in line


def test_only_five_unclaimed_steps_are_named() -> None:
    steps = [
        step(f"Task {n}", owner=None, created_at=CREATED + timedelta(hours=n)) for n in range(8)
    ]

    line = next(x for x in digest(steps).splitlines() if x.startswith("Unclaimed"))

    assert line == "Unclaimed (8): Task 0; Task 1; Task 2; Task 3; Task 4; …and 3 more"


def test_dropped_steps_are_left_out_entirely() -> None:
    steps = [
        step("Keep this"),
        step("Dropped idea", status="dropped", due=NOW - timedelta(days=1)),
        step("Dropped unclaimed", owner=None, status="dropped"),
        step("Dropped of Bo", owner="Bo", status="dropped"),
    ]

    text = digest(steps)

    assert "1 step: 0 done, 1 open, 0 overdue." in text
    assert "Dropped" not in text
    assert "Bo" not in text
    assert "Unclaimed" not in text


def test_due_dates_are_days_in_the_given_zone() -> None:
    # 23:30 UTC on Tuesday is already Wednesday morning in Tokyo.
    due = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    steps = [step("Send the invites", due=due)]

    assert "• Wed 25 Nov, Ana: Send the invites" in digest(steps, tz="Asia/Tokyo")
    assert "• Tue 24 Nov, Ana: Send the invites" in digest(steps, tz="Europe/London")


def test_due_in_the_next_seven_days_lists_open_steps_soonest_first() -> None:
    steps = [
        step("Later", due=NOW + timedelta(days=8)),
        step("Done already", status="done", due=NOW + timedelta(days=1), done_at=NOW),
        step("Second", owner=None, due=NOW + timedelta(days=2)),
        step("First", owner="Bo", due=NOW + timedelta(hours=3)),
        step("Overdue", due=NOW - timedelta(hours=1)),
    ]

    text = digest(steps)
    section = text.split("Due in the next 7 days:\n", 1)[1].splitlines()

    assert section == ["• Wed 18 Nov, Bo: First", "• Fri 20 Nov, unclaimed: Second"]


def test_at_most_ten_due_steps_are_listed() -> None:
    steps = [step(f"Task {n}", due=NOW + timedelta(hours=n + 1)) for n in range(13)]

    section = digest(steps).split("Due in the next 7 days:\n", 1)[1].splitlines()

    assert len(section) == 11
    assert section[-1] == "…and 3 more due in the next 7 days"


def test_nothing_due_is_said_plainly() -> None:
    text = digest([step(due=NOW + timedelta(days=20))])

    assert text.endswith("Nothing is due in the next 7 days.")
    assert "overdue ones are past their date" not in text  # no overdue steps: no key needed


def test_plan_topics_are_named_only_when_there_are_several_plans() -> None:
    one = digest([step("Book a room", owner=None), step("Print", owner=None)])
    two = digest([step("Book a room", owner=None), step("Print", owner=None, plan="Hiring")])

    assert "Unclaimed (2): Book a room; Print" in one
    assert "Unclaimed (2): Book a room (Launch the beta); Print (Hiring)" in two


@pytest.mark.parametrize(
    ("steps", "totals"),
    [
        ([step(status="done", done_at=NOW)], "1 step: 1 done, 0 open, 0 overdue."),
        ([step(owner=None), step()], "2 steps: 0 done, 2 open, 0 overdue; 1 unclaimed."),
    ],
)
def test_singular_and_plural(steps: list[DigestStep], totals: str) -> None:
    assert digest(steps).splitlines()[1] == totals


def test_one_more_person_is_a_person() -> None:
    steps = [step(owner=f"P{n:02}") for n in range(PEOPLE_SHOWN + 1)]

    assert f"…and 1 more person: {MORE_PEOPLE_HINT}" in digest(steps)


@pytest.mark.parametrize("steps", [[], [step(status="dropped")]])
def test_no_steps_gives_a_friendly_line(steps: list[DigestStep]) -> None:
    text = digest(steps)

    assert text.splitlines()[0] == TITLE
    assert "No team plan has any steps yet" in text
    assert "0 steps" not in text


def big_channel(seed: int = 7) -> list[DigestStep]:
    """200 people, 1,000 steps: long names and texts, some done, some overdue, some unclaimed."""
    rng = random.Random(seed)
    steps = []
    for n in range(1000):
        who = rng.randrange(200)
        unclaimed = rng.random() < 0.05
        done = rng.random() < 0.4
        steps.append(
            step(
                f"Step {n}: " + "do the thing that the team agreed on in the meeting " * 3,
                owner=None if unclaimed else f"Person {who} with a rather long display name",
                key=None if unclaimed else f"u{who}",
                due=NOW + timedelta(days=rng.uniform(-20, 20)),
                status="done" if done else "open",
                done_at=NOW if done else None,
                plan=f"Plan {n % 5} " + "x" * 80,
            )
        )
    return steps


def test_two_hundred_people_and_a_thousand_steps_fit_one_message() -> None:
    steps = big_channel()
    text = digest(steps)
    lines = person_lines(text)

    assert len(text) < 12_000
    assert len(lines) == PEOPLE_SHOWN
    assert f"…and 150 more people: {MORE_PEOPLE_HINT}" in text
    assert text.splitlines()[1].startswith("1,000 steps: ")


def test_the_text_is_bounded_whatever_the_channel() -> None:
    # Every field far past its cut, more people than are shown, more of everything.
    long = "W" * 500
    steps = []
    for n in range(120):
        for due, owner in ((-1, long), (1, long), (1, None)):
            steps.append(
                step(
                    long,
                    owner=owner,
                    key=None if owner is None else f"u{n}",
                    due=NOW + timedelta(days=due),
                    plan=f"{n}{long}",
                )
            )
    text = digest_text(steps * 30, title=long, now=NOW, tz="UTC")

    assert len(text) < 7_000
    assert max(len(line) for line in text.splitlines()) < 1_000


def test_with_many_people_the_busiest_are_shown() -> None:
    steps = [step(owner=f"Idle {n:02}", status="done", done_at=NOW) for n in range(PEOPLE_SHOWN)]
    steps += [step(owner="Busy"), step(owner="Busy")]

    lines = person_lines(digest(steps))

    assert len(lines) == PEOPLE_SHOWN
    assert "• Busy: 0 done, 2 open, 0 overdue" in lines
    assert "• Idle 49: 1 done, 0 open, 0 overdue" not in lines


# -- the chart's points ---------------------------------------------------------------


def small_team() -> list[DigestStep]:
    nov = lambda day, hour=12: datetime(2026, 11, day, hour, tzinfo=UTC)  # noqa: E731
    return [
        # Done in the week of 9 Nov, due (and so overdue) in the week of 2 Nov.
        step("A", created_at=nov(3), due=nov(6), status="done", done_at=nov(10)),
        # Open, due after now.
        step("B", created_at=nov(12), due=nov(20)),
        # Due on 17 Nov: open at the end of the week of 9 Nov, overdue now.
        step("C", created_at=nov(12), due=nov(17), status="blocked"),
        # Created at the very start of this week: not in last week's count.
        step("D", created_at=nov(16, 0)),
        step("E", created_at=datetime(2026, 10, 1, tzinfo=UTC), status="dropped"),
        # Done, but with no time recorded: done as of now.
        step("F", created_at=datetime(2026, 10, 1, tzinfo=UTC), status="done"),
        # Due at the very start of the week of 9 Nov: overdue from that week on.
        step("G", created_at=nov(3), due=nov(9, 0)),
    ]


def test_chart_points_for_a_small_team() -> None:
    picture = progress_picture(small_team(), title="Progress", now=NOW, tz="UTC", weeks=3)

    assert picture == ProgressPicture(
        title="Progress",
        weeks=(
            (date(2026, 11, 2), 3, 0, 1),
            (date(2026, 11, 9), 5, 1, 1),
            (date(2026, 11, 16), 6, 2, 2),
        ),
        tz="UTC",
    )


def test_this_weeks_point_agrees_with_the_text() -> None:
    steps = small_team()
    _, total, done, overdue = progress_picture(steps, title="", now=NOW, tz="UTC").weeks[-1]

    assert (total, done, overdue) == (6, 2, 2)
    assert "6 steps: 2 done, 2 open, 2 overdue" in digest(steps, tz="UTC")


def test_chart_weeks_start_on_monday_in_the_given_zone() -> None:
    # Sunday 15 Nov 16:00 UTC is Monday 16 Nov 01:00 in Tokyo.
    steps = [step(created_at=datetime(2026, 11, 15, 16, 0, tzinfo=UTC))]

    utc = progress_picture(steps, title="", now=NOW, tz="UTC", weeks=2).weeks
    tokyo = progress_picture(steps, title="", now=NOW, tz="Asia/Tokyo", weeks=2).weeks

    assert utc == ((date(2026, 11, 9), 1, 0, 0), (date(2026, 11, 16), 1, 0, 0))
    assert tokyo == ((date(2026, 11, 9), 0, 0, 0), (date(2026, 11, 16), 1, 0, 0))


def test_this_week_is_the_week_of_now_in_the_given_zone() -> None:
    # Sunday 22 Nov 20:00 UTC is Monday 23 Nov 05:00 in Tokyo: a new week there.
    now = datetime(2026, 11, 22, 20, 0, tzinfo=UTC)

    utc = progress_picture([], title="", now=now, tz="UTC", weeks=1).weeks
    tokyo = progress_picture([], title="", now=now, tz="Asia/Tokyo", weeks=1).weeks

    assert utc == ((date(2026, 11, 16), 0, 0, 0),)
    assert tokyo == ((date(2026, 11, 23), 0, 0, 0),)


def test_chart_has_one_point_per_week_ending_this_week() -> None:
    weeks = progress_picture([], title="", now=NOW, tz="UTC").weeks

    assert len(weeks) == 8
    assert [d for d, *_ in weeks] == [date(2026, 11, 16) - timedelta(weeks=7 - n) for n in range(8)]
    assert all(d.weekday() == 0 for d, *_ in weeks)


def test_a_chart_of_no_weeks_is_refused() -> None:
    with pytest.raises(DigestError):
        progress_picture([], title="", now=NOW, tz="UTC", weeks=0)


# -- the alt text ---------------------------------------------------------------------


def test_alt_text_gives_this_weeks_totals_and_each_week() -> None:
    picture = progress_picture(small_team(), title="#growth", now=NOW, tz="UTC", weeks=3)

    alt = progress_alt(picture)

    assert alt.startswith("Progress chart for #growth, the 3 weeks from 2 Nov to this week")
    assert "This week so far: 6 steps, 2 done, 2 open, 2 overdue." in alt
    assert "9 Nov: 5 steps, 1 done, 1 overdue" in alt


def test_alt_text_of_a_year_stays_under_the_limit_and_keeps_the_latest_weeks() -> None:
    picture = progress_picture(big_channel(), title="#growth", now=NOW, tz="UTC", weeks=52)

    alt = progress_alt(picture)
    _, total, done, overdue = picture.weeks[-1]

    assert len(alt) <= 1000
    assert f"This week so far: {total:,} steps, {done} done" in alt
    assert "earlier weeks left out" in alt
    assert alt.endswith(f"16 Nov: {total:,} steps, {done} done, {overdue} overdue.")


def test_alt_text_with_no_steps() -> None:
    picture = progress_picture([], title="#growth", now=NOW, tz="UTC", weeks=1)

    assert progress_alt(picture) == "Progress chart for #growth, this week. No steps yet."


# -- the chart's pixels ---------------------------------------------------------------

OVERDUE_RGB = (0xEA, 0x58, 0x0C)


@pytest.mark.parametrize(
    "weeks",
    [
        (),
        ((date(2026, 11, 16), 0, 0, 0),),
        ((date(2026, 11, 16), 3, 1, 1),),
        tuple((date(2026, 11, 16) - timedelta(weeks=7 - n), 1000, 100 * n, 50) for n in range(8)),
        tuple((date(2026, 11, 16) - timedelta(weeks=51 - n), 20 * n, 10 * n, n) for n in range(52)),
    ],
    ids=["no-weeks", "no-steps", "one-week", "thousands", "a-year"],
)
def test_the_chart_is_a_png_of_fixed_size(weeks: tuple[tuple[date, int, int, int], ...]) -> None:
    png = render_progress(ProgressPicture(title="Team «Wachstum» — Q4 ✓", weeks=weeks, tz="UTC"))
    image = opened(png)

    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image.format == "PNG"
    assert image.size == (900, 450)


def test_the_same_picture_gives_the_same_bytes() -> None:
    picture = progress_picture(big_channel(), title="#growth", now=NOW, tz="Europe/London")

    assert render_progress(picture) == render_progress(picture)
    assert render_picture(picture) == render_progress(picture)


def test_overdue_steps_show_in_the_warning_colour() -> None:
    def warning_pixels(overdue: int) -> int:
        weeks = ((date(2026, 11, 16), 10, 2, overdue),)
        image = opened(render_progress(ProgressPicture(title="t", weeks=weeks, tz="UTC")))
        return colour_count(image, OVERDUE_RGB)

    legend = warning_pixels(0)

    assert warning_pixels(4) > legend + 1000
    assert warning_pixels(8) > warning_pixels(4)


def test_more_done_draws_more_green() -> None:
    def green(done: int) -> int:
        weeks = ((date(2026, 11, 16), 10, done, 0),)
        image = opened(render_progress(ProgressPicture(title="t", weeks=weeks, tz="UTC")))
        return colour_count(image, (0x16, 0xA3, 0x4A))

    assert green(1) < green(5) < green(10)


def test_render_picture_still_draws_plan_pictures() -> None:
    steps = (("Clear the corner", datetime(2026, 11, 20, tzinfo=UTC)), ("Build the base", None))
    picture = PlanPicture(outcome="A shed", steps=steps, style="flowchart", tz="UTC")

    assert render_picture(picture) == plan_picture(
        outcome="A shed", steps=list(steps), style="flowchart", tz="UTC"
    )
