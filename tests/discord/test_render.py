"""Discord rendering: every intent kind, Discord's limits kept by splitting, and buttons
whose ``custom_id`` carries all a press needs (so they work after a restart)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.discord.render import (
    BUTTON_LABEL_LIMIT,
    CONTENT_LIMIT,
    CUSTOM_ID_LIMIT,
    EMBED_DESCRIPTION_LIMIT,
    ComponentId,
    DiscordMessage,
    custom_id,
    hashed_action_id,
    parse_custom_id,
    render,
)
from adapters.splitting import utf16_size
from core.dialogue.intents import (
    Ask,
    Choice,
    DirectMessage,
    Document,
    Image,
    PlanPicture,
    PlanStep,
    Say,
    ShowPlan,
)
from core.dialogue.model import Actor, Place
from core.schedule.accountability import dm_place
from core.schedule.compose import NUDGE_ACTIONS, nudge_action_id

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
THREAD = Place(platform="discord", workspace="G1", channel="111", thread=None)
ANN = Actor(platform="discord", workspace="G1", user_id="42")
DM = DirectMessage(actor=ANN)


def ids(message: DiscordMessage) -> list[ComponentId]:
    parsed = [parse_custom_id(b.custom_id) for b in message.buttons]
    assert all(p is not None for p in parsed)
    return [p for p in parsed if p is not None]


def test_a_question_and_its_choices_are_one_message_whose_buttons_name_the_choice() -> None:
    ask = Ask(
        to=THREAD,
        prompt="Are you genuinely motivated?",
        expects="choice",
        choices=(
            Choice(value="yes", label="Yes, genuinely"),
            Choice(value="partly", label="Partly"),
        ),
        action_id="motivated",
    )
    [message] = render([Say(to=THREAD, text="Thank you."), ask], now=NOW)
    assert message.content == "Thank you.\n\nAre you genuinely motivated?"
    assert [b.label for b in message.buttons] == ["Yes, genuinely", "Partly"]
    assert [(c.kind, c.action_id, c.value, c.session) for c in ids(message)] == [
        ("choose", "motivated", "yes", ""),
        ("choose", "motivated", "partly", ""),
    ]


def test_a_date_question_gets_a_pick_a_date_button_and_a_text_question_an_answer_button() -> None:
    date = Ask(to=THREAD, prompt="By when?", expects="date", action_id="due")
    text = Ask(to=THREAD, prompt="What else?", expects="item", action_id="needs")
    choice = Ask(
        to=THREAD,
        prompt="Ready?",
        expects="choice",
        choices=(Choice(value="y", label="Y"),),
        action_id="r",
    )
    [dated] = render([date], now=NOW)
    assert [(c.kind, c.action_id) for c in ids(dated)] == [("date", "due")]
    assert render([text], now=NOW)[0].buttons == ()  # typed answers are read from the thread
    [answer] = render([text], now=NOW, answer_button=True)
    assert [(b.label, c.kind) for b, c in zip(answer.buttons, ids(answer), strict=True)] == [
        ("Answer", "answer")
    ]
    # A choice question is answered by its buttons, never by a modal.
    assert [c.kind for c in ids(render([choice], now=NOW, answer_button=True)[0])] == ["choose"]


def test_a_check_in_at_the_top_of_a_dm_names_its_session_in_every_button() -> None:
    place = dm_place(ANN, "a" * 32)
    ask = Ask(
        to=place,
        prompt="Did it happen?",
        expects="choice",
        choices=(Choice(value="done", label="Done"), Choice(value="not_yet", label="Not yet")),
        action_id="status",
    )
    [message] = render([ask], now=NOW)
    assert {c.session for c in ids(message)} == {"a" * 32}


def test_a_nudge_key_too_long_for_a_custom_id_is_replaced_by_its_digest() -> None:
    key = f"checkin:{'b' * 32}:step-3:2026-11-21T09:00:00+00:00+2026-11-22T09:00:00+00:00"
    action_id = nudge_action_id(key)
    ask = Ask(
        to=DM, prompt="Due today", expects="choice", choices=NUDGE_ACTIONS, action_id=action_id
    )
    [message] = render([ask], now=NOW)
    assert all(len(b.custom_id) <= CUSTOM_ID_LIMIT for b in message.buttons)
    assert {c.action_id for c in ids(message)} == {hashed_action_id(action_id)}
    assert [c.value for c in ids(message)] == [c.value for c in NUDGE_ACTIONS]
    short = nudge_action_id("resume:s1")
    assert parse_custom_id(custom_id(ComponentId(kind="choose", action_id=short))) == ComponentId(
        kind="choose", action_id=short
    )


def test_custom_ids_of_other_bots_and_impossible_parts_are_refused() -> None:
    assert parse_custom_id("persistent_view:green") is None
    assert parse_custom_id("bt|explode||x|y") is None
    with pytest.raises(ValueError):
        custom_id(ComponentId(kind="choose", action_id="a", session="x|y"))


@pytest.mark.parametrize("value", ["yes|" + "c" * 32 + ":team:12", "50%|25%7C", "%7C", "plain"])
def test_a_choice_value_with_a_pipe_or_a_percent_comes_back_as_it_was(value: str) -> None:
    """A team step's "share it" button carries ``yes|<commitment id>``."""
    component = ComponentId(kind="choose", action_id="team:share", value=value)
    text = custom_id(component)
    assert len(text) <= CUSTOM_ID_LIMIT
    assert parse_custom_id(text) == component


