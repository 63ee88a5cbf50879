"""The App Home tab, time zones from the Slack profile, and the ``/breakthrough``
subcommands that answer privately (help, status, pause/resume/stop, report, settings),
all through the real Bolt app over signed HTTP against the fake Slack."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.dialogue.model import Actor
from tests.slack.rig import ANN, BEN, TEAM, SlackRig, message_text

SUBCOMMAND_WORDS = ("plan", "status", "report", "settings", "pause", "resume", "stop", "help")


def owner(user: str) -> str:
    return Actor(platform="slack", workspace=TEAM, user_id=user).key()


async def start_plan(rig: SlackRig, topic: str, *, user: str = ANN) -> str:
    """``/breakthrough plan <topic>`` in #C0001; the ts of the session's thread."""
    before = len(rig.roots("C0001"))
    await rig.command(f"plan {topic}", user=user)
    roots = rig.roots("C0001")
    assert len(roots) == before + 1, rig.fake.summary()
    return str(roots[-1].response["ts"])


async def run_plan(
    rig: SlackRig, topic: str, *, user: str = ANN, step: str, when: str, finish: bool = True
) -> str:
    """A one-step PLAN typed in its thread, dated ``when`` and confirmed; with ``finish``
    the plan is recorded as a list (which closes the session and stores the commitment)."""
    ts = await start_plan(rig, topic, user=user)
    answers = ["I want it done", step, "nothing else", "1", "Finding the time", "1", when, "yes"]
    if finish:
        answers.append("1")  # record the plan as a list
    for text in answers:
        await rig.say(text, user=user, thread_ts=ts)
    return ts


def last_text(rig: SlackRig, ts: str) -> str:
    thread = rig.thread("C0001", ts)
    assert thread, rig.fake.summary()
    return message_text(thread[-1])


def view_texts(view: dict[str, Any]) -> str:
    """Every text of a published view (sections, headers and context), one per line."""
    out: list[str] = []
    for block in view["blocks"]:
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", ()):
            if "text" in element and isinstance(element["text"], str):
                out.append(element["text"])
    return "\n".join(out)


def answer(rig: SlackRig, url: str) -> str:
    """The one ephemeral answer the bot gave on a command's response_url."""
    responses = rig.fake.responses_to(url)
    assert len(responses) == 1, (responses, rig.fake.summary())
    (response,) = responses
    assert response.get("response_type") == "ephemeral"
    return str(response["text"])


# --------------------------------------------------------------------------- App Home


async def test_home_tab_shows_the_running_session_open_commitments_and_settings(
    rig: SlackRig,
) -> None:
    await run_plan(rig, "Launch the beta", step="Fix the login bug", when="tomorrow")
    (done,) = await rig.runtime.store.list_sessions()
    assert done.status == "done"
    await start_plan(rig, "Hire a designer")
    assert rig.fake.calls_to("views.publish") == []

    await rig.event({"type": "app_home_opened", "user": ANN, "channel": "D0001", "tab": "home"})

    (publish,) = rig.fake.calls_to("views.publish")
    assert publish.ok, publish
    assert publish.args["user_id"] == ANN
    view = publish.args["view"]
    assert view["type"] == "home"
    text = view_texts(view)
    # The running session, by method and topic; the finished one is not "active".
    assert "*PLAN* — Hire a designer\nin progress · last activity today" in text
    assert "Launch the beta" not in text
    # The commitment from the finished plan, dated in Ann's zone (Europe/London).
    assert "☐ Fix the login bug — due tomorrow at 17:00" in text
    # The settings, and how to change them.
    assert "*Your nudge settings*" in text
    assert "Time zone: Europe/London" in text
    assert "`/breakthrough settings tz Europe/Paris`" in text
    assert rig.fake.views[ANN]["type"] == "home"
    assert rig.service.bot.failures == 0


async def test_the_messages_tab_does_not_publish_the_home_view(rig: SlackRig) -> None:
    await rig.event({"type": "app_home_opened", "user": ANN, "channel": "D0001", "tab": "messages"})
    assert rig.fake.calls_to("views.publish") == []


async def test_home_tab_of_someone_with_nothing_says_how_to_start(rig: SlackRig) -> None:
    await rig.event({"type": "app_home_opened", "user": BEN, "channel": "D0002", "tab": "home"})
    (publish,) = rig.fake.calls_to("views.publish")
    text = view_texts(publish.args["view"])
    assert "No sessions running. Start one with `/breakthrough plan …`" in text
    assert "Nothing open." in text
    assert "Time zone: America/New_York" in text


