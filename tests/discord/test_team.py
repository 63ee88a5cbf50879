"""Team plans through the real discord.py client and a fake Discord: ``/breakthrough team``
opens a public thread off a message in the channel, members add to the lists, the
facilitator alone closes them, anyone claims a step with its button and dates it in a
DM, the digest goes to the channel, admins list the plans, and the facilitator's report
carries their private reflection. On SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from core.dialogue.state import SessionState
from core.store.team import SqlTeamStore
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import ADMINISTRATOR, MANAGE_GUILD, FakeDiscord, Json
from tests.discord.rig import DiscordRig, buttons, content

TOPIC = "Launch the beta"
CAI = 1_300_000_000_000_000_003
PRIVATE = 64


async def _rig(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock, *, content: bool
) -> DiscordRig:
    fake.add_user(CAI, "cai")
    store = await database.open_store()
    return await DiscordRig.open(
        fake=fake,
        database_url=database.url,
        tmp_path=tmp_path,
        clock=clock,
        store=store,
        message_content=content,
    )


@pytest.fixture
async def team_rig(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[DiscordRig]:
    """The Discord bot with the message content intent, on SQLite and on PostgreSQL."""
    rig = await _rig(fake, database, tmp_path, clock, content=True)
    try:
        yield rig
    finally:
        await rig.close()


@pytest.fixture
async def blind_team_rig(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[DiscordRig]:
    """The Discord bot without the message content intent."""
    rig = await _rig(fake, database, tmp_path, clock, content=False)
    try:
        yield rig
    finally:
        await rig.close()


def shown(rig: DiscordRig, channel_id: int, since: int = 0) -> str:
    """What the bot has shown everyone in a channel (not ephemeral replies), as one text."""
    return "\n".join(
        content(m)
        for m in rig.fake.messages(channel_id)[since:]
        if not int(m.get("flags") or 0) & PRIVATE
    )


def private_reply(rig: DiscordRig, payload: Json) -> str:
    """The ephemeral answer to one interaction."""
    [answer] = [
        c
        for c in rig.fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
        if payload["token"] in c.path
    ]
    assert answer.json["flags"] & PRIVATE
    return str(answer.json["content"])


def dm(rig: DiscordRig, user: int) -> int:
    return int(rig.fake.dm_channel(user)["id"])


async def start_team(rig: DiscordRig, topic: str = TOPIC) -> int:
    await rig.command("team", text=topic)
    thread = rig.thread_ids()[-1]
    await rig.fake.wait_messages(thread, 1)
    return thread


async def items(rig: DiscordRig) -> list[str]:
    """The items of the list the team is collecting, as the session has them."""
    [record] = [s for s in await rig.runtime.store.list_sessions() if s.method == "plan"]
    state = SessionState.from_json(record.state)
    return [str(i) for i in state.work.get("items", [])]


async def plan_to_the_board(rig: DiscordRig, thread: int) -> Json:
    """Ann facilitates, Bob adds a step, and the dialogue runs to the board (typed)."""
    await rig.post(thread, "The beta launched by March")
    await rig.post(thread, "A landing page", author=rig.fake.bob_id)
    await rig.post(thread, "Fix the login bug")
    for answer in ("nothing else", "2", "Finding the time", "1", "1"):
        await rig.post(thread, answer)
    board = rig.fake.messages(thread)[-1]
    assert "The team's steps for “Launch the beta”" in content(board), content(board)
    return board


def button(message: Json, label: str) -> str:
    [found] = [b["custom_id"] for b in buttons(message) if b["label"].startswith(label)]
    return str(found)


async def test_team_opens_a_public_thread_off_a_message_in_the_channel(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    payload = await rig.command("team", text=TOPIC)
    [root] = [m for m in rig.fake.messages(rig.fake.channel_id) if not m["flags"] & PRIVATE]
    assert content(root) == (
        f"<@{rig.fake.ann_id}> started a team PLAN: {TOPIC}. "
        "Everyone in the thread can add what needs to happen."
    )
    [opened] = rig.fake.calls_to("POST /channels/{channel_id}/messages/{message_id}/threads")
    thread = int(opened.response["id"])
    assert opened.params["message_id"] == root["id"]  # the thread hangs off the root message
    assert rig.fake.channels[thread]["type"] == 11  # public: the team's, not one person's
    assert not rig.fake.calls_to("POST /channels/{channel_id}/threads")  # no private one
    first = shown(rig, thread)
    assert "Everyone in this thread can add what needs to happen" in first
    assert "What would you like to happen in this situation?" in first
    assert f"<#{thread}>" in private_reply(rig, payload)
    # Everything goes out with mentions off: the facilitator's mention pings nobody.
    sent = rig.fake.calls_to("POST /channels/{channel_id}/messages")
    assert sent and all(c.json["allowed_mentions"] == {"parse": []} for c in sent)


async def test_members_add_items_with_their_names_and_only_the_facilitator_closes_the_list(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    thread = await start_team(rig)
    await rig.post(thread, "The beta launched by March")
    await rig.post(thread, "A landing page", author=rig.fake.bob_id)
    assert "A landing page (from Bob). And what else needs to happen" in shown(rig, thread)
    await rig.post(thread, "Recruit 20 testers", author=CAI)
    assert "Recruit 20 testers (from Cai). And what else" in shown(rig, thread)
    before = len(rig.fake.messages(thread))
    await rig.post(thread, "nothing else", author=rig.fake.bob_id)
    assert shown(rig, thread, before) == (
        "Bob, only Ann, who is facilitating, can close this list. Keep adding what you "
        "think of; Ann will say when the team is done. Nothing was changed."
    )
    assert await items(rig) == ["A landing page", "Recruit 20 testers"]
    await rig.post(thread, "nothing else")
    assert "What needs to happen first" in shown(rig, thread, before)
    # Bob's messages never became a session of his own.
    assert {s.owner for s in await rig.runtime.store.list_sessions()} == {
        f"discord:users:{rig.fake.ann_id}"
    }


async def test_a_member_pressing_the_facilitator_s_choice_is_told_so_and_changes_nothing(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    thread = await start_team(rig)
    for text in ("The beta launched by March", "A landing page", "nothing else"):
        await rig.post(thread, text)
    question = rig.fake.messages(thread)[-1]
    before = len(rig.fake.messages(thread))
    await rig.click(buttons(question)[0]["custom_id"], message=question, user=rig.fake.bob_id)
    assert shown(rig, thread, before) == (
        "Bob, Ann answers this one for the team. You can add items whenever the team is "
        "collecting a list. Nothing was changed."
    )
    [record] = await rig.runtime.store.list_sessions()
    assert "first_step" not in SessionState.from_json(record.state).answers


async def test_a_member_claims_with_the_button_and_dates_the_step_in_a_dm(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    thread = await start_team(rig)
    board = await plan_to_the_board(rig, thread)
    labels = [b["label"] for b in buttons(board)]
    assert labels == ["Claim 1: Fix the login bug", "Claim 2: A landing page", "Reflect privately"]
    before = len(rig.fake.messages(thread))
    await rig.click(button(board, "Claim 2"), message=board, user=rig.fake.bob_id)
    assert shown(rig, thread, before) == "Bob owns step 2: “A landing page”."
    bob = dm(rig, rig.fake.bob_id)
    assert "You own “A landing page”. When will you have it done?" in shown(rig, bob)
    # Cai is too late for step 2: told so in the thread, and Bob keeps it.
    await rig.click(button(board, "Claim 2"), message=board, user=CAI)
    assert "Cai, step 2 is Bob's already. Nothing was changed." in shown(rig, thread, before)
    # Bob answers in his DM, in his words; the thread hears the date, not the DM.
    await rig.post(None, "next Friday", author=rig.fake.bob_id, dm=True)
    assert "Friday 27 November — right?" in shown(rig, bob)
    await rig.post(None, "yes", author=rig.fake.bob_id, dm=True)
    assert "It's yours, with that date." in shown(rig, bob)
    assert "Bob will have step 2 (“A landing page”) done by Friday 27 November" in shown(
        rig, thread, before
    )
    [commitment] = await rig.runtime.store.list_commitments()
    assert (commitment.owner, commitment.text) == (
        f"discord:users:{rig.fake.bob_id}",
        "A landing page",
    )
    assert rig.service.bot.failures == 0


async def test_digest_now_posts_text_and_a_png_in_the_channel(team_rig: DiscordRig) -> None:
    rig = team_rig
    thread = await start_team(rig)
    await plan_to_the_board(rig, thread)
    before = len(rig.fake.messages(rig.fake.channel_id))
    payload = await rig.command("team", text="digest now", user=rig.fake.bob_id)
    assert private_reply(rig, payload) == "Posted the digest in this channel."
    posted = [
        m for m in rig.fake.messages(rig.fake.channel_id)[before:] if not m["flags"] & PRIVATE
    ]
    text, picture = posted
    assert "This week in the team's plans" in content(text)
    assert "2 steps: 0 done, 2 open, 0 overdue; 2 unclaimed." in content(text)
    [attachment] = picture["attachments"]
    assert attachment["filename"] == "team-progress-2026-11-21.png"
    assert attachment["description"].startswith("Progress chart")
    assert rig.fake.attachments[int(attachment["id"])].startswith(b"\x89PNG")


async def test_the_weekly_digest_is_delivered_to_the_channel_by_the_dispatcher(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    thread = await start_team(rig)
    await plan_to_the_board(rig, thread)
    before = len(rig.fake.messages(rig.fake.channel_id))
    rig.clock.set(datetime(2026, 11, 23, 9, 0, tzinfo=UTC))  # Monday 09:00 in London
    assert await rig.service.dispatcher.tick() >= 1
    posted = rig.fake.messages(rig.fake.channel_id)[before:]
    assert "This week in the team's plans" in content(posted[0])
    assert posted[1]["attachments"][0]["filename"] == "team-progress-2026-11-23.png"


@pytest.mark.parametrize("permission", [ADMINISTRATOR, MANAGE_GUILD])
async def test_team_list_is_for_server_admins(team_rig: DiscordRig, permission: int) -> None:
    rig = team_rig
    await start_team(rig)
    refused = await rig.command("team", text="list", user=rig.fake.bob_id)
    assert private_reply(rig, refused).startswith(
        "Only a workspace admin can list every team plan. Nothing was changed."
    )
    rig.fake.permissions[CAI] = permission
    listed = await rig.command("team", text="list", user=CAI)
    answer = private_reply(rig, listed)
    assert answer.startswith("Team plans running in this workspace:")
    assert "“Launch the beta” (plan, facilitated by Ann" in answer


async def test_the_facilitator_s_report_carries_their_private_reflection(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    thread = await start_team(rig)
    await plan_to_the_board(rig, thread)
    ann = dm(rig, rig.fake.ann_id)
    assert "were there any “sticky” moments?" in shown(rig, ann)
    for answer in ("The ordering", "Show the list first", "Fewer questions", "Ask Bob first"):
        rig.clock.advance(timedelta(minutes=1))
        await rig.post(None, answer, dm=True)
    before = len(rig.fake.messages(ann))
    rig.clock.advance(timedelta(minutes=1))
    payload = await rig.command("report")
    assert private_reply(rig, payload).startswith("I've posted the report")
    [report] = [
        a
        for m in rig.fake.messages(ann)[before:]
        for a in m.get("attachments") or []
        if a["filename"].endswith(".md")
    ]
    markdown = rig.fake.attachments[int(report["id"])].decode()
    assert "## Owners" in markdown
    assert "## Your reflection as facilitator (only you see this)" in markdown
    assert "Ask Bob first" in markdown
    # The thread never saw the reflection.
    assert "Ask Bob first" not in shown(rig, thread)


async def test_the_report_of_a_team_plan_goes_to_the_facilitator_s_dm_not_the_thread(
    team_rig: DiscordRig,
) -> None:
    """The team's thread is public; the facilitator's report may hold their reflection."""
    rig = team_rig
    thread = await start_team(rig)
    await plan_to_the_board(rig, thread)
    for answer in ("The ordering", "Show the list first", "Fewer questions", "Ask Bob first"):
        await rig.post(None, answer, dm=True)
    # The team plan, not the reflection, is the facilitator's latest session.
    [plan] = [s for s in await rig.runtime.store.list_sessions() if s.method == "plan"]
    await rig.runtime.store.save_turn(
        replace(plan, updated_at=plan.updated_at + timedelta(hours=1))
    )
    before = len(rig.fake.messages(thread))
    await rig.command("report")
    assert len(rig.fake.messages(thread)) == before
    ann = dm(rig, rig.fake.ann_id)
    [report] = [a for a in rig.fake.messages(ann)[-1].get("attachments") or []]
    markdown = rig.fake.attachments[int(report["id"])].decode()
    assert "## Owners" in markdown and "Ask Bob first" in markdown


async def test_without_message_content_members_add_by_mention_or_with_the_answer_form(
    blind_team_rig: DiscordRig,
) -> None:
    rig = blind_team_rig
    thread = await start_team(rig)
    me = f"<@{rig.fake.bot_id}>"
    await rig.post(thread, f"{me} The beta launched by March")
    # Typed without a mention, a member's words are blank to the bot: it says how.
    before = len(rig.fake.messages(thread))
    await rig.post(thread, "A landing page", author=rig.fake.bob_id)
    assert "Press **Answer**" in shown(rig, thread, before)
    await rig.post(thread, f"{me} A landing page", author=rig.fake.bob_id)
    assert "A landing page (from Bob)" in shown(rig, thread, before)
    question = rig.fake.messages(thread)[-1]
    answer = button(question, "Answer")
    await rig.click(answer, message=question, user=CAI)
    submitted = await rig.fake.modal_submit(answer, {"answer": "Recruit 20 testers"})
    await rig.fake.wait_callback(submitted)
    await rig.settle()
    assert "Recruit 20 testers (from Cai)" in shown(rig, thread, before)
    assert await items(rig) == ["A landing page", "Recruit 20 testers"]


async def test_team_in_a_dm_says_where_it_works(team_rig: DiscordRig) -> None:
    rig = team_rig
    payload = await rig.command("team", text=TOPIC, dm=True)
    assert "run in a server's channel" in private_reply(rig, payload)
    assert not rig.thread_ids()
    helped = await rig.command("team", text="help", dm=True)
    assert "claim 2" in private_reply(rig, helped)


async def test_a_claim_by_command_leaves_nothing_private_behind(team_rig: DiscordRig) -> None:
    """``/breakthrough team claim 1``, used in the plan's thread, answers there; the
    "thinking…" reply goes."""
    rig = team_rig
    thread = await start_team(rig)
    await plan_to_the_board(rig, thread)
    before = len(rig.fake.messages(thread))
    payload = await rig.command("team", text="claim 1", user=CAI, channel_id=thread)
    assert shown(rig, thread, before) == "Cai owns step 1: “Fix the login bug”."
    assert rig.fake.calls_to(f"DELETE /webhooks/{rig.fake.application_id}/{payload['token']}/*")
    steps = await SqlTeamStore(rig.runtime.store).list_steps(
        [p.session_id for p in await SqlTeamStore(rig.runtime.store).list_plans()]
    )
    assert [s.owner_name for s in steps if s.position == 0] == ["Cai"]
    # In the thread too, "digest now" posts in the channel itself.
    channel_before = len(rig.fake.messages(rig.fake.channel_id))
    await rig.command("team", text="digest now", channel_id=thread)
    assert "This week in the team's plans" in shown(rig, rig.fake.channel_id, channel_before)
    assert "This week in the team's plans" not in shown(rig, thread)


async def test_team_used_inside_a_thread_opens_the_plan_in_the_thread_s_channel(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    await rig.command("team", text=TOPIC, channel_id=rig.fake.thread_id)
    [opened] = rig.fake.calls_to("POST /channels/{channel_id}/messages/{message_id}/threads")
    assert opened.params["channel_id"] == str(rig.fake.channel_id)
    assert "started a team PLAN" in shown(rig, rig.fake.channel_id)
    [plan] = await SqlTeamStore(rig.runtime.store).list_plans()
    assert plan.channel == f"discord:{rig.fake.guild_id}:{rig.fake.channel_id}:"


async def test_where_threads_are_refused_nothing_starts_and_the_announcement_goes(
    team_rig: DiscordRig,
) -> None:
    rig = team_rig
    rig.fake.fail_next(
        "POST /channels/{channel_id}/messages/{message_id}/threads", status=403, code=50013
    )
    payload = await rig.command("team", text=TOPIC)
    assert "Create Public Threads" in private_reply(rig, payload)
    assert shown(rig, rig.fake.channel_id) == ""  # the root message was taken back
    assert await SqlTeamStore(rig.runtime.store).list_plans() == []
    assert await rig.runtime.store.list_sessions() == []
