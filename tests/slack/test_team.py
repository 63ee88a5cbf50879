"""Team plans in Slack: a channel's thread everyone adds to, Claim buttons, dates in DMs,
the digest in the channel, admins, and the facilitator's private reflection.

Everything goes through the real Bolt app over signed HTTP to the fake Slack, on SQLite
and on PostgreSQL; the assertions are what the people in the channel would see.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from adapters.slack.app import NOT_IN_CHANNEL
from core.store.team import SqlTeamStore
from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import Call, FakeSlack
from tests.slack.rig import ANN, BEN, TEAM, SlackRig, button, element_ids, message_text

CAI = "UCAI"
DEE = "UDEE"  # a workspace admin
PEOPLE: dict[str, dict[str, Any]] = {
    ANN: {"real_name": "Ann", "tz": "Europe/London"},
    BEN: {"real_name": "Ben", "tz": "America/New_York"},
    CAI: {"real_name": "Cai", "tz": "Asia/Tokyo"},
    DEE: {"real_name": "Dee", "tz": "Europe/Berlin", "is_admin": True},
}
CHANNEL = "C0001"
PNG = b"\x89PNG\r\n\x1a\n"


@pytest.fixture
async def rig(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[SlackRig]:
    """The Slack bot with four people in the workspace, on SQLite and on PostgreSQL."""
    fake = FakeSlack(team_id=TEAM, users=PEOPLE)
    await fake.start()
    try:
        store = await database.open_store()
        rig = await SlackRig.open(
            database_url=database.url, tmp_path=tmp_path, clock=clock, store=store, fake=fake
        )
    except BaseException:
        await fake.close()
        raise
    rig.owns_fake = True
    try:
        yield rig
    finally:
        assert rig.service.bot.failures == 0
        await rig.close()


def shown(calls: list[Call]) -> str:
    return "\n".join(message_text(c) for c in calls)


def private(rig: SlackRig, url: str) -> str:
    """What came back only to the person who ran the command."""
    bodies = rig.fake.responses_to(url)
    assert all(b.get("response_type") == "ephemeral" for b in bodies)
    return "\n".join(str(b.get("text")) for b in bodies)


def dm(rig: SlackRig, user: str) -> list[Call]:
    return rig.roots(f"D{user}")


async def start(rig: SlackRig, topic: str = "Launch the beta") -> str:
    """Ann starts a team plan in the channel; the thread's ts."""
    await rig.command(f"team {topic}", user=ANN)
    return str(rig.roots(CHANNEL)[-1].response["ts"])


async def plan_to_the_board(rig: SlackRig) -> str:
    """A short team PLAN typed through to its board: Ben's and Cai's steps, Cai's first."""
    ts = await start(rig)
    for user, text in (
        (ANN, "The beta out by March"),
        (BEN, "A landing page"),
        (CAI, "Recruit 20 testers"),
        (ANN, "nothing else"),
        (ANN, "2"),  # first: Recruit 20 testers
        (ANN, "Finding the time"),
        (ANN, "1"),  # next: A landing page
        (ANN, "1"),  # recorded as a list
    ):
        await rig.say(text, user=user, thread_ts=ts)
    assert "The team's steps for “Launch the beta”" in shown(rig.thread(CHANNEL, ts))
    return ts