# --------------------------------------------------------------------------- time zones


async def test_dates_are_in_the_profile_zone_until_the_person_chooses_one(rig: SlackRig) -> None:
    # Ben's Slack profile says America/New_York (rig.USERS); the fake's default is LA.
    first = await run_plan(rig, "Launch", user=BEN, step="Fix the login bug", when="tomorrow 9am")
    assert "Sunday 22 November at 09:00" in "\n".join(
        message_text(c) for c in rig.thread("C0001", first)
    )
    (commitment,) = await rig.runtime.store.list_commitments(owner=owner(BEN))
    assert commitment.text == "Fix the login bug"
    # 09:00 EST (UTC-5 in November) is 14:00 UTC.
    assert commitment.due_at.astimezone(UTC) == datetime(2026, 11, 22, 14, 0, tzinfo=UTC)

    url = await rig.command("settings tz Europe/Paris", user=BEN)
    assert "Europe/Paris" in answer(rig, url)

    await run_plan(rig, "Hire", user=BEN, step="Write the job ad", when="tomorrow 9am")
    commitments = await rig.runtime.store.list_commitments(owner=owner(BEN))
    (paris,) = [c for c in commitments if c.text == "Write the job ad"]
    # 09:00 CET (UTC+1 in November) is 08:00 UTC: the chosen zone wins over the profile.
    assert paris.due_at.astimezone(UTC) == datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
    assert paris.tz == "Europe/Paris"

    # Two whole plans, two dozen turns: the profile was read from Slack once.
    lookups = [c for c in rig.fake.calls_to("users.info") if c.args.get("user") == BEN]
    assert len(lookups) == 1
    assert rig.service.bot.failures == 0


async def test_each_person_gets_their_own_profile_zone(rig: SlackRig) -> None:
    await run_plan(rig, "Ann's", user=ANN, step="Ann's step", when="tomorrow 9am")
    await run_plan(rig, "Ben's", user=BEN, step="Ben's step", when="tomorrow 9am")
    (ann,) = await rig.runtime.store.list_commitments(owner=owner(ANN))
    (ben,) = await rig.runtime.store.list_commitments(owner=owner(BEN))
    assert ann.due_at.astimezone(UTC) == datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # GMT
    assert ben.due_at.astimezone(UTC) == datetime(2026, 11, 22, 14, 0, tzinfo=UTC)  # EST
    users = sorted(str(c.args.get("user")) for c in rig.fake.calls_to("users.info"))
    assert users == [ANN, BEN]


# --------------------------------------------------------------------------- help


async def test_help_answers_privately_naming_every_subcommand(rig: SlackRig) -> None:
    url = await rig.command("help")
    text = answer(rig, url)
    assert text.startswith("*Breakthrough*")
    for word in SUBCOMMAND_WORDS:
        assert f"`/breakthrough {word}" in text, word
    assert rig.fake.posted() == []  # nothing in the channel


async def test_an_unknown_subcommand_names_the_word_and_lists_what_works(rig: SlackRig) -> None:
    url = await rig.command("dance")
    text = answer(rig, url)
    assert text.startswith("I don't know “dance”.")
    for word in SUBCOMMAND_WORDS:
        assert f"`/breakthrough {word}" in text, word
    assert rig.fake.posted() == []
    assert await rig.runtime.store.list_sessions() == []


# --------------------------------------------------------------------------- sessions


async def test_status_lists_the_session_and_open_commitments(rig: SlackRig) -> None:
    url = await rig.command("status")
    assert "No session running." in answer(rig, url)

    await run_plan(rig, "Launch the beta", step="Fix the login bug", when="tomorrow")
    await start_plan(rig, "Hire a designer")
    text = answer(rig, await rig.command("status"))
    assert "• plan: Hire a designer (active)" in text
    assert "Launch the beta" not in text  # finished
    assert "• Fix the login bug — due tomorrow at 17:00" in text


