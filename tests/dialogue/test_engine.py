"""The engine through the coach: what a person notices turn by turn."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from core.dialogue.coach import Coach
from core.dialogue.engine import command_word
from core.dialogue.intents import Ask, Document, Image, ShowPlan
from core.dialogue.model import Actor, Place
from core.report import render_picture
from core.testing import FakeClock, MemoryStore
from tests.dialogue.helpers import Chat

PLAN_TO_DATES = [
    "I want the beta launched by March",
    "I need a landing page",
    "Recruit 20 testers",
    "nothing else",
    "2",  # first: Recruit 20 testers
    "Finding the testers",
    "1",  # genuinely motivated
    "1",  # next: landing page (the only one left is ordered automatically? no: asked)
]


@pytest.fixture
def chat(coach: Coach, ann: Actor, place: Place, clock: FakeClock) -> Chat:
    return Chat(coach, ann, place, clock)


async def test_plan_echoes_the_outcome_in_the_persons_words(chat: Chat) -> None:
    first = await chat.start("plan", "Launch the beta")
    assert "What would you like to happen in this situation?" in first
    out = await chat.say("I want my team to trust me!")
    assert "And what needs to happen for \u201cyour team to trust you\u201d to happen?" in out
    out = await chat.say("I'm going to listen more.")
    assert out.startswith("You're going to listen more. And what else needs to happen")


async def test_a_full_plan_gives_an_ordered_dated_plan_report_and_commitments(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan", "Launch the beta")
    await chat.script(PLAN_TO_DATES)
    out = await chat.say("next Friday")
    assert "Friday 27 November \u2014 right?" in out
    await chat.say("yes")
    out = await chat.say("in two weeks")
    assert "Saturday 5 December \u2014 right?" in out
    out = await chat.say("yes")
    assert "How would you like to record your plan?" in out
    await chat.say("flow chart")
    kinds = [type(i) for i in chat.last]
    assert ShowPlan in kinds and Document in kinds and Image in kinds
    image = next(i for i in chat.last if isinstance(i, Image))
    assert image.picture.style == "flowchart"
    assert render_picture(image.picture)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Flow chart of 2 steps" in image.alt
    plan = next(i for i in chat.last if isinstance(i, ShowPlan))
    assert [s.text for s in plan.steps] == ["Recruit 20 testers", "I need a landing page"]
    assert [s.due.date().isoformat() for s in plan.steps if s.due] == ["2026-11-27", "2026-12-05"]
    commitments = sorted(memory_store.commitments.values(), key=lambda c: c.position)
    assert [c.text for c in commitments] == ["Recruit 20 testers", "I need a landing page"]
    assert all(c.status == "open" and c.tz == "Europe/London" for c in commitments)
    report = next(i for i in chat.last if isinstance(i, Document)).markdown
    assert "Recruit 20 testers" in report and "Finding the testers" in report
    session = next(iter(memory_store.sessions.values()))
    assert session.status == "done"


async def test_the_last_unordered_item_is_still_asked_and_new_items_may_appear(chat: Chat) -> None:
    await chat.start("plan")
    await chat.script(["A launch", "a page", "testers", "nothing else", "a budget"])
    out = await chat.script(["none really", "1"])
    assert "What needs to happen next?" in out
    assert "1) a page" in out and "2) testers" in out
    out = await chat.say("talk to legal")  # a new step appears while ordering
    assert "1) a page" in out
    await chat.say("1")
    out = await chat.say("2")
    assert "Please pick a number from 1 to 1" in out
    out = await chat.say("1")
    assert "Step 1 of 4: \u201ca budget\u201d" in out


async def test_a_past_or_unreadable_date_is_asked_again_and_nothing_is_lost(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.script(PLAN_TO_DATES)
    out = await chat.say("banana")
    assert "couldn't read \u201cbanana\u201d as a date" in out
    assert "When will you have it done?" in out
    out = await chat.say("2026-11-02")
    assert "has already passed" in out
    out = await chat.say("tomorrow")
    assert "Sunday 22 November \u2014 right?" in out
    out = await chat.say("no")
    assert "When will you have it done?" in out
    state = next(iter(memory_store.sessions.values())).state
    assert state["answers"]["outcome"] == "I want the beta launched by March"
    assert state["answers"]["needs"] == ["I need a landing page", "Recruit 20 testers"]


async def test_back_changes_the_previous_answer(chat: Chat, memory_store: MemoryStore) -> None:
    await chat.start("seven-step")
    await chat.script(["ready", "ready", "My sister keeps cancelling"])
    out = await chat.say("back")
    assert "Your answer was: My sister keeps cancelling" in out
    assert "What event will you be working on" in out
    await chat.say("My brother keeps cancelling")
    state = next(iter(memory_store.sessions.values())).state
    assert state["answers"]["event"] == "My brother keeps cancelling"


async def test_back_inside_a_loop_takes_out_the_last_item(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.script(["A launch", "a page", "a typo"])
    out = await chat.say("back")
    assert "Taken out: a typo" in out
    await chat.say("nothing else")
    state = next(iter(memory_store.sessions.values())).state
    assert state["answers"]["needs"] == ["a page"]


async def test_skip_pause_resume_status_help(chat: Chat) -> None:
    await chat.start("plan")
    out = await chat.say("skip")
    assert "And what needs to happen for" in out
    out = await chat.say("pause")
    assert "Paused" in out
    out = await chat.command("status")
    assert "(paused)" in out
    out = await chat.say("resume")
    assert "Welcome back" in out and "And what needs to happen" in out
    out = await chat.say("help")
    assert "back: change your previous answer" in out and "And what needs to happen" in out


async def test_a_reply_while_paused_resumes_and_is_kept(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.say("pause")
    out = await chat.say("I want a calmer week")
    assert "calmer week" in out
    state = next(iter(memory_store.sessions.values())).state
    assert state["answers"]["outcome"] == "I want a calmer week"
    assert state["status"] == "active"


async def test_stop_asks_first_then_keeps_everything_and_gives_the_report(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.say("I want a calmer week")
    out = await chat.say("stop")
    assert "Stop this session?" in out
    out = await chat.say("no")
    assert "Carrying on" in out
    await chat.say("stop")
    await chat.say("yes")
    assert any(isinstance(i, Document) for i in chat.last)
    record = next(iter(memory_store.sessions.values()))
    assert record.status == "stopped"
    assert record.state["answers"]["outcome"] == "I want a calmer week"


async def test_an_answer_typed_at_the_stop_question_is_kept(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.say("stop")
    await chat.say("I want a calmer week")
    state = next(iter(memory_store.sessions.values())).state
    assert state["status"] == "active"
    assert state["answers"]["outcome"] == "I want a calmer week"


async def test_a_breakthrough_moment_pauses_for_integration_and_is_recorded(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    out = await chat.say("Oh! I see it now: I want to stop firefighting")
    assert "How does it feel to see this? What does this mean for you?" in out
    assert "And what needs to happen" not in out
    out = await chat.say("It means I can plan")
    assert "And what needs to happen for" in out
    moments = next(iter(memory_store.sessions.values())).state["moments"]
    assert moments[0]["type"] == "insight"
    assert moments[0]["reflection"] == "It means I can plan"


async def test_an_ordinary_i_see_is_not_a_moment(chat: Chat) -> None:
    await chat.start("plan")
    out = await chat.say("I see my manager on Tuesday and want a raise")
    assert "How does it feel to see this" not in out


async def test_the_counted_list_needs_ten_ideas(chat: Chat, memory_store: MemoryStore) -> None:
    await chat.start("session", "procrastination")
    await chat.script([f"answer {i}" for i in range(23)])
    out = await chat.say("idea one\nidea two\n- idea three")
    assert "That's 3 so far" in out
    out = await chat.say("nothing else")
    assert "Let's get to at least 10" in out
    await chat.script([f"idea {i}" for i in range(4, 11)])
    out = await chat.say("nothing else")
    assert "what patterns do you notice" in out


async def test_a_conditional_step_runs_only_when_its_answer_matches(chat: Chat) -> None:
    await chat.start("plan")
    await chat.script(["A launch", "a page", "nothing else", "1", "none"])
    out = await chat.say("3")  # not yet motivated
    assert "what would need to be true for you to be genuinely motivated" in out


async def test_buttons_and_typed_numbers_are_the_same(chat: Chat) -> None:
    await chat.start("plan")
    await chat.script(["A launch", "a page", "nothing else", "1", "none"])
    ask = next(i for i in chat.last if isinstance(i, Ask))
    out = await chat.choose(ask.action_id, "yes")
    assert "Make a note of this first step" in out
    out = await chat.choose("motivated", "yes")
    assert "earlier question" in out


async def test_seven_step_schedules_the_review_and_daily_visualisation(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("seven-step")
    await chat.script(
        [
            "ready",
            "ready",
            "Asking for a raise",
            "It keeps happening",
            "I never ask",
            "Anxious",
            "I stayed silent",
            "Ask directly",
            "Write an email",
            "nothing else",
            "1",
            "Confident",
            "A 10% raise",
            "Proud",
            "Yes, aligned",
            "None yet",
            "Book a meeting",
            "nothing else",
            "7am",
            "Fear",
            "nothing else",
            "Breathe and ask",
            "Book the meeting",
            "Monday",
            "yes",
            "My partner",
            "Friday",
        ]
    )
    await chat.say("yes")
    assert any(isinstance(i, Document) for i in chat.last)
    kinds = {f.kind: f for f in memory_store.followups.values()}
    assert kinds["review"].due_at.date().isoformat() == "2026-11-27"
    assert kinds["visualisation"].recurrence == "daily"
    visualise_at = kinds["visualisation"].due_at.astimezone(ZoneInfo("Europe/London"))
    assert (visualise_at.hour, visualise_at.minute) == (7, 0)
    assert visualise_at.date().isoformat() == "2026-11-22"  # the next 07:00 after the session
    commitments = list(memory_store.commitments.values())
    assert [c.text for c in commitments] == ["Book the meeting"]


async def test_the_review_date_must_come_after_the_action(chat: Chat) -> None:
    await chat.start("seven-step")
    await chat.script(
        [
            "ready",
            "ready",
            "e",
            "p",
            "t",
            "f",
            "r",
            "a",
            "nothing else",
            "1",
            "f",
            "o",
            "f",
            "a",
            "s",
        ]
    )
    await chat.script(
        ["act", "nothing else", "7am", "nothing else", "Book it", "next Friday", "yes", "me"]
    )
    out = await chat.say("Tuesday")
    assert "That's before Friday 27 November" in out


async def test_checkin_updates_the_commitment_it_is_about(
    coach: Coach, ann: Actor, place: Place, clock: FakeClock, memory_store: MemoryStore
) -> None:
    chat = Chat(coach, ann, place, clock)
    await chat.start("plan")
    await chat.script([*PLAN_TO_DATES, "tomorrow", "yes", "Friday", "yes", "1"])
    commitment = min(memory_store.commitments.values(), key=lambda c: c.position)
    other_place = Place(platform="console", workspace="local", channel="terminal", thread="t2")
    checkin = Chat(coach, ann, other_place, clock)
    from core.dialogue.events import Start

    out = await checkin.send(
        Start(method="checkin", topic=commitment.text, context={"commitment_id": commitment.id})
    )
    assert "How is it going with \u201cRecruit 20 testers\u201d?" in out
    out = await checkin.say("not yet")
    assert "When will you have it done?" in out
    await checkin.say("next Wednesday")
    await checkin.say("yes")
    updated = memory_store.commitments[commitment.id]
    assert updated.status == "open"
    assert updated.due_at.date().isoformat() == "2026-11-25"


async def test_without_a_session_the_person_is_told_how_to_start(chat: Chat) -> None:
    out = await chat.say("hello?")
    assert "no session running here" in out


async def test_an_unknown_method_is_a_friendly_reply(chat: Chat) -> None:
    out = await chat.start("yoga")
    assert "no method 'yoga'" in out and "plan" in out


async def test_finished_sessions_do_not_take_more_answers(
    chat: Chat, memory_store: MemoryStore
) -> None:
    await chat.start("plan")
    await chat.say("stop")
    await chat.say("yes")
    out = await chat.say("one more thing")
    assert "no session running here" in out


@pytest.mark.parametrize(
    ("text", "word"),
    [
        ("back", "back"),
        ("/Skip", "skip"),
        ("Pause.", "pause"),
        ("I want to stop smoking", None),
        ("stopping", None),
    ],
)
def test_command_words(text: str, word: str | None) -> None:
    assert command_word(text) == word
