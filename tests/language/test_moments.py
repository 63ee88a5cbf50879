from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.language.moments import MomentSign, MomentType, detect_moment

POSITIVE: list[tuple[str, MomentType, str]] = [
    # awareness
    ("I see!", "awareness", "I see"),
    ("I see now.", "awareness", "I see now"),
    ("I see it", "awareness", "I see it"),
    ("I see that I keep saying yes to everyone", "awareness", "I see that"),
    ("I see why this keeps happening", "awareness", "I see why"),
    ("Now I see the pattern", "awareness", "Now I see"),
    ("I never noticed how often I cancel on myself", "awareness", "I never noticed"),
    ("I hadn't realised how tired I am", "awareness", "I hadn't realised"),
    ("I’ve just realized I avoid conflict", "awareness", "I’ve just realized"),
    ("I notice that I always wait for permission", "awareness", "I notice that I always"),
    ("that's my blind spot", "awareness", "blind spot"),
    # insight
    ("Oh!", "insight", "Oh!"),
    ("Oh wow, it was never about the money", "insight", "Oh wow"),
    ("oh I see", "insight", "oh I see"),
    ("Ohh… right", "insight", "Ohh…"),
    ("Aha", "insight", "Aha"),
    ("That's it!", "insight", "That's it!"),
    ("I get it now", "insight", "I get it now"),
    ("it just clicked", "insight", "it just clicked"),
    ("It all makes sense now", "insight", "It all makes sense now"),
    ("the penny dropped", "insight", "the penny dropped"),
    ("total lightbulb moment", "insight", "lightbulb moment"),
    ("💡", "insight", "💡"),
    # emotional
    ("😭", "emotional", "😭"),
    ("honestly 🥹", "emotional", "🥹"),
    ("😂😂 that's so me", "emotional", "😂😂"),
    ("I'm in tears", "emotional", "I'm in tears"),
    ("I feel so relieved", "emotional", "I feel so relieved"),
    ("What a relief.", "emotional", "What a relief"),
    # action
    ("I'm going to do it", "action", "I'm going to do it"),
    ("I've decided: I'm applying", "action", "I've decided"),
    ("I know what to do now", "action", "I know what to do"),
    ("I'm ready to talk to her", "action", "I'm ready to"),
    ("Let's do this!", "action", "Let's do this"),
]

NEGATIVE = [
    "I see my manager on Tuesday",
    "I see a lot of meetings on my calendar",
    "Oh no, the build broke",
    "oh well",
    "Oh, and the budget is due",
    "that's it for now",
    "that's it",
    "The plan is to launch",
    "I'm going to the gym",
    "lol",
    "haha ok",
    "I don't get it",
    "I don't know what to do now",
    "I'm not ready to talk about it",
    "I haven't decided yet",
    "I'm not going to do it",
    "Ohio office opens in May",
    "we need a new light bulb for the office",
    "I realised the meeting moved",
    "I can see the office from here",
    "The team is in good shape",
    "Aharon is our designer",
    "it makes sense to wait",
    "I was relieved of the project duties last year",
    "",
    "mine is the blue one",
    "Let's discuss it on Monday",
]


@pytest.mark.parametrize(("reply", "kind", "cue"), POSITIVE)
def test_recognises_breakthrough(reply: str, kind: MomentType, cue: str) -> None:
    assert detect_moment(reply) == MomentSign(type=kind, cue=cue)


@pytest.mark.parametrize("reply", NEGATIVE)
def test_ordinary_speech_is_not_a_breakthrough(reply: str) -> None:
    assert detect_moment(reply) is None


def test_table_is_broad_enough() -> None:
    assert len(POSITIVE) >= 25
    assert len(NEGATIVE) >= 25
    assert {kind for _, kind, _ in POSITIVE} == {"awareness", "insight", "emotional", "action"}


@pytest.mark.parametrize(
    ("reply", "kind"),
    [
        ("Oh! I see now, and I'm going to do it 😭", "action"),
        ("😭 I see now, it all makes sense now", "insight"),
        ("😂 I never noticed that", "awareness"),
        ("😢", "emotional"),
    ],
)
def test_precedence_is_action_then_insight_then_awareness_then_emotional(
    reply: str, kind: MomentType
) -> None:
    sign = detect_moment(reply)
    assert sign is not None
    assert sign.type == kind


def test_cue_is_the_earliest_sign_of_the_winning_type() -> None:
    assert detect_moment("It clicked. Oh wow.") == MomentSign(type="insight", cue="It clicked")


@given(st.text())
def test_any_text_gives_a_sign_or_none(reply: str) -> None:
    sign = detect_moment(reply)
    assert sign is None or (sign.cue and sign.cue in reply)