async def test_pause_and_resume_the_latest_session(rig: SlackRig) -> None:
    ts = await start_plan(rig, "Launch the beta")
    await rig.say("I want the beta launched", thread_ts=ts)
    question = last_text(rig, ts)
    assert "And what needs to happen" in question

    url = await rig.command("pause")
    assert answer(rig, url) == "Done: I've answered in your plan session's thread."
    assert last_text(rig, ts).startswith("Paused. Nothing is lost")
    (session,) = await rig.runtime.store.list_sessions()
    assert session.status == "paused"
    assert "(paused)" in answer(rig, await rig.command("status"))

    url = await rig.command("resume")
    assert answer(rig, url) == "Done: I've answered in your plan session's thread."
    resumed = last_text(rig, ts)
    assert resumed.startswith("Welcome back.")
    assert "And what needs to happen for “the beta launched” to happen?" in resumed
    (session,) = await rig.runtime.store.list_sessions()
    assert session.status == "active"

    # The session carries on from the same question.
    await rig.say("A landing page", thread_ts=ts)
    assert last_text(rig, ts).startswith("A landing page. And what else needs to happen")


async def test_pause_resume_and_stop_without_a_session_say_so(rig: SlackRig) -> None:
    for name in ("pause", "resume", "stop", "report"):
        text = answer(rig, await rig.command(name))
        assert text.startswith("You have no session to "), (name, text)
    assert rig.fake.posted() == []


async def test_another_persons_pause_does_not_touch_my_session(rig: SlackRig) -> None:
    await start_plan(rig, "Launch the beta", user=ANN)
    text = answer(rig, await rig.command("pause", user=BEN))
    assert text.startswith("You have no session to pause")
    (session,) = await rig.runtime.store.list_sessions()
    assert session.status == "active"


async def test_stop_asks_first_and_stops_when_confirmed(rig: SlackRig) -> None:
    ts = await start_plan(rig, "Launch the beta")
    await rig.say("I want the beta launched", thread_ts=ts)
    url = await rig.command("stop")
    assert answer(rig, url) == "Done: I've answered in your plan session's thread."
    ask = rig.thread("C0001", ts)[-1]
    assert message_text(ask).startswith("Stop this session?")
    (session,) = await rig.runtime.store.list_sessions()
    assert session.status == "active"  # not until they confirm

    yes = next(
        e["action_id"]
        for b in ask.args["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
        if e["text"]["text"] == "Yes"
    )
    await rig.click(ask, yes)
    (session,) = await rig.runtime.store.list_sessions()
    assert session.status == "stopped"
    assert "No session running." in answer(rig, await rig.command("status"))


async def test_report_uploads_a_markdown_file_into_the_sessions_thread(rig: SlackRig) -> None:
    ts = await start_plan(rig, "Launch the beta")
    await rig.say("I want the beta launched", thread_ts=ts)
    url = await rig.command("report")
    assert answer(rig, url) == "Done: I've answered in your plan session's thread."
    (upload,) = rig.fake.uploads
    assert upload.filename.endswith(".md")
    assert upload.channel == "C0001"
    assert upload.thread_ts == ts
    content = upload.content.decode()
    assert content.startswith("# Breakthrough Action Plan")
    assert "I want the beta launched" in content
    assert "Draft" in content  # still in progress


async def test_report_of_a_finished_plan_goes_into_its_thread(rig: SlackRig) -> None:
    ts = await run_plan(rig, "Launch the beta", step="Fix the login bug", when="tomorrow")
    finished = len(rig.fake.uploads)
    await rig.command("report")
    uploads = rig.fake.uploads[finished:]
    documents = [u for u in uploads if u.filename.endswith(".md")]
    assert len(documents) == 1, rig.fake.summary()
    (document,) = documents
    assert document.thread_ts == ts
    content = document.content.decode()
    assert "Fix the login bug" in content
    assert "Draft" not in content


# --------------------------------------------------------------------------- settings


async def test_settings_quiet_hours_are_confirmed_and_kept(rig: SlackRig) -> None:
    url = await rig.command("settings quiet 22:00-07:00")
    assert answer(rig, url) == "Quiet hours set to 22:00-07:00: no nudges in that time."
    text = answer(rig, await rig.command("settings"))
    assert "Quiet hours: 22:00-07:00" in text


async def test_settings_that_cannot_be_read_explain_and_change_nothing(rig: SlackRig) -> None:
    before = await rig.runtime.accountability.preferences(owner(ANN))
    url = await rig.command("settings quiet whenever")
    text = answer(rig, url)
    assert text.startswith("Quiet hours need a start and an end")
    assert "quiet 21:00-08:00" in text
    assert await rig.runtime.accountability.preferences(owner(ANN)) == before
    assert "Quiet hours: 22:00-07:00" not in answer(rig, await rig.command("settings"))
