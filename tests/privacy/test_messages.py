"""What forget and export tell the person, in their words rather than table names."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.dialogue.intents import Ask, Document, Say
from core.dialogue.model import Actor
from core.privacy import Privacy, forget_action_id

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)
ZOE = Actor(platform="slack", workspace="T1", user_id="UZOE", display_name="Zoë")


class Rows:
    """A person's data as the store would hand it over, without a database."""

    def __init__(self, counts: dict[str, int], tables: dict[str, list[dict[str, Any]]]) -> None:
        self.counts = counts
        self.tables = tables
        self.erased: list[str] = []

    async def collect(self, key: str) -> dict[str, list[dict[str, Any]]]:
        return self.tables

    async def erase(self, key: str) -> dict[str, int]:
        self.erased.append(key)
        return self.counts


async def _receipt(counts: dict[str, int]) -> str:
    privacy = Privacy(Rows(counts, {}))
    (said,) = await privacy.forget(ZOE, action_id=forget_action_id(ZOE), value="yes")
    assert isinstance(said, Say)
    return said.text


async def test_one_of_each_is_said_in_the_singular() -> None:
    counts = {"sessions": 1, "answers": 1, "moments": 0, "commitments": 1, "nudges": 1}
    assert await _receipt(counts) == (
        "Deleted everything about you:\n"
        "• 1 coaching session, with 1 answer\n"
        "• 1 commitment\n"
        "• 1 nudge"
    )


async def test_only_team_changes_still_get_a_sentence() -> None:
    text = await _receipt({"sessions": 0, "team steps made unowned": 2})
    assert text == (
        "Deleted everything about you.\n"
        "Team plans keep their steps:\n"
        "• 2 steps you owned, now unclaimed for someone else to take on"
    )


async def test_nothing_stored_says_so() -> None:
    assert await _receipt({"sessions": 0, "nudges": 0}) == (
        "There was nothing stored about you, and nothing is now."
    )


async def test_no_deletes_nothing_and_another_persons_button_is_refused() -> None:
    rows = Rows({"sessions": 3}, {})
    privacy = Privacy(rows)
    (no,) = await privacy.forget(ZOE, action_id=forget_action_id(ZOE), value="no")
    bob = Actor(platform="slack", workspace="T1", user_id="UBOB", display_name="Bob")
    (theirs,) = await privacy.forget(bob, action_id=forget_action_id(ZOE), value="yes")
    assert isinstance(no, Say) and no.text == "Nothing was deleted."
    assert isinstance(theirs, Say) and "someone else's data" in theirs.text
    assert rows.erased == []


def test_the_question_names_what_goes_and_what_the_team_keeps() -> None:
    (ask,) = Privacy(Rows({}, {})).confirm_forget(ZOE)
    assert isinstance(ask, Ask)
    assert "breakthrough moment" in ask.prompt and "still to come" in ask.prompt
    assert "Team plans keep their steps, without your name" in ask.prompt
    assert [c.label for c in ask.choices] == ["Yes, delete everything", "No, keep it"]


async def test_the_markdown_export_has_moments_and_team_steps() -> None:
    state = {
        "answers": {"outcome": "A fair raise"},
        "moments": [{"type": "emotional", "quote": "proud 😭", "reflection": "I deserve it"}],
    }
    tables = {
        "sessions": [{"method": "seven-step", "topic": "Raise", "status": "done", "state": state}],
        "team_steps": [{"text": "Fix the login bug", "owner": ZOE.key()}],
    }
    intents = await Privacy(Rows({}, tables)).export(ZOE, now=NOW)
    markdown = next(i for i in intents if isinstance(i, Document) and i.filename.endswith(".md"))
    assert "- **outcome**: A fair raise" in markdown.markdown
    assert "Breakthrough moment (emotional): proud 😭 — I deserve it" in markdown.markdown
    assert "## Team steps you added or owned (1)" in markdown.markdown
    assert "text: Fix the login bug" in markdown.markdown
