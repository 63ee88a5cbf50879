"""Accountability end to end: a plan's commitments become nudges that arrive at the right
local time, open the check-in, celebrate, snooze, wait out quiet hours and vacations.

Real database (SQLite and PostgreSQL), real coach and methods, a fake clock: each test
runs in milliseconds and never sleeps.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.dialogue.model import Actor
from core.errors import DeliveryDeferred, DeliveryRefused
from core.methods.loader import MethodLibrary
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.schedule.rig import Rig


def utc(day: int, hour: int, minute: int = 0, month: int = 11) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=UTC)


@pytest.fixture
def rig(store: SqlStore, methods: MethodLibrary, clock: FakeClock) -> Rig:
    return Rig.build(store, methods, clock)


@pytest.fixture
def bob() -> Actor:
    return Actor(platform="console", workspace="local", user_id="bob", display_name="Bob")


async def test_a_plan_schedules_reminder_checkin_and_one_overdue_per_step(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    upcoming = [(n.kind, n.due_at, n.payload["text"]) for n in await rig.upcoming(ann.key())]
    assert upcoming == [
        ("reminder", utc(22, 9), "Fix the login bug"),  # due in < 2 days: the morning of
        ("checkin", utc(22, 17), "Fix the login bug"),
        ("overdue", utc(23, 17), "Fix the login bug"),
        ("reminder", utc(26, 17), "Recruit 20 testers"),  # due later: the day before
        ("checkin", utc(27, 17), "Recruit 20 testers"),
        ("overdue", utc(28, 17), "Recruit 20 testers"),
        ("reminder", utc(29, 17), "I need a landing page"),
        ("checkin", utc(30, 17), "I need a landing page"),
        ("overdue", utc(1, 17, month=12), "I need a landing page"),
    ]


async def test_nothing_arrives_early_and_the_reminder_arrives_on_time(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    assert await rig.at(utc(22, 8, 59)) == []
    [reminder] = await rig.at(utc(22, 9))
    assert "A reminder: “Fix the login bug” is due today at 17:00." in reminder
    assert "Done" in reminder and "Snooze 1 hour" in reminder and "Blocked" in reminder
    assert await rig.at(utc(22, 9, 30)) == []  # sent once


async def test_the_checkin_opens_the_checkin_method_and_done_celebrates(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 9))
    [checkin] = await rig.at(utc(22, 17))
    assert "Check-in time: “Fix the login bug” was due today at 17:00." in checkin
    assert "How is it going with “Fix the login bug”?" in checkin
    session = rig.delivered[-1].opened_session
    assert session is not None
    reply = await rig.answer(ann, session, "1")
    assert "🎉 Done: “Fix the login bug”. That's 1 of 3 steps done." in reply
    assert reply.rstrip().endswith("What helped you get it done?")
    done = await rig.store.list_commitments(owner=ann.key(), status="done")
    assert [c.text for c in done] == ["Fix the login bug"]
    # Answered: the overdue follow-up is not sent.
    assert await rig.at(utc(23, 17)) == []
    kinds = [n.kind for n in await rig.upcoming(ann.key())]
    assert kinds.count("overdue") == 2


async def test_someone_east_of_utc_gets_their_checkin_at_their_local_due_time(
    rig: Rig, ann: Actor
) -> None:
    # The database gives dates back in UTC; the nudge was planned with the date in the
    # person's zone. Compared as text they differ and the check-in was skipped.
    tokyo = replace(ann, tz="Asia/Tokyo")
    rig.clock.set(utc(20, 23))  # Saturday 08:00 in Tokyo
    await rig.plan(tokyo)
    delivered = [text for _, text in await rig.run_until(utc(22, 9))]
    assert any("How is it going with “Fix the login bug”?" in text for text in delivered)
    checkins = [n for n in await rig.acc.nudges.list_nudges(owner=tokyo.key(), limit=50)]
    assert not [n for n in checkins if n.error == "the commitment has a new date"]


async def test_an_unanswered_checkin_gets_exactly_one_overdue_follow_up(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    sent = await rig.run_until(utc(25, 12))
    about_step_one = [text for _, text in sent if "Fix the login bug" in text]
    assert len(about_step_one) == 3  # reminder, check-in, one overdue
    assert "Coming back to “Fix the login bug”" in about_step_one[2]
    assert "How is it going with “Fix the login bug”?" in about_step_one[2]


async def test_not_yet_with_a_new_date_replaces_the_nudges(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 17))
    session = rig.delivered[-1].opened_session
    assert session is not None
    await rig.answer(ann, session, "2")  # not yet
    await rig.answer(ann, session, "Tuesday")
    await rig.answer(ann, session, "yes")
    [c] = [c for c in await rig.store.list_commitments(owner=ann.key()) if c.position == 0]
    assert c.due_at == utc(24, 17)
    assert c.slips == 1
    about = [(n.kind, n.due_at) for n in await rig.upcoming(ann.key()) if n.target == c.id]
    assert about == [("reminder", utc(24, 9)), ("checkin", utc(24, 17)), ("overdue", utc(25, 17))]
    assert await rig.at(utc(23, 17)) == []  # the old overdue was cancelled


async def test_quiet_hours_hold_a_nudge_until_they_end(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    reply, ok = await rig.acc.settings(ann, "quiet 16:00-20:00", now=rig.clock.now())
    assert ok and "16:00" in reply
    checkins = [n for n in await rig.upcoming(ann.key()) if n.kind == "checkin"]
    assert checkins[0].due_at == utc(22, 20)  # re-planned at once
    assert await rig.at(utc(22, 17)) == []
    [checkin] = await rig.at(utc(22, 20))
    assert "Check-in time" in checkin


async def test_quiet_hours_set_after_scheduling_are_honoured_at_delivery(
    rig: Rig, ann: Actor
) -> None:
    """Another replica (or an old row) may not know the new setting: delivery checks."""
    await rig.plan(ann)
    prefs = await rig.acc.preferences(ann.key())
    from dataclasses import replace
    from datetime import time

    await rig.nudges.save_preferences(
        replace(prefs, quiet_start=time(16), quiet_end=time(20)), now=rig.clock.now()
    )
    assert await rig.at(utc(22, 17)) == []
    assert await rig.nudges.next_due() == utc(22, 20)


async def test_working_days_move_a_sunday_checkin_to_monday_morning(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    await rig.acc.settings(ann, "days mon-fri", now=rig.clock.now())
    first = [n for n in await rig.upcoming(ann.key()) if n.payload["text"] == "Fix the login bug"]
    assert [(n.kind, n.due_at) for n in first] == [
        ("checkin", utc(23, 9)),
        ("overdue", utc(23, 17)),
    ]


async def test_a_vacation_holds_nudges_and_sends_each_once_after(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    reply, ok = await rig.acc.settings(ann, "pause until 29 November", now=rig.clock.now())
    assert ok and "29 November" in reply
    assert await rig.run_until(utc(28, 23)) == []
    sent = await rig.run_until(utc(29, 12))
    texts = [t for _, t in sent]
    # Each overdue step is checked in once, not reminded and checked and chased at once.
    assert len([t for t in texts if "Fix the login bug" in t]) == 1
    assert len([t for t in texts if "Recruit 20 testers" in t]) == 1
    assert all(when >= datetime(2026, 11, 29, 0, tzinfo=UTC) for when, _ in sent)


async def test_snooze_an_hour_then_tomorrow_morning(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 9))
    key = rig.delivered[-1].nudge.key
    said, _ = await rig.acc.act(
        ann, action_id=f"nudge:{key}", value="snooze:1h", now=rig.clock.now()
    )
    assert "Snoozed until today at 10:00." in said[0].text  # type: ignore[union-attr]
    [again] = await rig.at(utc(22, 10))
    assert "A reminder: “Fix the login bug”" in again
    key = rig.delivered[-1].nudge.key
    said, _ = await rig.acc.act(
        ann, action_id=f"nudge:{key}", value="snooze:morning", now=rig.clock.now()
    )
    assert "tomorrow at 09:00" in said[0].text  # type: ignore[union-attr]


async def test_snooze_to_a_date_and_a_bad_date(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 9))
    key = rig.delivered[-1].nudge.key
    said, _ = await rig.acc.act(
        ann, action_id=f"nudge:{key}", value="snooze:gibberish", now=rig.clock.now()
    )
    assert "couldn't read" in said[0].text  # type: ignore[union-attr]
    said, _ = await rig.acc.act(
        ann, action_id=f"nudge:{key}", value="snooze:friday", now=rig.clock.now()
    )
    assert "Friday 27 November" in said[0].text  # type: ignore[union-attr]


async def test_done_on_a_reminder_closes_the_commitment_and_celebrates(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 9))
    key = rig.delivered[-1].nudge.key
    said, session = await rig.acc.act(
        ann, action_id=f"nudge:{key}", value="done", now=rig.clock.now()
    )
    text = "\n".join(getattr(i, "text", "") or getattr(i, "prompt", "") for i in said)
    assert "🎉 Done: “Fix the login bug”. That's 1 of 3 steps done." in text
    assert session is not None  # the check-in asks what helped next
    assert await rig.at(utc(22, 17)) == []  # no check-in for a done step


async def test_someone_elses_nudge_cannot_be_acted_on(rig: Rig, ann: Actor, bob: Actor) -> None:
    await rig.plan(ann)
    await rig.at(utc(22, 9))
    key = rig.delivered[-1].nudge.key
    said, _ = await rig.acc.act(bob, action_id=f"nudge:{key}", value="done", now=rig.clock.now())
    assert "isn't there any more" in said[0].text  # type: ignore[union-attr]
    assert await rig.store.list_commitments(owner=ann.key(), status="done") == []


async def test_one_gentle_resume_nudge_after_a_long_silence(rig: Rig, ann: Actor) -> None:
    chat = rig.chat(ann)
    await chat.start("plan", "Launch the beta")
    await chat.say("I want the beta launched by March")
    assert await rig.at(rig.clock.now() + timedelta(hours=23)) == []
    [nudge] = await rig.at(rig.clock.now() + timedelta(hours=2))
    assert "Your plan session about “Launch the beta” is waiting" in nudge
    assert "I won't remind you again" in nudge
    assert await rig.at(rig.clock.now() + timedelta(days=5)) == []


async def test_no_resume_nudge_when_the_person_came_back(rig: Rig, ann: Actor) -> None:
    chat = rig.chat(ann)
    await chat.start("plan", "Launch the beta")
    rig.clock.advance(timedelta(hours=2))
    await chat.say("I want the beta launched by March")  # back: the silence starts again
    assert await rig.at(rig.clock.now() + timedelta(hours=20)) == []
    assert len(await rig.at(rig.clock.now() + timedelta(hours=5))) == 1


async def test_a_429_is_sent_after_retry_after_and_a_refusal_is_recorded(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    rig.messenger.fail_next = [DeliveryDeferred(120)]
    assert await rig.at(utc(22, 9)) == []
    assert await rig.nudges.next_due() == utc(22, 9, 2)
    assert len(await rig.at(utc(22, 9, 2))) == 1
    rig.messenger.fail_next = [DeliveryRefused("cannot open a DM")]
    assert await rig.at(utc(22, 17)) == []
    failed = await rig.nudges.list_nudges(owner=ann.key(), statuses=["failed"])
    assert [(n.kind, n.error) for n in failed] == [("checkin", "cannot open a DM")]
    assert rig.dispatcher.stats.failed == 1


async def test_a_transient_error_is_retried_with_backoff(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    rig.messenger.fail_next = [ConnectionError("reset")]
    assert await rig.at(utc(22, 9)) == []
    [n] = await rig.nudges.list_nudges(owner=ann.key(), statuses=["pending"], limit=1)
    assert n.kind == "reminder" and n.due_at == utc(22, 9, 1) and n.attempts == 1
    assert len(await rig.at(utc(22, 9, 1))) == 1


async def test_two_dispatchers_never_send_a_nudge_twice(
    store: SqlStore, methods: MethodLibrary, clock: FakeClock, ann: Actor
) -> None:
    import asyncio

    from core.schedule.dispatcher import Dispatcher

    rig = Rig.build(store, methods, clock)
    await rig.plan(ann)
    second = Dispatcher(
        nudges=rig.nudges,
        accountability=rig.acc,
        messenger=rig.messenger,
        clock=clock,
        worker="w2",
        pacing=None,
        batch=1,
    )
    rig.dispatcher.batch = 1
    clock.set(utc(28, 18))
    await asyncio.gather(rig.dispatcher.tick(), second.tick())
    counts = await rig.nudges.count_nudges()
    assert counts["claimed"] == 0 and counts["pending"] == 3
    assert len(rig.messenger.deliveries) == counts["sent"]
    assert rig.dispatcher.stats.sent + second.stats.sent == counts["sent"]


async def test_partner_accepts_and_hears_of_done_steps_but_never_answers(
    rig: Rig, ann: Actor, bob: Actor
) -> None:
    await rig.plan(ann)
    assert "I've asked Bob" in await rig.acc.invite_partner(ann, bob, now=rig.clock.now())
    [invitation] = await rig.at(rig.clock.now())
    assert "Ann would like you as their accountability partner" in invitation
    said, _ = await rig.acc.act(
        bob, action_id=f"partner:{ann.key()}", value="accept", now=rig.clock.now()
    )
    assert "You're now Ann's accountability partner" in said[0].text  # type: ignore[union-attr]
    [news] = await rig.at(rig.clock.now())
    assert "Bob accepted" in news
    await rig.at(utc(22, 17))
    session = rig.delivered[-1].opened_session
    assert session is not None
    await rig.answer(ann, session, "done")
    await rig.answer(ann, session, "My secret trick was skipping lunch")
    sent = await rig.at(rig.clock.now())
    to_bob = [
        t
        for t, d in zip(sent, rig.delivered[-len(sent) :], strict=True)
        if d.recipient is not None and d.recipient.key() == bob.key()
    ]
    assert to_bob == ["Ann finished “Fix the login bug”. (1 of 3 steps done.)"]
    everything = "\n".join(rig.messenger.texts())
    assert "secret trick" not in everything


async def test_a_declined_partner_hears_nothing(rig: Rig, ann: Actor, bob: Actor) -> None:
    await rig.plan(ann)
    await rig.acc.invite_partner(ann, bob, now=rig.clock.now())
    await rig.at(rig.clock.now())
    await rig.acc.act(bob, action_id=f"partner:{ann.key()}", value="decline", now=rig.clock.now())
    [news] = await rig.at(rig.clock.now())
    assert "Bob declined" in news
    await rig.acc.act(
        ann,
        action_id=f"nudge:{(await rig.upcoming(ann.key()))[0].key}",
        value="done",
        now=rig.clock.now(),
    )
    assert await rig.at(rig.clock.now()) == []


async def test_a_partner_hears_when_a_commitment_slips_twice(
    rig: Rig, ann: Actor, bob: Actor
) -> None:
    await rig.plan(ann)
    await rig.acc.invite_partner(ann, bob, now=rig.clock.now())
    await rig.acc.act(bob, action_id=f"partner:{ann.key()}", value="accept", now=rig.clock.now())
    await rig.at(rig.clock.now())
    for day in ("Tuesday", "Thursday"):
        key = (await rig.upcoming(ann.key()))[0].key
        _, session = await rig.acc.act(
            ann, action_id=f"nudge:{key}", value="new_date", now=rig.clock.now()
        )
        assert session is not None
        await rig.answer(ann, session, day)
        await rig.answer(ann, session, "yes")
    sent = await rig.at(rig.clock.now())
    assert any("has moved “Fix the login bug” to a later date twice now" in t for t in sent)


async def test_a_partner_cannot_be_yourself(rig: Rig, ann: Actor) -> None:
    reply = await rig.acc.invite_partner(ann, ann, now=rig.clock.now())
    assert reply == "Your accountability partner needs to be someone else."


async def test_a_daily_0900_nudge_in_new_york_stays_at_0900_across_both_dst_changes(
    rig: Rig, ann: Actor
) -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    for first, last in (
        (datetime(2026, 3, 6, 9, tzinfo=ny), datetime(2026, 3, 10, 12, tzinfo=ny)),
        (datetime(2026, 10, 30, 9, tzinfo=ny), datetime(2026, 11, 3, 12, tzinfo=ny)),
    ):
        rig.clock.set(first - timedelta(days=1))
        session_id = await _followup(
            rig,
            ann,
            kind="visualisation",
            text="Visualise: the beta launched by March",
            due=first,
            recurrence="daily",
            tz="America/New_York",
        )
        sent = await rig.run_until(last)
        times = [when.astimezone(ny) for when, text in sent if "Visualise" in text]
        # Wall-clock arithmetic: first + i days is 09:00 local on each of five days.
        assert times == [first + timedelta(days=i) for i in range(5)]
        assert len({t.utcoffset() for t in times}) == 2  # the UTC hour did change
        await rig.store.delete_session(session_id)


async def test_a_retry_after_holds_the_destination_in_the_pacer(
    store: SqlStore, methods: MethodLibrary, clock: FakeClock, ann: Actor
) -> None:
    """With pacing on, a 429 for one DM makes the next send to it wait out Retry-After."""
    from core.schedule.dispatcher import Dispatcher
    from core.schedule.pacing import Pacer

    moments = [0.0]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)
        moments[0] += seconds

    rig = Rig.build(store, methods, clock)
    await rig.plan(ann)
    rig.dispatcher = Dispatcher(
        nudges=rig.nudges,
        accountability=rig.acc,
        messenger=rig.messenger,
        clock=clock,
        worker="w1",
        pacing=lambda platform: Pacer(
            per_destination=None,
            per_workspace=None,
            monotonic=lambda: moments[0],
            sleep=sleep,
        ),
        concurrency=1,
    )
    rig.messenger.fail_next = [DeliveryDeferred(30)]
    await rig.at(utc(22, 9))  # the reminder: 429
    await rig.at(utc(22, 9, 1))  # the reminder again, for the same DM: must wait
    assert sum(slept) >= 30 - 1e-6


async def _followup(
    rig: Rig,
    ann: Actor,
    *,
    kind: str,
    text: str,
    due: datetime,
    recurrence: str | None,
    session_id: str | None = None,
    tz: str = "Europe/London",
) -> str:
    """One method follow-up scheduled on a session, as a finished method leaves it;
    returns the session's id."""
    from core.ports import FollowUpRecord
    from core.schedule.policy import followup_nudges

    if session_id is None:
        chat = rig.chat(ann, thread=f"{kind}-{due:%m%d}")
        await chat.start("plan", "Launch the beta")
        session_id = chat.session_id
    assert session_id is not None
    f = FollowUpRecord(
        id=f"{session_id}:{kind}",
        session_id=session_id,
        owner=ann.key(),
        kind=kind,
        text=text,
        due_at=due,
        tz=tz,
        recurrence=recurrence,
        created_at=rig.clock.now(),
    )
    session = await rig.store.load_session(session_id)
    assert session is not None
    await rig.store.save_turn(session, followups=[f])
    prefs = await rig.acc.preferences(ann.key())
    await rig.nudges.add_nudges(
        followup_nudges(f, prefs, now=rig.clock.now(), tz=tz), now=rig.clock.now()
    )
    return session_id


