"""Nudges through Discord: DMs with buttons, and a closed DM falling back, once, to a
mention in the person's session thread."""

from __future__ import annotations

import pytest

from adapters.discord.app import PEOPLE
from core.dialogue.intents import Ask, DirectMessage
from core.dialogue.model import Actor
from core.errors import DeliveryDeferred, DeliveryRefused
from core.schedule.compose import NUDGE_ACTIONS, nudge_action_id
from tests.discord.rig import DiscordRig, buttons, content
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