async def test_a_team_plan_runs_in_a_thread_everyone_adds_to(rig: SlackRig) -> None:
    ts = await start(rig, "Launch the <!here> beta")
    (root,) = rig.roots(CHANNEL)
    assert root.args["text"].startswith("<@UANN> started a team PLAN session: ")
    assert "&lt;!here&gt;" in root.args["text"]  # the topic is shown, never a ping
    assert "<!here>" not in root.args["text"]
    opening = shown(rig.thread(CHANNEL, ts))
    assert "Everyone in this thread can add what needs to happen" in opening
    assert "What would you like to happen in this situation?" in opening

    await rig.say("The beta out by March", user=ANN, thread_ts=ts)
    await rig.say("A landing page", user=BEN, thread_ts=ts)
    assert "A landing page (from Ben). And what else needs to happen" in message_text(
        rig.thread(CHANNEL, ts)[-1]
    )
    await rig.say("Tell <!channel> about it", user=CAI, thread_ts=ts)
    echo = rig.thread(CHANNEL, ts)[-1]
    assert "Tell <!channel> about it (from Cai)" in message_text(echo)
    assert "<!channel>" not in str(echo.args["blocks"])

    # Ben may add, not close: told so by name, and the list stays open.
    await rig.say("nothing else", user=BEN, thread_ts=ts)
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == (
        "Ben, only Ann, who is facilitating, can close this list. Keep adding what you "
        "think of; Ann will say when the team is done. Nothing was changed."
    )
    await rig.say("Fix the login bug", user=ANN, thread_ts=ts)
    assert "And what else needs to happen" in message_text(rig.thread(CHANNEL, ts)[-1])
    await rig.say("nothing else", user=ANN, thread_ts=ts)
    ordering = message_text(rig.thread(CHANNEL, ts)[-1])
    assert "What needs to happen first" in ordering
    assert "1) A landing page" in ordering
    assert "3) Fix the login bug" in ordering


async def test_a_member_pressing_the_facilitators_button_changes_nothing(
    rig: SlackRig,
) -> None:
    ts = await start(rig)
    await rig.say("The beta out by March", user=ANN, thread_ts=ts)
    await rig.say("A landing page", user=BEN, thread_ts=ts)
    await rig.say("Recruit 20 testers", user=ANN, thread_ts=ts)
    await rig.say("nothing else", user=ANN, thread_ts=ts)
    question = rig.thread(CHANNEL, ts)[-1]
    first, second = element_ids(question)

    url = await rig.click(question, second, user=DEE)
    assert message_text(rig.thread(CHANNEL, ts)[-1]).startswith(
        "Dee, Ann answers this one for the team."
    )
    assert not rig.fake.responses_to(url)  # said in the thread, not "someone else's session"
    await rig.click(question, first, user=ANN)
    assert "What challenges are there in this first step, “A landing page”?" in message_text(
        rig.thread(CHANNEL, ts)[-1]
    )


async def test_a_claim_button_and_the_date_in_the_owners_dm(rig: SlackRig) -> None:
    ts = await plan_to_the_board(rig)
    board = next(c for c in rig.thread(CHANNEL, ts) if "Claim 1" in message_text(c))
    assert "1) Claim 1: Recruit 20 testers" in message_text(board)
    assert "2) Claim 2: A landing page" in message_text(board)

    await rig.click(board, button(board, "Claim 2: A landing page"), user=BEN)
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == "Ben owns step 2: “A landing page”."
    assert "You own “A landing page”. When will you have it done?" in shown(dm(rig, BEN))
    assert not dm(rig, CAI)

    await rig.click(board, button(board, "Claim 2: A landing page"), user=CAI)
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == (
        "Cai, step 2 is Ben's already. Nothing was changed."
    )

    await rig.say("next Friday", user=BEN, channel=f"D{BEN}", channel_type="im")
    assert "Friday 27 November — right?" in message_text(dm(rig, BEN)[-1])
    await rig.say("yes", user=BEN, channel=f"D{BEN}", channel_type="im")
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == (
        "Ben will have step 2 (“A landing page”) done by Friday 27 November at 17:00 (Ben's time)."
    )
    (commitment,) = await rig.runtime.store.list_commitments()
    assert commitment.owner == f"slack:{TEAM}:{BEN}"
    assert commitment.tz == "America/New_York"


