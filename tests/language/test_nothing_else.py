from __future__ import annotations

import pytest

from core.language.nothing_else import is_no, is_nothing_else, is_yes


@pytest.mark.parametrize(
    "reply",
    [
        "nothing else",
        "Nothing",
        "nothing more",
        "no",
        "Nope.",
        "no more",
        "done",
        "I'm done",
        "I’m done!",
        "that's all",
        "That is all.",
        "that's everything",
        "That’s it",
        "that's it for now",
        "all done 🎉",
        "none",
        "nah",
        "N/A",
        "",
        "   \n ",
        "-",
        "NOTHING ELSE!!!",
        "no, nothing else",
        "nothing else, thanks",
        "no that's all thanks",
        "👍",
    ],
)
def test_means_nothing_else(reply: str) -> None:
    assert is_nothing_else(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "no budget for marketing",
        "nothing works without a spec",
        "get it done by Friday",
        "that's it, the budget is the blocker",
        "That's it. The budget is the blocker.",
        "none of the team knows",
        "done with the draft, now the review",
        "hiring",
        "nobody",
        "note: also the roadmap",
    ],
)
def test_real_answers_are_kept(reply: str) -> None:
    assert not is_nothing_else(reply)


@pytest.mark.parametrize(
    "reply",
    [
        "yes",
        "Y",
        "yeah",
        "Yep!",
        "yup",
        "sure",
        "correct",
        "right",
        "That's right",
        "that’s right.",
        "ok",
        "Okay",
        "👍",
        "👍🏽",
        "✅",
    ],
)
def test_yes(reply: str) -> None:
    assert is_yes(reply)
    assert not is_no(reply)


@pytest.mark.parametrize(
    "reply",
    ["no", "N", "nope", "nah", "not really", "Wrong!", "👎", "❌", "No."],
)
def test_no(reply: str) -> None:
    assert is_no(reply)
    assert not is_yes(reply)


@pytest.mark.parametrize(
    "reply",
    ["", "yes but only on Fridays", "no idea", "maybe", "yesterday", "right after lunch", "🤔"],
)
def test_neither_yes_nor_no(reply: str) -> None:
    assert not is_yes(reply)
    assert not is_no(reply)
