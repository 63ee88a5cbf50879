from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.language.echo import echo, quote


@pytest.mark.parametrize(
    ("said", "echoed"),
    [
        ("I want to launch the beta!", "you want to launch the beta"),
        ("  my   team trusts me.  ", "your team trusts you"),
        ("I'm ready", "you're ready"),
        ("Launch the beta by March.", "Launch the beta by March"),
        ("I've tried twice", "you've tried twice"),
        ("I'll ask Priya", "you'll ask Priya"),
        ("I'd rather wait", "you'd rather wait"),
        ("I am stuck", "you are stuck"),
        ("I was scared", "you were scared"),
        ("Why am I doing this", "Why are you doing this"),
        ("What was I thinking?", "What were you thinking"),
        ("The idea is mine", "The idea is yours"),
        ("I blame myself", "you blame yourself"),
        ("give me time", "give you time"),
        ("i'm tired", "you're tired"),
        ("I'M DONE", "you're DONE"),
        ("I AM tired", "you are tired"),
    ],
)
def test_shifts_to_second_person(said: str, echoed: str) -> None:
    assert echo(said) == echoed


def test_curly_apostrophes_are_understood_and_kept() -> None:
    assert echo("I’m ready and I’ve planned it") == "you’re ready and you’ve planned it"


@pytest.mark.parametrize(
    "said",
    [
        "Iceland in summer",
        "determine the scope",
        "meet the team",
        "Mine's the red one? no: mineral water",
        "an I-beam",
        "some me-time",
        "the MyPy config",
    ],
)
def test_leaves_words_that_only_contain_pronouns(said: str) -> None:
    assert echo(said) == said.rstrip("?")


def test_keeps_you_as_you() -> None:
    assert echo("You told me your plan") == "You told you your plan"


def test_newlines_and_trailing_punctuation_are_tidied() -> None:
    assert echo("I need\n\n  a plan…!?") == "you need a plan"


def test_trailing_emoji_survives() -> None:
    assert echo("I did it 🎉") == "you did it 🎉"


def test_proper_nouns_keep_their_capitals() -> None:
    assert echo("I met Ana in Paris") == "you met Ana in Paris"


def test_empty_reply_echoes_as_empty() -> None:
    assert echo("   \n ") == ""


def test_quote_leaves_short_answers_whole() -> None:
    assert quote("I want to ship it.") == "you want to ship it"


def test_quote_cuts_long_answers_at_a_word() -> None:
    said = "I want to " + "ship the beta " * 30
    quoted = quote(said, limit=40)
    assert len(quoted) <= 40
    assert quoted.endswith("…")
    assert quoted.startswith("you want to ship the beta")
    assert quoted[:-1] == quoted[:-1].rstrip()
    assert echo(said).startswith(quoted[:-1])
    # The cut lands between words, never mid-word.
    assert echo(said)[len(quoted) - 1] == " "


def test_quote_cuts_a_single_long_word() -> None:
    quoted = quote("x" * 50, limit=10)
    assert quoted == "x" * 9 + "…"


def test_quote_rejects_a_useless_limit() -> None:
    with pytest.raises(ValueError):
        quote("anything", limit=0)


@given(st.text())
def test_echo_is_stable_when_repeated(said: str) -> None:
    once = echo(said)
    assert echo(once) == once
    assert "  " not in once
    assert once == once.strip()


@given(st.text(), st.integers(min_value=1, max_value=300))
def test_quote_never_exceeds_its_limit(said: str, limit: int) -> None:
    assert len(quote(said, limit=limit)) <= limit
