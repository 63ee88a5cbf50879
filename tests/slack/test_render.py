"""Slack rendering: every intent kind, escaping everywhere, and Slack's limits kept by
splitting, never by losing a person's words."""

from __future__ import annotations

import json
import re
import unicodedata
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from adapters.slack.escape import ZWJ, escape, unescape
from adapters.slack.render import (
    ACTION_ID_LIMIT,
    BLOCK_LIMIT,
    BUTTON_TEXT_LIMIT,
    BUTTONS_PER_ACTIONS,
    FALLBACK_LIMIT,
    MESSAGE_TEXT_LIMIT,
    SECTION_LIMIT,
    SlackMessage,
    SlackUpload,
    parse_action_id,
    render,
    split_text,
    text_size,
)
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
from core.schedule.compose import NUDGE_ACTIONS, nudge_action_id, partner_action_id

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday
HERE = Place(platform="slack", workspace="T1", channel="C1", thread="1700000000.000100")
DM = DirectMessage(actor=Actor(platform="slack", workspace="T1", user_id="U9"))
NASTY = "Tell <!channel> & <!here> & <!everyone> & <@U123> about @channel <http://x|y>"
PNG = b"\x89PNG\r\n\x1a\n"


def messages(out: list[SlackMessage | SlackUpload]) -> list[SlackMessage]:
    assert all(isinstance(m, SlackMessage) for m in out)
    return [m for m in out if isinstance(m, SlackMessage)]


def one(out: list[SlackMessage | SlackUpload]) -> SlackMessage:
    [message] = messages(out)
    return message


