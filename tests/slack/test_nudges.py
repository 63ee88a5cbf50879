"""Nudges in Slack: DMs with buttons that work after a restart, and DMs Slack refuses."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.rig import (
    ANN,
    TEAM,
    USERS,
    SlackRig,
    button,
    element_ids,
    message_text,
    open_rig,
)

SUNDAY_9 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # 09:00 in London, the due day
SUNDAY_EVENING = datetime(2026, 11, 22, 17, 1, tzinfo=UTC)  # the check-in is due at 17:00


async def _plan_one_step(rig: SlackRig) -> None:
    """Ann plans one step, "Fix the login bug", due tomorrow (Sunday 22 November)."""
    await rig.command("plan Launch the beta")
    ts = str(rig.roots("C0001")[-1].response["ts"])
    for answer in (
        "I want the beta out",
        "Fix the login bug",
        "nothing else",
        "1",
        "Finding the time",
        "1",
        "tomorrow",
        "yes",
        "1",
    ):
        await rig.say(answer, thread_ts=ts)
    (commitment,) = await rig.runtime.store.list_commitments()
    assert commitment.text == "Fix the login bug"


def _dm_messages(rig: SlackRig) -> list[Call]:
    return rig.roots(f"D{ANN}")


async def test_a_nudge_button_works_after_a_restart(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    fake = FakeSlack(team_id=TEAM, users=USERS)
    await fake.start()
    try:
        rig = await open_rig(database, tmp_path, clock, fake=fake)
        await _plan_one_step(rig)
        clock.set(SUNDAY_9)
        assert await rig.service.dispatcher.tick() >= 1
        (nudge,) = _dm_messages(rig)
        assert "Fix the login bug" in message_text(nudge)
        labels = [
            e["text"]["text"]
            for b in nudge.args["blocks"]
            if b["type"] == "actions"
            for e in b["elements"]
            if e["type"] == "button"
        ]
        assert {"Done", "New date", "Blocked"} <= set(labels)
        assert any(label.lower().startswith("snooze") for label in labels)
        await rig.close()

        # A new process: nothing in memory, the button in Slack still works.
        rig = await open_rig(database, tmp_path, clock, fake=fake)
        try:
            await rig.click(nudge, button(nudge, "Done"))
            (commitment,) = await rig.runtime.store.list_commitments()
            assert commitment.status == "done"
            shown = "\n".join(message_text(m) for m in _dm_messages(rig)[1:])
            assert "Done: “Fix the login bug”" in shown
            assert rig.service.bot.failures == 0
        finally:
            await rig.close()
    finally:
        await fake.close()


async def test_a_check_in_is_answered_by_typing_in_the_dm(rig: SlackRig, clock: FakeClock) -> None:
    await _plan_one_step(rig)
    clock.set(SUNDAY_EVENING)
    await rig.service.dispatcher.tick()
    assert "How is it going with “Fix the login bug”?" in "\n".join(
        message_text(m) for m in _dm_messages(rig)
    )
    await rig.say("blocked", channel=f"D{ANN}", channel_type="im")
    assert "What is in the way?" in message_text(_dm_messages(rig)[-1])
    await rig.say("Waiting on <!here> review", channel=f"D{ANN}", channel_type="im")
    assert "smallest next step" in message_text(_dm_messages(rig)[-1])


async def test_a_check_in_button_in_the_dm_reaches_its_session(
    rig: SlackRig, clock: FakeClock
) -> None:
    await _plan_one_step(rig)
    clock.set(SUNDAY_EVENING)
    await rig.service.dispatcher.tick()
    question = _dm_messages(rig)[-1]
    assert any(
        b.get("block_id", "").startswith("bt|") for b in question.args["blocks"]
    )  # the session rides on the block, since a DM has no thread to find it by
    await rig.click(question, button(question, "Blocked"))
    assert "What is in the way?" in message_text(_dm_messages(rig)[-1])


async def test_a_dm_slack_refuses_is_recorded_once_not_retried(
    rig: SlackRig, clock: FakeClock
) -> None:
    await _plan_one_step(rig)
    rig.fake.cannot_dm.add(ANN)
    clock.set(SUNDAY_9)
    await rig.service.dispatcher.tick()
    failed = await rig.runtime.nudges.list_nudges(owner=None, statuses=("failed",))
    assert len(failed) == 1
    assert "user_disabled" in (failed[0].error or "")
    opened = len(rig.fake.calls_to("conversations.open"))
    clock.set(SUNDAY_9.replace(hour=10))
    await rig.service.dispatcher.tick()
    assert len(rig.fake.calls_to("conversations.open")) == opened  # not retried
    # ...and reported where the person looks: the Home tab.
    await rig.event({"type": "app_home_opened", "user": ANN, "tab": "home"})
    view = rig.fake.views[ANN]
    assert "user_disabled" in str(view)


async def test_a_snooze_date_from_the_picker(rig: SlackRig, clock: FakeClock) -> None:
    await _plan_one_step(rig)
    clock.set(SUNDAY_9)
    await rig.service.dispatcher.tick()
    (nudge,) = _dm_messages(rig)
    (picker,) = element_ids(nudge, "datepicker")
    await rig.click(nudge, picker, selected_date="2026-11-24")
    assert "Snoozed until" in message_text(_dm_messages(rig)[-1])
    assert "Tuesday 24 November" in message_text(_dm_messages(rig)[-1])