@given(st.text(min_size=1, max_size=9000))
def test_long_text_is_split_within_the_limit_and_nothing_is_lost(text: str) -> None:
    out = render([Say(to=THREAD, text=text)], now=NOW)
    assert all(0 < utf16_size(m.content) <= CONTENT_LIMIT for m in out)
    kept = "".join(m.content for m in out)
    # Only pieces that are nothing but whitespace are left out (Discord rejects them).
    assert kept.split() == text.split()


def test_long_text_is_split_on_line_boundaries() -> None:
    lines = [f"line {n:04d} " + "x" * 60 for n in range(100)]
    out = render([Say(to=THREAD, text="\n".join(lines))], now=NOW)
    assert len(out) > 1
    for message in out[:-1]:
        assert message.content.endswith("\n")  # cut after a line break, not inside a line
    assert "".join(m.content for m in out).splitlines() == lines


def test_buttons_follow_the_last_piece_of_a_long_question() -> None:
    ask = Ask(
        to=THREAD,
        prompt="word " * 900,
        expects="choice",
        choices=(Choice(value="1", label="One"),),
        action_id="pick",
    )
    out = render([ask], now=NOW)
    assert len(out) == 3
    assert [len(m.buttons) for m in out] == [0, 0, 1]


def test_a_long_button_label_is_shortened_with_an_ellipsis() -> None:
    ask = Ask(
        to=THREAD,
        prompt="Which first?",
        expects="item",
        choices=(Choice(value="1", label="a very long step " * 10),),
        action_id="first",
    )
    [button] = render([ask], now=NOW)[0].buttons
    assert len(button.label) <= BUTTON_LABEL_LIMIT and button.label.endswith("…")


def test_a_plan_is_an_embed_checklist_and_a_long_plan_spreads_over_several() -> None:
    due = NOW + timedelta(days=2)
    steps = tuple(PlanStep(text=f"step {n} " + "y" * 80, due=due) for n in range(120))
    out = render([ShowPlan(to=THREAD, title="Launch", steps=steps, tz="UTC")], now=NOW)
    embeds = [e for m in out for e in m.embeds]
    assert len(embeds) > 1
    assert all(len(e["description"]) <= EMBED_DESCRIPTION_LIMIT for e in embeds)
    text = "\n".join(e["description"] for e in embeds)
    assert all(f"☐ step {n} " in text for n in range(120))
    assert "due Monday" in text
    assert embeds[0]["title"] == "Your plan: Launch"


def test_a_report_and_a_picture_are_attachments_of_their_own() -> None:
    picture = PlanPicture(outcome="Ship", steps=(("Spec", None),), style="flowchart", tz="UTC")
    out = render(
        [
            Say(to=THREAD, text="Here it is."),
            Document(to=THREAD, title="Report", filename="report.md", markdown="# Report\n"),
            Image(to=THREAD, picture=picture, alt="Your plan", filename="plan.png"),
        ],
        now=NOW,
    )
    assert [m.content for m in out] == ["Here it is.", "", ""]
    assert out[1].files[0].filename == "report.md"
    assert out[1].files[0].content == b"# Report\n"
    assert out[2].files[0].content.startswith(b"\x89PNG")
    assert out[2].files[0].description == "Your plan"


def test_messages_to_different_places_are_never_merged() -> None:
    out = render([Say(to=THREAD, text="In the thread."), Say(to=DM, text="In your DMs.")], now=NOW)
    assert [(m.to, m.content) for m in out] == [(THREAD, "In the thread."), (DM, "In your DMs.")]


def test_a_person_s_mentions_are_kept_as_written() -> None:
    """Shown exactly; pinging nobody is the messenger's ``AllowedMentions.none()``."""
    [message] = render([Say(to=THREAD, text="Tell @everyone and <@&123>")], now=NOW)
    assert message.content == "Tell @everyone and <@&123>"