def texts(node: Any) -> list[str]:
    """Every ``text`` string in blocks, in order."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "text" and isinstance(value, str):
                found.append(value)
            else:
                found += texts(value)
    elif isinstance(node, list):
        for item in node:
            found += texts(item)
    return found


def section_texts(message: SlackMessage) -> list[str]:
    return [b["text"]["text"] for b in message.blocks if b["type"] == "section"]


def elements(message: SlackMessage) -> list[dict[str, Any]]:
    return [e for b in message.blocks if b["type"] == "actions" for e in b["elements"]]


def assert_safe(text: str) -> None:
    """No Slack control markup and no live broadcast word survives in rendered text."""
    assert "<" not in text and ">" not in text
    assert re.search(r"&(?!amp;|lt;|gt;)", text) is None
    assert re.search(r"@(?:channel|here|everyone)", text, re.IGNORECASE) is None


def assert_limits(message: SlackMessage) -> None:
    assert 0 < len(message.blocks) <= BLOCK_LIMIT
    assert sum(text_size(t) for t in texts(message.blocks)) <= MESSAGE_TEXT_LIMIT
    for block in message.blocks:
        if block["type"] == "section":
            assert 0 < text_size(block["text"]["text"]) <= SECTION_LIMIT
    ids = [e["action_id"] for e in elements(message)]
    assert len(ids) == len(set(ids))
    assert all(len(i) <= ACTION_ID_LIMIT for i in ids)
    assert all(len(b["elements"]) <= BUTTONS_PER_ACTIONS for b in message.blocks if "elements" in b)
    json.dumps(message.blocks)  # plain JSON, nothing from a Slack library
    assert 0 < text_size(message.text) <= FALLBACK_LIMIT
    assert_safe(message.text)


# --------------------------------------------------------------------------- escaping


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("<!channel>", "&lt;!channel&gt;"),
        ("<!here>", "&lt;!here&gt;"),
        ("<!everyone>", "&lt;!everyone&gt;"),
        ("<@U123>", "&lt;@U123&gt;"),
        ("Tom & Jerry", "Tom &amp; Jerry"),
        ("&lt; stays literal", "&amp;lt; stays literal"),
        ("hey @channel!", f"hey @{ZWJ}channel!"),
        ("@Here and @everyone", f"@{ZWJ}Here and @{ZWJ}everyone"),
        ("mail me@channels.example", f"mail me@{ZWJ}channels.example"),
        ("just @ann", "just @ann"),
    ],
)
def test_escape(raw: str, shown: str) -> None:
    assert escape(raw) == shown
    assert unescape(shown) == raw


def pieces_of(*tokens: str, max_size: int = 100) -> st.SearchStrategy[str]:
    """Text made of tokens that stress escaping and splitting."""
    return st.lists(st.sampled_from(tokens), max_size=max_size).map("".join)


@given(pieces_of(*"&<>@ aZ_;", ZWJ, "channel", "Here", "everyone", "amp;", "lt;"))
def test_unescape_inverts_escape(raw: str) -> None:
    assert unescape(escape(raw)) == raw
    assert_safe(escape(raw))


def test_say_is_escaped_mrkdwn() -> None:
    message = one(render([Say(to=HERE, text=NASTY)], now=NOW))
    [block] = message.blocks
    assert block == {"type": "section", "text": {"type": "mrkdwn", "text": escape(NASTY)}}
    assert_safe(block["text"]["text"])
    assert_safe(message.text)
    assert message.to == HERE
    assert_limits(message)


def test_everything_from_an_ask_is_escaped() -> None:
    ask = Ask(
        to=HERE,
        prompt=f"Which? {NASTY}",
        expects="choice",
        choices=(Choice(value="a", label="<!channel> & co"), Choice(value="b", label="<@U123>")),
        action_id="pick",
        hint="Type <!here> or pick",
    )
    message = one(render([ask], now=NOW))
    for text in texts(message.blocks):
        assert_safe(text)
    assert [e["text"]["text"] for e in elements(message)] == [
        "&lt;!channel&gt; &amp; co",
        "&lt;@U123&gt;",
    ]
    assert message.blocks[1] == {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": "Type &lt;!here&gt; or pick"}],
    }


def test_plan_steps_are_escaped() -> None:
    plan = ShowPlan(
        to=HERE,
        title="<!everyone> plan",
        steps=(PlanStep(text="ping <!channel> & <@U123>"), PlanStep(text="@here", done=True)),
    )
    message = one(render([plan], now=NOW))
    assert section_texts(message) == [
        "*Your plan:* &lt;!everyone&gt; plan",
        "☐ ping &lt;!channel&gt; &amp; &lt;@U123&gt;",
        f"☑ @{ZWJ}here",
    ]


# --------------------------------------------------------------------------- intents


def test_plan_is_a_checklist_with_due_dates_in_the_plans_zone() -> None:
    plan = ShowPlan(
        to=DM,
        title="Launch",
        tz="Pacific/Auckland",
        steps=(
            # 20:00 UTC on Thursday is already Friday morning in Auckland.
            PlanStep(text="Draft", due=datetime(2026, 11, 26, 20, 0, tzinfo=UTC), done=True),
            PlanStep(text="Ship", due=datetime(2027, 1, 4, 12, 0, tzinfo=UTC)),
            PlanStep(text="Celebrate"),
        ),
    )
    message = one(render([plan], now=NOW))
    assert message.to == DM
    assert section_texts(message) == [
        "*Your plan:* Launch",
        "☑ Draft — due Friday 27 November",
        "☐ Ship — due Tuesday 5 January 2027",
        "☐ Celebrate",
    ]
    assert message.text == "*Your plan:* Launch"


def test_a_plan_with_an_unknown_zone_uses_the_default() -> None:
    plan = ShowPlan(
        to=HERE,
        title="t",
        tz="Mars/Olympus",
        steps=(PlanStep(text="s", due=datetime(2026, 11, 26, 20, 0, tzinfo=UTC)),),
    )
    message = one(render([plan], tz_default="Pacific/Auckland", now=NOW))
    assert section_texts(message)[1] == "☐ s — due Friday 27 November"


def test_ask_with_choices_has_buttons_whose_ids_round_trip() -> None:
    ask = Ask(
        to=HERE,
        prompt="Shall we?",
        expects="choice",
        choices=(Choice(value="yes", label="Yes"), Choice(value="no", label="No")),
        action_id="confirm",
    )
    message = one(render([ask], now=NOW))
    assert message.blocks[0]["text"]["text"] == "Shall we?"
    buttons = elements(message)
    assert [(b["type"], b["action_id"], b["value"]) for b in buttons] == [
        ("button", "confirm|0", "yes"),
        ("button", "confirm|1", "no"),
    ]
    assert {parse_action_id(b["action_id"]) for b in buttons} == {"confirm"}


@pytest.mark.parametrize(
    "action_id", ["confirm", "", nudge_action_id("k1"), partner_action_id("slack:T1:U2"), "a|b"]
)
@pytest.mark.parametrize("suffix", ["0", "24", "date", "time", "snooze"])
def test_parse_action_id_undoes_the_suffix(action_id: str, suffix: str) -> None:
    assert parse_action_id(f"{action_id}|{suffix}") == action_id


def test_parse_action_id_leaves_unsuffixed_ids_alone() -> None:
    assert parse_action_id("nudge:k1") == "nudge:k1"


def test_date_ask_has_a_datepicker_alongside_buttons() -> None:
    ask = Ask(
        to=HERE,
        prompt="By when?",
        expects="date",
        choices=(Choice(value="friday", label="Friday"),),
        action_id="due",
        hint="Or type a date, like 'next Tuesday'",
    )
    message = one(render([ask], now=NOW))
    [actions] = [b for b in message.blocks if b["type"] == "actions"]
    assert [e["type"] for e in actions["elements"]] == ["button", "datepicker"]
    assert actions["elements"][1]["action_id"] == "due|date"
    assert message.blocks[1]["type"] == "context"


def test_date_ask_without_choices_still_gets_a_datepicker() -> None:
    message = one(render([Ask(to=HERE, prompt="When?", expects="date", action_id="d")], now=NOW))
    assert [(e["type"], e["action_id"]) for e in elements(message)] == [("datepicker", "d|date")]


def test_time_ask_has_a_timepicker() -> None:
    message = one(
        render([Ask(to=HERE, prompt="What time?", expects="time", action_id="t")], now=NOW)
    )
    assert [(e["type"], e["action_id"]) for e in elements(message)] == [("timepicker", "t|time")]


def test_text_ask_is_just_the_prompt() -> None:
    message = one(render([Ask(to=HERE, prompt="What's on your mind?")], now=NOW))
    assert [b["type"] for b in message.blocks] == ["section"]


def test_nudge_has_its_buttons_and_a_snooze_datepicker() -> None:
    key = nudge_action_id("c42")
    ask = Ask(to=DM, prompt="Done?", expects="choice", choices=NUDGE_ACTIONS, action_id=key)
    message = one(render([ask], now=NOW))
    found = [(e["type"], e["action_id"], e.get("value")) for e in elements(message)]
    assert found == [
        ("button", f"{key}|0", "done"),
        ("button", f"{key}|1", "snooze:1h"),
        ("button", f"{key}|2", "snooze:morning"),
        ("button", f"{key}|3", "new_date"),
        ("button", f"{key}|4", "blocked"),
        ("datepicker", f"{key}|snooze", None),
    ]
    assert {parse_action_id(e["action_id"]) for e in elements(message)} == {key}


def test_button_text_is_cut_to_75_with_an_ellipsis() -> None:
    long = "word " * 40
    amps = "&" * 100
    ask = Ask(
        to=HERE,
        prompt="Pick",
        expects="choice",
        choices=(
            Choice(value="1", label=long),
            Choice(value="2", label=amps),
            Choice(value="3", label="x" * BUTTON_TEXT_LIMIT),
        ),
        action_id="p",
    )
    labels = [e["text"]["text"] for e in elements(one(render([ask], now=NOW)))]
    assert all(text_size(label) <= BUTTON_TEXT_LIMIT for label in labels)
    assert labels[0].endswith("…") and long.startswith(labels[0][:-1])
    assert labels[1] == "&amp;" * 14 + "…"  # cut between entities, never inside one
    assert labels[2] == "x" * BUTTON_TEXT_LIMIT  # exactly at the limit: untouched


def test_more_than_25_choices_split_across_actions_blocks() -> None:
    choices = tuple(Choice(value=f"v{i}", label=f"Item {i}") for i in range(60))
    ask = Ask(to=HERE, prompt="Which item?", expects="item", choices=choices, action_id="item")
    message = one(render([ask], now=NOW))
    actions = [b for b in message.blocks if b["type"] == "actions"]
    assert [len(b["elements"]) for b in actions] == [25, 25, 10]
    assert [e["value"] for e in elements(message)] == [f"v{i}" for i in range(60)]
    assert_limits(message)


def test_an_action_id_too_long_for_slack_fails_loudly() -> None:
    ask = Ask(to=HERE, prompt="?", choices=(Choice(value="v", label="l"),), action_id="a" * 254)
    with pytest.raises(ValueError, match="action_id"):
        render([ask], now=NOW)


def test_document_becomes_a_markdown_upload() -> None:
    doc = Document(to=DM, title="Your report <!here>", filename="report.md", markdown="# Ré\n")
    [upload] = render([doc], now=NOW)
    assert upload == SlackUpload(
        filename="report.md",
        title="Your report <!here>",
        content="# Ré\n".encode(),
        alt="Your report <!here>",
        kind="markdown",
        to=DM,
    )


def test_image_becomes_an_image_upload(monkeypatch: pytest.MonkeyPatch) -> None:
    picture = PlanPicture(
        outcome="Launch", steps=(("Draft", None),), style="flowchart", tz="Europe/London"
    )
    drawn: list[PlanPicture] = []

    def fake_render(p: PlanPicture) -> bytes:
        drawn.append(p)
        return PNG

    monkeypatch.setattr("adapters.slack.render.render_picture", fake_render)
    image = Image(to=HERE, picture=picture, alt="Flow chart of 1 step", filename="plan.png")
    [upload] = render([image], now=NOW)
    assert isinstance(upload, SlackUpload)
    assert (upload.kind, upload.filename, upload.alt, upload.content) == (
        "image",
        "plan.png",
        "Flow chart of 1 step",
        PNG,
    )
    assert drawn == [picture]


def test_image_upload_holds_a_real_png() -> None:
    picture = PlanPicture(outcome="Go", steps=(("A", None),), style="mindmap", tz="UTC")
    [upload] = render([Image(to=HERE, picture=picture, alt="a", filename="p.png")], now=NOW)
    assert isinstance(upload, SlackUpload)
    assert upload.content.startswith(PNG)


# --------------------------------------------------------------------------- grouping


def test_consecutive_intents_share_a_message_and_uploads_keep_order() -> None:
    doc = Document(to=HERE, title="Report", filename="r.md", markdown="x")
    out = render(
        [
            Say(to=HERE, text="One"),
            Ask(to=HERE, prompt="Two?"),
            doc,
            Say(to=HERE, text="Three"),
            Say(to=DM, text="Four"),
        ],
        now=NOW,
    )
    assert [type(m).__name__ for m in out] == [
        "SlackMessage",
        "SlackUpload",
        "SlackMessage",
        "SlackMessage",
    ]
    first, _, third, fourth = out
    assert isinstance(first, SlackMessage) and section_texts(first) == ["One", "Two?"]
    assert first.text == "One"
    assert isinstance(third, SlackMessage) and third.to == HERE
    assert isinstance(fourth, SlackMessage) and fourth.to == DM


def test_120_says_become_messages_of_at_most_50_blocks_in_order() -> None:
    out = messages(render([Say(to=HERE, text=f"line {i}") for i in range(120)], now=NOW))
    assert [len(m.blocks) for m in out] == [50, 50, 20]
    for message in out:
        assert_limits(message)
    assert [t for m in out for t in section_texts(m)] == [f"line {i}" for i in range(120)]
    assert [m.text for m in out] == ["line 0", "line 50", "line 100"]


def test_the_same_question_twice_does_not_repeat_action_ids_in_a_message() -> None:
    ask = Ask(to=DM, prompt="Done?", choices=NUDGE_ACTIONS, action_id=nudge_action_id("k"))
    out = messages(render([ask, ask], now=NOW))
    assert len(out) == 2
    for message in out:
        assert_limits(message)


def test_a_question_keeps_its_buttons_in_its_message() -> None:
    says = [Say(to=HERE, text=f"s{i}") for i in range(BLOCK_LIMIT - 1)]
    ask = Ask(to=HERE, prompt="Pick", choices=(Choice(value="v", label="l"),), action_id="a")
    first, second = messages(render([*says, ask], now=NOW))
    assert len(first.blocks) == BLOCK_LIMIT - 1
    assert [b["type"] for b in second.blocks] == ["section", "actions"]


def test_a_long_plan_spreads_over_messages() -> None:
    steps = tuple(PlanStep(text=f"Step {i} " + "x" * 300) for i in range(100))
    out = messages(render([ShowPlan(to=HERE, title="Big", steps=steps)], now=NOW))
    assert len(out) > 1
    for message in out:
        assert_limits(message)
    shown = [unescape(t) for m in out for t in section_texts(m)]
    assert shown == ["*Your plan:* Big", *(f"☐ {s.text}" for s in steps)]


# --------------------------------------------------------------------------- splitting


def _long_text() -> str:
    paragraph = "I want to <!channel> finish the draft & send it to @here, really. "
    lines = [f"{i}: " + paragraph * (1 + i % 7) for i in range(60)]
    lines[10] = "y" * 4000  # one line with no spaces at all
    lines[20] = "word " * 900  # one line longer than a section, with spaces
    return "\n".join(lines)[:10_000]


def test_a_10000_character_say_splits_into_sections_and_joins_back_exactly() -> None:
    text = _long_text()
    assert len(text) == 10_000
    out = messages(render([Say(to=HERE, text=text)], now=NOW))
    sections = [t for m in out for t in section_texts(m)]
    assert len(sections) > 3
    assert all(text_size(s) <= SECTION_LIMIT for s in sections)
    for message in out:
        assert_limits(message)
        for t in texts(message.blocks):
            assert_safe(t)
    assert "".join(unescape(s) for s in sections) == text


def test_split_prefers_line_breaks_then_words_then_a_hard_cut() -> None:
    lines = split_text("a" * 10 + "\n" + "b" * 10, 15)
    assert lines == ["a" * 10 + "\n", "b" * 10]
    words = split_text("aaaa bbbb cccc", 10)
    assert words == ["aaaa bbbb ", "cccc"]
    hard = split_text("c" * 25, 10)
    assert hard == ["c" * 10, "c" * 10, "c" * 5]


def test_split_counts_escaped_size() -> None:
    pieces = split_text("&" * 10, 10)
    assert pieces == ["&&", "&&", "&&", "&&", "&&"]


def test_split_does_not_tear_a_character_from_its_accent() -> None:
    pieces = split_text("e\u0301" * 10, 9)
    assert all(unicodedata.combining(p[0]) == 0 for p in pieces)
    assert "".join(pieces) == "e\u0301" * 10


@given(
    pieces_of(*"ab &<>@\n\t é😀", "channel", "\u0301", ZWJ, "\U0001f3fd", max_size=300),
    st.integers(min_value=8, max_value=60),
)
def test_split_invariants(text: str, limit: int) -> None:
    pieces = split_text(text, limit)
    assert "".join(pieces) == text
    assert all(p and text_size(escape(p)) <= limit for p in pieces)


def test_blank_say_renders_nothing() -> None:
    assert render([Say(to=HERE, text="  \n ")], now=NOW) == []


def test_now_must_be_aware() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        render([], now=datetime(2026, 11, 21, 10, 0))
