"""Nudges through Discord: DMs with buttons, and a closed DM falling back, once, to a
mention in the person's session thread."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from adapters.discord.app import PEOPLE
from core.dialogue.intents import Ask, DirectMessage
from core.dialogue.model import Actor
from core.errors import DeliveryDeferred, DeliveryRefused
from core.schedule.compose import NUDGE_ACTIONS, nudge_action_id
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord
from tests.discord.rig import DiscordRig, buttons, content, open_rig
from tests.discord.test_sessions import start_plan


def nudge(rig: DiscordRig, key: str = "checkin:s1:step:2026-11-21T09:00:00+00:00") -> Ask:
    ann = DirectMessage(
        actor=Actor(platform="discord", workspace=PEOPLE, user_id=str(rig.fake.ann_id))
    )
    return Ask(
        to=ann,
        prompt="It's time: did “Ann writes the spec” happen?",
        expects="choice",
        choices=NUDGE_ACTIONS,
        action_id=nudge_action_id(key),
    )


async def test_a_nudge_arrives_as_a_dm_with_its_buttons(rig: DiscordRig) -> None:
    await rig.service.messenger.deliver([nudge(rig)])
    dm = int(rig.fake.dm_channel(rig.fake.ann_id)["id"])
    [message] = rig.fake.messages(dm)
    assert "did “Ann writes the spec” happen?" in content(message)
    assert [b["label"] for b in buttons(message)] == [c.label for c in NUDGE_ACTIONS]


async def test_a_closed_dm_falls_back_once_to_a_mention_in_the_session_thread(
    rig: DiscordRig,
) -> None:
    thread = await start_plan(rig)
    rig.fake.cannot_dm.add(rig.fake.ann_id)
    before = len(rig.fake.messages(thread))
    with pytest.raises(DeliveryRefused):  # recorded as failed by the dispatcher: no retry
        await rig.service.messenger.deliver([nudge(rig)])
    [mention] = rig.fake.messages(thread)[before:]
    assert content(mention).startswith(f"<@{rig.fake.ann_id}>")
    assert "allow direct messages" in content(mention)
    [sent] = [
        c
        for c in rig.fake.calls_to("POST /channels/{channel_id}/messages")
        if c.params["channel_id"] == str(thread) and "<@" in (c.json or {}).get("content", "")
    ]
    allowed = sent.json["allowed_mentions"]
    assert allowed["parse"] == [] and [str(u) for u in allowed["users"]] == [str(rig.fake.ann_id)]


async def test_a_long_rate_limit_hands_a_nudge_back_to_the_dispatcher(rig: DiscordRig) -> None:
    """Over ``max_ratelimit_timeout`` discord.py raises instead of sleeping: the nudge is
    deferred (sent later by the dispatcher), not dropped and not holding a slot."""
    await rig.service.messenger.deliver([nudge(rig)])  # the DM is open now
    rig.fake.fail_next("POST /channels/{channel_id}/messages", retry_after=120.0)
    with pytest.raises(DeliveryDeferred) as deferred:
        await rig.service.messenger.deliver([nudge(rig, key="checkin:s2:step:x")])
    assert deferred.value.retry_after >= 60


async def test_a_short_rate_limit_is_waited_out_and_the_reply_sent_once(rig: DiscordRig) -> None:
    thread = await start_plan(rig)
    rig.fake.fail_next("POST /channels/{channel_id}/messages", retry_after=0.05)
    await rig.say(thread, "I want the beta out")
    sent = [
        c
        for c in rig.fake.calls_to("POST /channels/{channel_id}/messages")
        if c.params["channel_id"] == str(thread) and "the beta out" in str(c.json)
    ]
    assert [c.status for c in sent] == [429, 200]
    assert sum("the beta out" in content(m) for m in rig.fake.messages(thread)) == 1


async def _plan_one_step(rig: DiscordRig) -> None:
    """Ann plans one step, "Fix the login bug", due tomorrow (Sunday 22 November)."""
    thread = await start_plan(rig)
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
        await rig.say(thread, answer)
    (commitment,) = await rig.runtime.store.list_commitments()
    assert commitment.text == "Fix the login bug"


async def test_a_nudge_button_works_after_a_restart(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    first = await open_rig(fake, database, tmp_path, clock)
    try:
        await _plan_one_step(first)
        clock.set(datetime(2026, 11, 22, 9, 0, tzinfo=UTC))
        assert await first.service.dispatcher.tick() >= 1
    finally:
        await first.close()
    dm = int(fake.dm_channel(fake.ann_id)["id"])
    [nudge_message] = fake.messages(dm)
    assert "Fix the login bug" in content(nudge_message)
    # A new process: nothing in memory, the buttons in Discord still work.
    second = await open_rig(fake, database, tmp_path, clock)
    try:
        [snooze] = [b for b in buttons(nudge_message) if b["label"] == "Snooze 1 hour"]
        await second.click(snooze["custom_id"], message=nudge_message)
        clock.set(datetime(2026, 11, 22, 10, 1, tzinfo=UTC))
        assert await second.service.dispatcher.tick() >= 1
        again = [m for m in fake.messages(dm) if buttons(m)][-1]
        [done] = [b for b in buttons(again) if b["label"] == "Done"]
        # A snoozed nudge's key is too long for a custom_id: the button carries a digest.
        assert "|#" in done["custom_id"] and len(done["custom_id"]) <= 100
        await second.click(done["custom_id"], message=again)
        (commitment,) = await second.runtime.store.list_commitments()
        assert commitment.status == "done"
        assert "Done: “Fix the login bug”" in "\n".join(content(m) for m in fake.messages(dm))
        assert second.service.bot.failures == 0
    finally:
        await second.close()