async def test_a_date_picked_in_the_dm_for_a_step_claimed_by_typing(rig: SlackRig) -> None:
    ts = await plan_to_the_board(rig)
    await rig.say("claim 1", user=CAI, thread_ts=ts)
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == "Cai owns step 1: “Recruit 20 testers”."
    question = dm(rig, CAI)[-1]
    (picker,) = element_ids(question, "datepicker")
    await rig.click(question, picker, user=CAI, selected_date="2026-11-26")
    confirm = dm(rig, CAI)[-1]
    assert "Thursday 26 November — right?" in message_text(confirm)
    await rig.click(confirm, button(confirm, "Yes"), user=CAI)
    assert "Cai will have step 1 (“Recruit 20 testers”) done by Thursday 26 November" in (
        message_text(rig.thread(CHANNEL, ts)[-1])
    )

    # Someone else may not mark it done; the owner may, and the thread hears of it.
    await rig.say("done 1", user=BEN, thread_ts=ts)
    assert message_text(rig.thread(CHANNEL, ts)[-1]) == (
        "Ben, only Cai (its owner) or Ann (the facilitator) can mark step 1 done. "
        "Nothing was changed."
    )
    (commitment,) = await rig.runtime.store.list_commitments()
    assert commitment.status == "open"
    posted = len(rig.fake.posted())
    await rig.say("Good work everyone", user=BEN, thread_ts=ts)
    assert len(rig.fake.posted()) == posted  # the team talking among themselves


async def test_digest_now_posts_text_and_a_chart_in_the_channel(rig: SlackRig) -> None:
    ts = await plan_to_the_board(rig)
    await rig.say("claim 2", user=BEN, thread_ts=ts)
    roots, uploads = len(rig.roots(CHANNEL)), len(rig.fake.uploads)

    url = await rig.command("team digest now", user=BEN)
    assert private(rig, url) == "Posted the digest in this channel."
    (digest,) = rig.roots(CHANNEL)[roots:]
    text = message_text(digest)
    assert text.startswith("This week in the team's plans")
    assert "2 steps" in text
    assert "Ben" in text
    assert "Unclaimed (1): Recruit 20 testers" in text
    (chart,) = rig.fake.uploads[uploads:]
    assert chart.channel == CHANNEL
    assert chart.thread_ts is None  # in the channel, not in the plan's thread
    assert chart.content.startswith(PNG)
    assert chart.filename == "team-progress-2026-11-21.png"
    assert chart.title == "The team's progress"
    assert chart.alt_txt and "Progress chart" in chart.alt_txt


async def test_the_weekly_digest_comes_to_the_channel_on_its_day(
    rig: SlackRig, clock: FakeClock
) -> None:
    await plan_to_the_board(rig)
    url = await rig.command("team digest saturday 15:00", user=BEN)
    assert "Only someone facilitating a team plan in this channel" in private(rig, url)
    url = await rig.command("team digest saturday 15:00", user=ANN)
    assert private(rig, url) == "The weekly digest comes every Saturday at 15:00 (Europe/London)."
    roots = len(rig.roots(CHANNEL))

    clock.set(clock.now().replace(hour=15, minute=1))
    assert await rig.service.dispatcher.tick() >= 1
    (digest,) = rig.roots(CHANNEL)[roots:]
    assert message_text(digest).startswith("This week in the team's plans")
    assert rig.fake.uploads[-1].channel == CHANNEL
    assert rig.fake.uploads[-1].thread_ts is None
    # ...and the next one is a week later, not again today.
    next_due = await rig.runtime.nudges.next_due()
    assert next_due is not None
    assert next_due - clock.now() > timedelta(days=6)


async def test_only_an_admin_lists_and_ends_every_team_plan(rig: SlackRig) -> None:
    ts = await start(rig)
    url = await rig.command("team list", user=BEN)
    assert private(rig, url).startswith(
        "Only a workspace admin can list every team plan. Nothing was changed."
    )
    url = await rig.command("team list", user=DEE)
    listing = private(rig, url)
    assert listing.startswith("Team plans running in this workspace:")
    assert "“Launch the beta” (plan, facilitated by Ann" in listing

    (plan,) = await SqlTeamStore(rig.runtime.store).list_plans()
    await rig.command(f"team end {plan.session_id[:8]}", user=BEN)
    assert "only Ann (the facilitator) or a workspace admin can end" in shown(dm(rig, BEN))
    assert await SqlTeamStore(rig.runtime.store).list_plans()  # still running
    await rig.command(f"team end {plan.session_id[:8]}", user=DEE)
    assert message_text(rig.thread(CHANNEL, ts)[-1]).startswith("Dee ended this team plan.")
    assert not await SqlTeamStore(rig.runtime.store).list_plans()


