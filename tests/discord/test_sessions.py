"""Coaching sessions through the real discord.py client and a fake Discord: a command
opens a private thread, the owner answers there (typed, or by modal without the message
content intent), buttons work after a restart, and nobody else drives the session."""

from __future__ import annotations

from pathlib import Path

from core.dialogue.intents import Say
from core.dialogue.model import Place
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord, Json
from tests.discord.rig import DiscordRig, buttons, content, open_rig

FIRST = "What would you like to happen"


def public(messages: list[Json]) -> list[Json]:
    """Messages everyone in the channel sees (not ephemeral ones)."""
    return [m for m in messages if not int(m.get("flags") or 0) & 64]


async def start_plan(rig: DiscordRig, topic: str = "Launch the beta") -> int:
    await rig.command("plan", topic=topic)
    [thread] = rig.thread_ids()
    await rig.fake.wait_messages(thread, 1)
    return thread


async def test_plan_opens_a_private_thread_and_answers_privately_with_a_link(
    rig: DiscordRig,
) -> None:
    thread = await start_plan(rig)
    [created] = rig.fake.calls_to("POST /channels/{channel_id}/threads")
    assert created.params["channel_id"] == str(rig.fake.channel_id)
    assert created.json["type"] == 12  # private: the session is personal
    assert "Launch the beta" not in created.json["name"]  # the name shows no private words
    [question] = rig.fake.messages(thread)
    assert FIRST in content(question)
    [followup] = rig.fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
    assert f"<#{thread}>" in followup.json["content"]
    assert followup.json["flags"] & 64  # only the person sees it
    deferred = rig.fake.calls_to("POST /interactions/{webhook_id}/{webhook_token}/callback")
    assert deferred[0].json["type"] == 5  # deferred at once, within Discord's 3 seconds


async def test_the_owner_s_typed_answers_drive_the_session_and_nobody_else_s(
    rig: DiscordRig,
) -> None:
    thread = await start_plan(rig)
    await rig.say(thread, "Bob says @everyone look", author=rig.fake.bob_id, replies=0)
    await rig.say(thread, "I want the beta out")
    messages = rig.fake.messages(thread)
    assert len(messages) == 2  # Bob's words got no answer; Ann's did
    assert "the beta out" in content(messages[-1])
    assert "Bob" not in content(messages[-1])


async def test_a_person_s_mentions_ping_nobody(rig: DiscordRig) -> None:
    thread = await start_plan(rig)
    await rig.say(thread, "I want @everyone and <@&1> to see it")
    sent = [c for c in rig.fake.calls_to("POST /channels/{channel_id}/messages") if c.json]
    assert sent
    for call in sent:
        assert call.json.get("allowed_mentions") == {"parse": []}, call.json


async def test_without_message_content_questions_carry_an_answer_button_and_a_modal(
    blind_rig: DiscordRig,
) -> None:
    rig = blind_rig
    thread = await start_plan(rig)
    [question] = rig.fake.messages(thread)
    [answer] = [b for b in buttons(question) if b["label"] == "Answer"]
    # Typing anyway gets told how to answer; nothing is lost or recorded as an answer.
    await rig.say(thread, "I want the beta out")
    assert "Press **Answer**" in content(rig.fake.messages(thread)[-1])
    await rig.click(answer["custom_id"])
    assert answer["custom_id"] in rig.fake.modals
    submitted = await rig.fake.modal_submit(answer["custom_id"], {"answer": "I want the beta out"})
    await rig.fake.wait_callback(submitted)
    await rig.fake.wait_messages(thread, 3)
    assert "the beta out" in content(rig.fake.messages(thread)[-1])


