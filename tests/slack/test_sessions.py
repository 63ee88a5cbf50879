"""Coaching sessions in Slack threads, through the real Bolt app over signed HTTP."""

from __future__ import annotations

from tests.slack.rig import ANN, BEN, SlackRig, message_text


async def test_plan_runs_in_a_thread_of_a_root_message(rig: SlackRig) -> None:
    await rig.command("plan Launch the <!channel> beta")
    (root,) = rig.roots("C0001")
    assert (
        root.args["text"]
        == "<@UANN> started a PLAN session. I'll ask the questions in this thread."
    )
    assert "beta" not in root.args["text"]  # the topic is the person's, not the channel's
    ts = root.response["ts"]
    (first,) = rig.thread("C0001", ts)
    assert "What would you like to happen in this situation?" in message_text(first)

    await rig.say("I want the beta launched by March", thread_ts=ts)
    replies = rig.thread("C0001", ts)
    assert "“the beta launched by March”" in message_text(replies[-1])


async def test_someone_else_in_the_thread_does_not_drive_the_session(rig: SlackRig) -> None:
    await rig.command("plan Launch")
    ts = rig.roots("C0001")[0].response["ts"]
    before = len(rig.fake.posted())
    await rig.say("I want chaos", user=BEN, thread_ts=ts)
    assert len(rig.fake.posted()) == before
    (session,) = await rig.runtime.store.list_sessions()
    assert session.state["answers"] == {}
    await rig.say("I want calm", user=ANN, thread_ts=ts)
    assert len(rig.fake.posted()) == before + 1