async def test_the_facilitators_report_has_their_reflection_in_their_dm(rig: SlackRig) -> None:
    ts = await plan_to_the_board(rig)
    assert "were there any “sticky” moments?" in shown(dm(rig, ANN))
    for answer in (
        "The ordering took a while",
        "Show the list first",
        "Fewer questions",
        "Ask Ben to go first",
    ):
        await rig.say(answer, user=ANN, channel=f"D{ANN}", channel_type="im")
    assert "Your reflection is kept for you alone" in shown(dm(rig, ANN))
    uploads = len(rig.fake.uploads)

    url = await rig.command("report", user=ANN)
    assert "in our DM" in private(rig, url)
    (report,) = rig.fake.uploads[uploads:]
    assert report.channel == f"D{ANN}"
    text = report.content.decode()
    assert "## Owners" in text
    assert "## Your reflection as facilitator (only you see this)" in text
    assert "Ask Ben to go first" in text
    # Nothing of it reached the team's thread, and Ben's report is not hers.
    assert all(u.thread_ts != ts for u in rig.fake.uploads if "Ask Ben" in u.content.decode())
    await rig.say("claim 1", user=BEN, thread_ts=ts)
    await rig.say("tomorrow", user=BEN, channel=f"D{BEN}", channel_type="im")
    await rig.say("yes", user=BEN, channel=f"D{BEN}", channel_type="im")
    uploads = len(rig.fake.uploads)
    await rig.command("report", user=BEN)
    assert all("Ask Ben" not in u.content.decode() for u in rig.fake.uploads[uploads:])


async def test_team_help_and_where_a_team_plan_cannot_start(rig: SlackRig) -> None:
    url = await rig.command("team", user=BEN)
    help_text = private(rig, url)
    assert "Type these after `/breakthrough`" in help_text
    assert "claim 2" in help_text
    assert "team digest now" in help_text

    url = await rig.command("team Our offsite", user=BEN, channel=f"D{BEN}")
    assert private(rig, url) == "Team sessions run in a channel: use it there."

    rig.fake.not_in_channel.add("C0002")
    url = await rig.command("team Our offsite", user=BEN, channel="C0002")
    assert private(rig, url) == NOT_IN_CHANNEL
    assert not await SqlTeamStore(rig.runtime.store).list_plans()
    assert not rig.fake.posted()


async def test_a_team_seven_step_report_goes_to_the_dm_not_the_thread(rig: SlackRig) -> None:
    await rig.command("team seven-step Our releases", user=ANN)
    ts = str(rig.roots(CHANNEL)[-1].response["ts"])
    for _ in range(20):  # the facilitator answers every question, briefly
        last = message_text(rig.thread(CHANNEL, ts)[-1])
        if "Claim 1" in last or "Reflect privately" in last:
            break
        answer = "next friday" if "When will" in last else "yes" if "right?" in last else "Ship"
        await rig.say(answer, user=ANN, thread_ts=ts)
        if "nothing else" in message_text(rig.thread(CHANNEL, ts)[-1]):
            await rig.say("nothing else", user=ANN, thread_ts=ts)
    assert "1. Ship (added by Ann) — unclaimed" in shown(rig.thread(CHANNEL, ts))
    uploads = len(rig.fake.uploads)

    url = await rig.command("report", user=ANN)
    assert private(rig, url) == "I've sent you the report, “Seven Step Breakthrough”, in our DM."
    (report,) = rig.fake.uploads[uploads:]
    assert (report.channel, report.thread_ts) == (f"D{ANN}", None)
    assert "## Owners" in report.content.decode()