async def test_the_review_arrives_once_on_its_date(rig: Rig, ann: Actor) -> None:
    await _followup(
        rig,
        ann,
        kind="review",
        text="Step 7: follow-up and review.",
        due=utc(30, 17),
        recurrence=None,
    )
    sent = await rig.run_until(utc(2, 12, month=12))
    reviews = [(when, text) for when, text in sent if "Step 7" in text]
    assert [when for when, _ in reviews] == [utc(30, 17)]
    assert "Not a good moment?" in reviews[0][1]  # snooze offered


async def test_the_weekly_checkin_lists_open_steps_every_week(rig: Rig, ann: Actor) -> None:
    plan = await rig.plan(ann)
    await _followup(
        rig,
        ann,
        kind="weekly_checkin",
        text="Weekly check-in: how are your commitments going?",
        due=utc(28, 10),
        recurrence="weekly",
        session_id=plan.session_id,
    )
    sent = await rig.run_until(utc(12, 12, month=12))
    weekly = [(when, text) for when, text in sent if "Weekly check-in" in text]
    assert [when for when, _ in weekly] == [
        utc(28, 10),
        utc(5, 10, month=12),
        utc(12, 10, month=12),
    ]
    assert "Still open:\n• “Fix the login bug”, due Sunday 22 November at 17:00" in weekly[0][1]
    assert "• “I need a landing page”, due Monday 30 November at 17:00" in weekly[0][1]


async def test_nudges_off_stops_everything_and_on_brings_the_series_back(
    rig: Rig, ann: Actor
) -> None:
    await rig.plan(ann)
    await _followup(
        rig, ann, kind="visualisation", text="Visualise it.", due=utc(22, 18), recurrence="daily"
    )
    _, ok = await rig.acc.settings(ann, "nudges off", now=rig.clock.now())
    assert ok
    assert await rig.upcoming(ann.key()) == []
    assert await rig.run_until(utc(24, 12)) == []
    await rig.acc.settings(ann, "nudges on", now=rig.clock.now())
    sent = await rig.run_until(utc(25, 19))
    visualised = [when for when, text in sent if "Visualise it." in text]
    assert visualised == [utc(24, 18), utc(25, 18)]


async def test_nudges_off_then_on_brings_a_commitments_checkin_back(rig: Rig, ann: Actor) -> None:
    await rig.plan(ann)
    await rig.acc.settings(ann, "nudges off", now=rig.clock.now())
    await rig.acc.settings(ann, "nudges on", now=rig.clock.now())
    [checkin] = await rig.at(utc(22, 17)) or [""]
    assert "Check-in time: “Fix the login bug”" in checkin