async def test_buttons_work_after_a_restart(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    first = await open_rig(fake, database, tmp_path, clock)
    try:
        thread = await start_plan(first)
        await first.say(thread, "I want the beta out")
        await first.say(thread, "Ann writes the spec")
        await first.say(thread, "nothing else")
    finally:
        await first.close()
    question = fake.messages(thread)[-1]
    choices = buttons(question)
    assert choices, content(question)
    second = await open_rig(fake, database, tmp_path, clock)
    try:
        before = len(fake.messages(thread))
        await second.click(choices[0]["custom_id"], message=question)
        await fake.wait_messages(thread, before + 1)
        assert "What challenges are there in this first step" in content(fake.messages(thread)[-1])
    finally:
        await second.close()


async def test_someone_else_pressing_a_button_changes_nothing(rig: DiscordRig) -> None:
    thread = await start_plan(rig)
    for text in ("I want the beta out", "Ann writes the spec", "nothing else"):
        await rig.say(thread, text)
    question = rig.fake.messages(thread)[-1]
    before = public(rig.fake.messages(thread))
    await rig.click(buttons(question)[0]["custom_id"], message=question, user=rig.fake.bob_id)
    assert public(rig.fake.messages(thread)) == before
    [note] = [
        c
        for c in rig.fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
        if "someone else's session" in (c.json or {}).get("content", "")
    ]
    assert note.json["flags"] & 64  # only Bob sees it


async def test_in_a_dm_the_session_runs_in_the_dm(rig: DiscordRig) -> None:
    await rig.command("plan", topic="Launch the beta", dm=True)
    dm = int(rig.fake.dm_channel(rig.fake.ann_id)["id"])
    assert not rig.thread_ids()  # no thread: DMs have none
    [question] = public(rig.fake.messages(dm))
    assert FIRST in content(question)
    await rig.say(dm, "I want the beta out", dm=True)
    assert "the beta out" in content(public(rig.fake.messages(dm))[-1])


async def test_what_the_owner_typed_while_the_bot_was_away_is_answered_on_reconnect(
    fake: FakeDiscord, database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    """Discord does not replay messages to a new gateway session: the bot reads them back."""
    first = await open_rig(fake, database, tmp_path, clock)
    try:
        thread = await start_plan(first)
    finally:
        await first.close()
    # Typed while no bot was connected: kept by Discord, never replayed to a new session.
    await fake.message_create(thread, "Bob was here", author=fake.bob_id)
    await fake.message_create(thread, "I want the beta out")
    second = await open_rig(fake, database, tmp_path, clock)
    try:
        [_, answer] = await fake.wait_messages(thread, 2)
        await second.settle()
        assert "the beta out" in content(answer)
        assert "Bob" not in content(answer)
        assert len(fake.messages(thread)) == 2  # answered once, and only Ann's words
        record = (await second.runtime.store.list_sessions())[0]
        assert record.state["answers"]["outcome"] == "I want the beta out"
    finally:
        await second.close()


async def test_a_long_answer_echoed_back_arrives_whole_in_several_messages(
    rig: DiscordRig,
) -> None:
    """Discord refuses content over 2,000 characters (50035): the bot splits, never cuts."""
    thread = await start_plan(rig)
    place = Place(
        platform="discord",
        workspace=str(rig.fake.guild_id),
        channel=str(rig.fake.channel_id),
        thread=str(thread),
    )
    lines = [f"line {n:03d}: " + "words " * 12 for n in range(60)]
    before = len(rig.fake.messages(thread))
    await rig.service.messenger.send([Say(to=place, text="\n".join(lines))])
    sent = rig.fake.messages(thread)[before:]
    assert len(sent) >= 2
    assert all(len(content(m)) <= 2000 for m in sent)
    assert "".join(content(m) for m in sent).splitlines() == lines
    assert all(c.status < 300 for c in rig.fake.calls_to("POST /channels/{channel_id}/messages"))


async def test_without_message_content_a_mention_is_read_as_the_answer(
    blind_rig: DiscordRig,
) -> None:
    rig = blind_rig
    thread = await start_plan(rig)
    await rig.say(thread, f"<@{rig.fake.bot_id}> I want the beta out")
    assert "“the beta out”" in content(rig.fake.messages(thread)[-1])


async def test_a_date_can_be_entered_in_the_pick_a_date_modal(rig: DiscordRig) -> None:
    thread = await start_plan(rig)
    for answer in ("I want the beta out", "Fix the login bug", "nothing else", "1"):
        await rig.say(thread, answer)
    for answer in ("Finding the time", "1"):
        await rig.say(thread, answer)
    question = rig.fake.messages(thread)[-1]
    [pick] = [b for b in buttons(question) if b["label"] == "Pick a date"]
    await rig.click(pick["custom_id"], message=question)
    modal = rig.fake.modals[pick["custom_id"]]
    assert modal["title"] == "Pick a date"
    before = len(rig.fake.messages(thread))
    submitted = await rig.fake.modal_submit(pick["custom_id"], {"answer": "tomorrow"})
    await rig.fake.wait_callback(submitted)
    await rig.fake.wait_messages(thread, before + 1)
    await rig.settle()
    assert "Sunday 22 November" in content(rig.fake.messages(thread)[-1])


async def test_where_private_threads_are_not_allowed_the_session_opens_a_public_one(
    rig: DiscordRig,
) -> None:
    rig.fake.fail_next("POST /channels/{channel_id}/threads", status=403, code=50013)
    thread = await start_plan(rig)
    attempts = rig.fake.calls_to("POST /channels/{channel_id}/threads")
    assert [(c.json["type"], c.status) for c in attempts] == [(12, 403), (11, 201)]
    assert FIRST in content(rig.fake.messages(thread)[0])
