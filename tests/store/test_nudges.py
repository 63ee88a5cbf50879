"""SqlNudgeStore against real databases: every test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from core.schedule.model import (
    NudgeDraft,
    NudgeOutcome,
    NudgeRecord,
    PartnerLink,
    Preferences,
)
from core.store.errors import InvalidRecord, StoreClosed, WriteFailed
from core.store.nudges import NUDGE_STATUSES, SqlNudgeStore
from core.store.repository import SqlStore
from tests.databases import Database

from .records import T0, commitment, session

PARIS = ZoneInfo("Europe/Paris")
NOW = T0 + timedelta(days=1)
LEASE = timedelta(minutes=5)


@pytest.fixture
def nudges(store: SqlStore) -> SqlNudgeStore:
    return SqlNudgeStore(store)


def draft(key: str = "n1", **overrides: Any) -> NudgeDraft:
    values: dict[str, Any] = {
        "key": key,
        "kind": "reminder",
        "owner": "slack:T1:U1",
        "target": "c1",
        "due_at": NOW - timedelta(minutes=1),
        "tz": "Europe/London",
        "payload": {"text": "write the outline — today 🎓", "n": [1, 2.5, None]},
    }
    values.update(overrides)
    return NudgeDraft(**values)


async def statuses(nudges: SqlNudgeStore, *keys: str) -> list[str | None]:
    """The status of each key, ``None`` for a key that is not stored."""
    found = [await nudges.get_nudge(key) for key in keys]
    return [record.status if record else None for record in found]


async def claim(nudges: SqlNudgeStore, worker: str = "w1", **kw: Any) -> list[NudgeRecord]:
    values: dict[str, Any] = {"now": NOW, "lease": LEASE, "limit": 100}
    values.update(kw)
    return await nudges.claim_due(worker=worker, **values)


# -- adding ------------------------------------------------------------------------------


async def test_add_round_trip(nudges: SqlNudgeStore, store: SqlStore) -> None:
    await store.save_turn(session("s1"))
    due = datetime(2025, 3, 30, 3, 30, tzinfo=PARIS)  # just after the clocks went forward
    stored = draft(session_id="s1", due_at=due)
    assert await nudges.add_nudges([stored], now=NOW) == 1
    loaded = await nudges.get_nudge("n1")
    assert loaded == NudgeRecord(
        key="n1",
        kind="reminder",
        owner="slack:T1:U1",
        target="c1",
        due_at=datetime(2025, 3, 30, 1, 30, tzinfo=UTC),
        tz="Europe/London",
        session_id="s1",
        payload=stored.payload,
        created_at=NOW,
        updated_at=NOW,
    )
    assert loaded.due_at.tzinfo is UTC and loaded.created_at.tzinfo is UTC
    assert await nudges.get_nudge("nope") is None
    assert await nudges.add_nudges([], now=NOW) == 0


async def test_an_existing_key_is_left_untouched_whatever_its_status(
    nudges: SqlNudgeStore,
) -> None:
    later = NOW + timedelta(hours=1)
    await nudges.add_nudges(
        [draft("p", due_at=later), draft("s", target="c2"), draft("x", target="c3", due_at=later)],
        now=T0,
    )
    assert [record.key for record in await claim(nudges)] == ["s"]
    await nudges.finish([NudgeOutcome(key="s", status="sent")], worker="w1", now=NOW)
    await nudges.cancel_nudges(now=NOW, target="c3")
    before = [await nudges.get_nudge(key) for key in ("p", "s", "x")]

    again = [draft(key, due_at=later, kind="checkin", payload={}) for key in ("p", "s", "x")]
    assert await nudges.add_nudges([*again, draft("new")], now=later) == 1
    assert [await nudges.get_nudge(key) for key in ("p", "s", "x")] == before
    assert await statuses(nudges, "p", "s", "x", "new") == [
        "pending",
        "sent",
        "cancelled",
        "pending",
    ]


async def test_a_key_repeated_in_one_batch_is_inserted_once(nudges: SqlNudgeStore) -> None:
    first, second = draft("k", target="first"), draft("k", target="second")
    assert await nudges.add_nudges([first, second, draft("other")], now=NOW) == 2
    stored = await nudges.get_nudge("k")
    assert stored is not None and stored.target == "first"


async def test_naive_times_are_refused_before_anything_is_written(
    nudges: SqlNudgeStore,
) -> None:
    with pytest.raises(InvalidRecord):
        await nudges.add_nudges([draft("ok"), draft("bad", due_at=datetime(2025, 1, 1))], now=NOW)
    with pytest.raises(InvalidRecord):
        await nudges.add_nudges([draft("ok")], now=datetime(2025, 1, 1))
    assert await nudges.count_nudges() == dict.fromkeys(NUDGE_STATUSES, 0)


async def test_a_database_error_is_a_write_failed(nudges: SqlNudgeStore) -> None:
    with pytest.raises(WriteFailed):  # no such session: the foreign key refuses it
        await nudges.add_nudges([draft("n1"), draft("n2", session_id="missing")], now=NOW)
    assert await nudges.get_nudge("n1") is None  # one transaction


async def test_many_drafts_insert_in_one_call(nudges: SqlNudgeStore) -> None:
    many = [draft(f"k{i:05d}", due_at=NOW + timedelta(seconds=i)) for i in range(5000)]
    assert await nudges.add_nudges(many, now=NOW) == 5000
    assert await nudges.add_nudges(many[::2], now=NOW) == 0
    assert (await nudges.count_nudges())["pending"] == 5000
    assert await nudges.next_due() == NOW


# -- replacing, cancelling, rescheduling -------------------------------------------------


async def test_replace_updates_a_pending_key_to_its_draft(nudges: SqlNudgeStore) -> None:
    """A re-plan (quiet hours changed) moves the pending nudges it keys; others stay."""
    await nudges.add_nudges(
        [draft("retried", due_at=NOW - timedelta(hours=1)), draft("sent"), draft("plain")],
        now=T0,
    )
    await claim(nudges)
    outcomes = [
        NudgeOutcome(key="retried", status="retry", error="timeout", retry_at=NOW),
        NudgeOutcome(key="sent", status="sent"),
    ]
    await nudges.finish(outcomes, worker="w1", now=NOW)
    await nudges.release(worker="w1", now=NOW)  # "plain" back to pending, attempts 1

    later = NOW + timedelta(hours=3)
    first = draft("retried", due_at=later, tz="Asia/Tokyo", payload={"v": 2}, kind="checkin")
    drafts = [
        first,
        draft("retried", due_at=later + timedelta(days=1)),  # a repeat: the first wins
        draft("sent", due_at=later),
        draft("plain", due_at=later, owner="someone", session_id=None, target="c1"),
    ]
    await nudges.replace_nudges(target="c1", drafts=drafts, now=later)
    retried = await nudges.get_nudge("retried")
    assert retried is not None
    assert (retried.status, retried.due_at, retried.tz, retried.payload, retried.kind) == (
        "pending",
        later,
        "Asia/Tokyo",
        {"v": 2},
        "checkin",
    )
    assert (retried.attempts, retried.error, retried.updated_at) == (1, "timeout", later)
    sent = await nudges.get_nudge("sent")
    assert sent is not None and (sent.status, sent.due_at) == ("sent", NOW - timedelta(minutes=1))
    plain = await nudges.get_nudge("plain")
    assert plain is not None and (plain.owner, plain.due_at) == ("someone", later)


async def test_replace_cancels_only_the_targets_pending_and_adds_the_new(
    nudges: SqlNudgeStore,
) -> None:
    await nudges.add_nudges(
        [
            draft("claimed", due_at=NOW - timedelta(hours=2)),
            draft("sent", due_at=NOW - timedelta(hours=1)),
            draft("old"),
            draft("kept", due_at=NOW + timedelta(days=1)),
            draft("elsewhere", target="c2", due_at=NOW + timedelta(days=1)),
        ],
        now=T0,
    )
    await claim(nudges, limit=2)  # "claimed" and "sent", the two earliest
    await nudges.finish([NudgeOutcome(key="sent", status="sent")], worker="w1", now=NOW)

    moved = NOW + timedelta(days=5)
    await nudges.replace_nudges(
        target="c1", drafts=[draft("kept", due_at=moved), draft("fresh", due_at=moved)], now=NOW
    )
    assert await statuses(nudges, "claimed", "sent", "old", "kept", "elsewhere", "fresh") == [
        "claimed",
        "sent",
        "cancelled",
        "pending",
        "pending",
        "pending",
    ]
    kept = await nudges.get_nudge("kept")  # still pending: it takes the draft's values
    assert kept is not None and (kept.due_at, kept.updated_at, kept.created_at) == (moved, NOW, T0)
    old = await nudges.get_nudge("old")
    assert old is not None and old.updated_at == NOW

    await nudges.replace_nudges(target="c1", drafts=[], now=NOW)
    assert await statuses(nudges, "claimed", "sent", "kept", "fresh", "elsewhere") == [
        "claimed",
        "sent",
        "cancelled",
        "cancelled",
        "pending",
    ]


async def test_cancel_filters_combine(nudges: SqlNudgeStore, store: SqlStore) -> None:
    await store.save_turn(session("s1"))
    await store.save_turn(session("s2"))
    await nudges.add_nudges(
        [
            draft("a", owner="ann", target="t1", session_id="s1", kind="reminder"),
            draft("b", owner="ann", target="t1", session_id="s1", kind="checkin"),
            draft("c", owner="ann", target="t2", session_id="s2", kind="reminder"),
            draft("d", owner="bob", target="t3", kind="notice"),
            draft("e", owner="bob", target="t3", kind="reminder", due_at=NOW - timedelta(days=1)),
        ],
        now=T0,
    )
    [taken] = await claim(nudges, limit=1)
    assert taken.key == "e"
    assert await nudges.cancel_nudges(now=NOW, owner="ann", kinds=[]) == 0
    assert await nudges.cancel_nudges(now=NOW, owner="ann", session_id="s1", kinds=["checkin"]) == 1
    assert await statuses(nudges, "a", "b") == ["pending", "cancelled"]
    assert await nudges.cancel_nudges(now=NOW, target="t1") == 1
    assert await nudges.cancel_nudges(now=NOW, session_id="s2") == 1
    assert await nudges.cancel_nudges(now=NOW, owner="bob") == 1  # "e" is claimed: kept
    assert await statuses(nudges, "a", "c", "d", "e") == [
        "cancelled",
        "cancelled",
        "cancelled",
        "claimed",
    ]
    assert await nudges.cancel_nudges(now=NOW, owner="bob") == 0


async def test_reschedule_moves_only_pending_nudges(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges([draft("p", due_at=NOW + timedelta(hours=1)), draft("c")], now=T0)
    await claim(nudges)
    later = datetime(2025, 4, 2, 9, 0, tzinfo=PARIS)
    assert await nudges.reschedule("p", due_at=later, now=NOW) is True
    moved = await nudges.get_nudge("p")
    assert moved is not None and (moved.due_at, moved.updated_at) == (later, NOW)
    assert moved.due_at.tzinfo is UTC
    assert await nudges.reschedule("c", due_at=later, now=NOW) is False
    assert await nudges.reschedule("missing", due_at=later, now=NOW) is False


# -- claiming ----------------------------------------------------------------------------


async def test_claim_takes_due_nudges_earliest_first_up_to_the_limit(
    nudges: SqlNudgeStore,
) -> None:
    await nudges.add_nudges(
        [
            draft("future", due_at=NOW + timedelta(seconds=1)),
            draft("third", due_at=NOW),
            draft("first", due_at=NOW - timedelta(hours=2)),
            draft("second", due_at=NOW - timedelta(hours=1)),
        ],
        now=T0,
    )
    got = await claim(nudges, limit=2)
    assert [record.key for record in got] == ["first", "second"]
    for record in got:
        assert record.status == "claimed"
        assert (record.claimed_by, record.claim_until, record.attempts) == ("w1", NOW + LEASE, 1)
        assert record.updated_at == NOW and record.claim_until is not None
        assert record.claim_until.tzinfo is UTC
        assert record.payload == draft().payload
    assert [record.key for record in await claim(nudges, "w2")] == ["third"]
    assert await claim(nudges, "w3") == []
    assert await claim(nudges, "w3", limit=0) == []


async def test_a_backlog_is_claimed_in_due_order_batch_after_batch(
    nudges: SqlNudgeStore,
) -> None:
    shuffled = [(i * 37) % 101 for i in range(101)]  # every minute 0-100, out of order
    await nudges.add_nudges(
        [draft(f"k{m:03d}", due_at=NOW - timedelta(minutes=m)) for m in shuffled], now=T0
    )
    claimed: list[str] = []
    while batch := await claim(nudges, limit=10):
        assert len(batch) <= 10
        claimed.extend(record.key for record in batch)
    assert claimed == [f"k{m:03d}" for m in range(100, -1, -1)]  # the oldest first


async def test_a_live_claim_is_not_taken_but_an_expired_one_is(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges([draft("a", due_at=NOW - timedelta(hours=1)), draft("b")], now=T0)
    assert len(await claim(nudges, "w1")) == 2
    assert await claim(nudges, "w2", now=NOW + LEASE) == []  # the lease still holds
    # "b" was finished in time; "a"'s dispatcher died.
    await nudges.finish([NudgeOutcome(key="b", status="sent")], worker="w1", now=NOW)
    [taken] = await claim(nudges, "w2", now=NOW + LEASE + timedelta(seconds=1))
    assert (taken.key, taken.claimed_by, taken.attempts) == ("a", "w2", 2)
    assert taken.claim_until == NOW + 2 * LEASE + timedelta(seconds=1)


async def test_expired_claims_and_pending_nudges_are_claimed_in_due_order(
    nudges: SqlNudgeStore,
) -> None:
    await nudges.add_nudges([draft("old", due_at=NOW - timedelta(hours=3))], now=T0)
    await claim(nudges, "dead")
    later = NOW + timedelta(hours=1)
    await nudges.add_nudges(
        [draft("p1", due_at=NOW - timedelta(hours=4)), draft("p2", due_at=NOW)], now=NOW
    )
    got = await claim(nudges, "w2", now=later)
    assert [(r.key, r.attempts) for r in got] == [("p1", 1), ("old", 2), ("p2", 1)]


async def test_concurrent_claimers_never_share_a_nudge(database: Database) -> None:
    """Two stores (two connection pools, as two processes would have) race for 300 nudges."""
    first, second = await database.open_store(), await database.open_store()
    try:
        stores = [SqlNudgeStore(first), SqlNudgeStore(second)]
        due = [draft(f"k{i:03d}", due_at=NOW - timedelta(seconds=i % 7)) for i in range(300)]
        await stores[0].add_nudges(due, now=T0)
        calls = [
            stores[i % 2].claim_due(now=NOW, worker=f"w{i}", lease=LEASE, limit=7)
            for i in range(60)
        ]
        batches = await asyncio.gather(*calls)
        keys = [record.key for batch in batches for record in batch]
        assert len(keys) == len(set(keys)) == 300
        counts = await stores[1].count_nudges()
        assert (counts["claimed"], counts["pending"]) == (300, 0)
        for batch, worker in zip(batches, (f"w{i}" for i in range(60)), strict=True):
            assert all(record.claimed_by == worker for record in batch)
    finally:
        await first.close()
        await second.close()


# -- finishing and releasing -------------------------------------------------------------


async def test_finish_records_each_outcome(nudges: SqlNudgeStore) -> None:
    keys = ["sent", "failed", "skipped", "retry", "retry_now"]
    await nudges.add_nudges([draft(key) for key in keys], now=T0)
    await claim(nudges)
    retry_at = datetime(2025, 4, 1, 8, 0, tzinfo=PARIS)
    done = NOW + timedelta(seconds=30)
    applied = await nudges.finish(
        [
            NudgeOutcome(key="sent", status="sent"),
            NudgeOutcome(key="failed", status="failed", error="channel_not_found"),
            NudgeOutcome(key="skipped", status="skipped", error="nudges off"),
            NudgeOutcome(key="retry", status="retry", error="ratelimited", retry_at=retry_at),
            NudgeOutcome(key="retry_now", status="retry", error="timeout"),
        ],
        worker="w1",
        now=done,
    )
    assert applied == 5
    got = {key: await nudges.get_nudge(key) for key in keys}
    sent, failed, skipped = got["sent"], got["failed"], got["skipped"]
    retry, retry_now = got["retry"], got["retry_now"]
    assert sent is not None and failed is not None and skipped is not None
    assert retry is not None and retry_now is not None
    assert (sent.status, sent.sent_at, sent.error, sent.updated_at) == ("sent", done, None, done)
    assert sent.sent_at is not None and sent.sent_at.tzinfo is UTC
    assert (failed.status, failed.error, failed.sent_at) == ("failed", "channel_not_found", None)
    assert (skipped.status, skipped.error) == ("skipped", "nudges off")
    assert (retry.status, retry.due_at, retry.error) == ("pending", retry_at, "ratelimited")
    assert (retry.claimed_by, retry.claim_until, retry.attempts) == (None, None, 1)
    assert (retry_now.status, retry_now.due_at) == ("pending", done)
    assert await nudges.finish([], worker="w1", now=done) == 0

    # A retried nudge is claimed again once its time comes, and counts its attempts.
    early = await claim(nudges, "w2", now=retry_at - timedelta(seconds=1))
    assert [(r.key, r.attempts) for r in early] == [("retry_now", 2)]
    [again] = await claim(nudges, "w2", now=retry_at)
    assert (again.key, again.attempts) == ("retry", 2)


async def test_finish_applies_only_to_the_workers_own_claim(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges(
        [
            draft("lost", due_at=NOW - timedelta(hours=3)),
            draft("mine", due_at=NOW - timedelta(hours=2)),
            draft("theirs", due_at=NOW - timedelta(hours=1)),
        ],
        now=T0,
    )
    assert [r.key for r in await claim(nudges, "w1", limit=2)] == ["lost", "mine"]
    assert [r.key for r in await claim(nudges, "w2")] == ["theirs"]
    # w1 stalls past its lease: w3 takes over "lost"; "mine" is expired but still w1's.
    expired = NOW + LEASE + timedelta(seconds=1)
    assert [r.key for r in await claim(nudges, "w3", now=expired, limit=1)] == ["lost"]

    outcomes = [
        NudgeOutcome(key=key, status="sent", then=[draft(f"then-{key}")])
        for key in ("lost", "mine", "theirs", "unknown")
    ]
    outcomes[1].then.append(draft("next-week", due_at=NOW + timedelta(days=7)))
    assert await nudges.finish(outcomes, worker="w1", now=expired) == 1
    assert await statuses(nudges, "lost", "mine", "theirs") == ["claimed", "sent", "claimed"]
    lost = await nudges.get_nudge("lost")
    assert lost is not None and lost.claimed_by == "w3"
    assert await statuses(nudges, "then-mine", "next-week") == ["pending", "pending"]
    assert await statuses(nudges, "then-lost", "then-theirs", "then-unknown") == [None] * 3
    # Finishing the same nudge twice does nothing the second time (and adds nothing).
    assert await nudges.finish(outcomes, worker="w1", now=expired) == 0


async def test_a_key_twice_in_one_finish_counts_once(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges([draft("a")], now=T0)
    await claim(nudges)
    first = NudgeOutcome(key="a", status="failed", error="first", then=[draft("x")])
    second = NudgeOutcome(key="a", status="sent", then=[draft("y")])
    assert await nudges.finish([first, second], worker="w1", now=NOW) == 1
    stored = await nudges.get_nudge("a")
    assert stored is not None and (stored.status, stored.error) == ("failed", "first")
    assert await statuses(nudges, "x", "y") == ["pending", None]


async def test_then_drafts_dedupe_as_add_does(nudges: SqlNudgeStore) -> None:
    later = NOW + timedelta(days=1)
    await nudges.add_nudges([draft("a"), draft("next", kind="checkin", due_at=later)], now=T0)
    assert [r.key for r in await claim(nudges)] == ["a"]
    then = [draft("next", kind="review", due_at=later), draft("fresh", due_at=later)]
    outcome = NudgeOutcome(key="a", status="sent", then=then)
    assert await nudges.finish([outcome], worker="w1", now=NOW) == 1
    kept = await nudges.get_nudge("next")
    assert kept is not None and kept.kind == "checkin"
    assert await statuses(nudges, "fresh") == ["pending"]


async def test_finish_refuses_what_it_cannot_store(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges([draft("a")], now=T0)
    await claim(nudges)
    naive = datetime(2025, 1, 1)
    bad = [
        NudgeOutcome(key="a", status="retry", retry_at=naive),
        NudgeOutcome(key="a", status="sent", then=[draft("t", due_at=naive)]),
        NudgeOutcome(key="a", status="exploded"),  # type: ignore[arg-type]
    ]
    for outcome in bad:
        with pytest.raises(InvalidRecord):
            await nudges.finish([outcome], worker="w1", now=NOW)
    assert await statuses(nudges, "a", "t") == ["claimed", None]


async def test_release_returns_only_the_workers_claims(nudges: SqlNudgeStore) -> None:
    await nudges.add_nudges(
        [draft("a", due_at=NOW - timedelta(hours=1)), draft("b"), draft("c")], now=T0
    )
    await claim(nudges, "w1", limit=1)
    await claim(nudges, "w2", limit=1)
    assert await nudges.release(worker="w1", now=NOW) == 1
    assert await nudges.release(worker="w1", now=NOW) == 0
    released = await nudges.get_nudge("a")
    assert released is not None
    assert (released.status, released.claimed_by, released.claim_until) == ("pending", None, None)
    assert released.attempts == 1
    assert sorted((await nudges.count_nudges()).items()) == sorted(
        {**dict.fromkeys(NUDGE_STATUSES, 0), "pending": 2, "claimed": 1}.items()
    )


# -- next_due ----------------------------------------------------------------------------


async def test_next_due_is_the_earliest_pending_time_or_lease_end(
    nudges: SqlNudgeStore,
) -> None:
    assert await nudges.next_due() is None
    await nudges.add_nudges([draft("a", due_at=NOW - timedelta(hours=1))], now=T0)
    due = await nudges.next_due()
    assert due == NOW - timedelta(hours=1) and due.tzinfo is UTC
    await claim(nudges)
    assert await nudges.next_due() == NOW + LEASE  # nothing pending: the lease's end
    await nudges.add_nudges([draft("b", due_at=NOW + timedelta(hours=1))], now=T0)
    assert await nudges.next_due() == NOW + LEASE
    await nudges.add_nudges([draft("c", due_at=NOW + timedelta(minutes=1))], now=T0)
    assert await nudges.next_due() == NOW + timedelta(minutes=1)
    await nudges.finish([NudgeOutcome(key="a", status="sent")], worker="w1", now=NOW)
    await nudges.cancel_nudges(now=NOW, owner="slack:T1:U1")
    assert await nudges.next_due() is None  # sent and cancelled rows wait for nothing


# -- reading -----------------------------------------------------------------------------


async def test_list_orders_by_due_then_key_and_filters(nudges: SqlNudgeStore) -> None:
    at = NOW + timedelta(hours=1)
    await nudges.add_nudges(
        [
            draft("b", due_at=at),
            draft("a", due_at=at),
            draft("early", due_at=NOW - timedelta(hours=1), owner="bob", target="t2"),
            draft("late", due_at=at + timedelta(days=1), target="t2"),
        ],
        now=T0,
    )
    await claim(nudges)
    assert [r.key for r in await nudges.list_nudges()] == ["early", "a", "b", "late"]
    assert [r.key for r in await nudges.list_nudges(limit=2)] == ["early", "a"]
    assert [r.key for r in await nudges.list_nudges(owner="slack:T1:U1")] == ["a", "b", "late"]
    assert [r.key for r in await nudges.list_nudges(target="t2")] == ["early", "late"]
    assert [r.key for r in await nudges.list_nudges(statuses=["claimed"])] == ["early"]
    assert [r.key for r in await nudges.list_nudges(target="t2", statuses=["pending"])] == ["late"]
    assert await nudges.list_nudges(statuses=[]) == []


async def test_count_has_every_status(nudges: SqlNudgeStore) -> None:
    assert await nudges.count_nudges() == {
        "pending": 0,
        "claimed": 0,
        "sent": 0,
        "failed": 0,
        "cancelled": 0,
        "skipped": 0,
    }
    await nudges.add_nudges([draft(f"k{i}") for i in range(5)], now=T0)
    await claim(nudges, limit=3)
    [one, two, three] = await nudges.list_nudges(statuses=["claimed"])
    outcomes = [
        NudgeOutcome(key=one.key, status="sent"),
        NudgeOutcome(key=two.key, status="skipped"),
    ]
    await nudges.finish(outcomes, worker="w1", now=NOW)
    await nudges.cancel_nudges(now=NOW, kinds=["reminder"])
    assert await nudges.count_nudges() == {
        "pending": 0,
        "claimed": 1,
        "sent": 1,
        "failed": 0,
        "cancelled": 2,
        "skipped": 1,
    }
    assert three.status == "claimed"


async def test_silent_sessions(nudges: SqlNudgeStore, store: SqlStore) -> None:
    at = [T0 + timedelta(hours=i) for i in range(8)]
    for sid, overrides in {
        "newest": {"updated_at": at[5]},
        "oldest": {"updated_at": at[0]},
        "middle": {"updated_at": at[2]},
        "nudged": {"updated_at": at[1]},
        "paused": {"updated_at": at[1], "status": "paused"},
        "done": {"updated_at": at[1], "status": "finished"},
        "checkin": {"updated_at": at[1], "method": "checkin"},
        "recent": {"updated_at": at[7]},
    }.items():
        await store.save_turn(session(sid, **overrides))
    await nudges.add_nudges([draft("resume:nudged", session_id="nudged", kind="resume")], now=T0)
    await nudges.cancel_nudges(now=NOW, session_id="nudged")  # any status counts

    found = await nudges.silent_sessions(before=at[6], exclude_methods=["checkin"], limit=10)
    assert [s.id for s in found] == ["oldest", "middle", "newest"]
    assert found[0] == session("oldest", updated_at=at[0])
    limited = await nudges.silent_sessions(before=at[6], exclude_methods=["checkin"], limit=1)
    assert [s.id for s in limited] == ["oldest"]
    everyone = await nudges.silent_sessions(before=at[6], exclude_methods=[], limit=10)
    assert [s.id for s in everyone] == ["oldest", "checkin", "middle", "newest"]


# -- preferences and partners -------------------------------------------------------------


async def test_preferences_round_trip(nudges: SqlNudgeStore) -> None:
    assert await nudges.get_preferences("ann") is None
    defaults = Preferences.defaults("ann")
    await nudges.save_preferences(defaults, now=NOW)
    assert await nudges.get_preferences("ann") == defaults

    custom = Preferences(
        owner="ann",
        tz="Europe/Paris",
        quiet_start=None,
        quiet_end=None,
        working_days=frozenset({4, 0, 2}),
        lead=timedelta(hours=1, minutes=30),
        morning=time(7, 30),
        paused_until=datetime(2025, 8, 1, 0, 0, tzinfo=PARIS),
        nudges=False,
    )
    await nudges.save_preferences(custom, now=NOW)  # an upsert
    loaded = await nudges.get_preferences("ann")
    assert loaded == custom
    assert loaded is not None and loaded.paused_until is not None
    assert loaded.paused_until.tzinfo is UTC

    none_at_all = Preferences(owner="bob", working_days=frozenset(), lead=timedelta(0))
    await nudges.save_preferences(none_at_all, now=NOW)
    assert await nudges.get_preferences("bob") == none_at_all
    assert await nudges.get_preferences("ann") == custom
    with pytest.raises(InvalidRecord):
        await nudges.save_preferences(Preferences(owner="x", working_days=frozenset({7})), now=NOW)


async def test_partners_round_trip(nudges: SqlNudgeStore) -> None:
    assert await nudges.get_partner("ann") is None
    link = PartnerLink(
        owner="ann",
        partner="bob",
        partner_name="Bob — the builder",
        owner_name="Ann",
        created_at=T0,
        updated_at=T0,
    )
    await nudges.save_partner(link)
    await nudges.save_partner(
        PartnerLink(owner="cat", partner="bob", status="declined", created_at=NOW, updated_at=NOW)
    )
    assert await nudges.get_partner("ann") == link
    assert [p.owner for p in await nudges.partners_of("bob")] == ["ann", "cat"]
    assert await nudges.partners_of("ann") == []

    accepted = PartnerLink(
        owner="ann", partner="dan", status="accepted", created_at=NOW, updated_at=NOW
    )
    await nudges.save_partner(accepted)  # one link per owner: replaced
    assert await nudges.get_partner("ann") == accepted
    assert [p.owner for p in await nudges.partners_of("bob")] == ["cat"]

    assert await nudges.delete_partner("ann") is True
    assert await nudges.delete_partner("ann") is False
    assert await nudges.get_partner("ann") is None


# -- the rest of the store ---------------------------------------------------------------


async def test_deleting_a_session_deletes_its_nudges(
    nudges: SqlNudgeStore, store: SqlStore
) -> None:
    await store.save_turn(session("s1"))
    await store.save_turn(session("s2"))
    await nudges.add_nudges(
        [draft("a", session_id="s1"), draft("b", session_id="s2"), draft("free")], now=NOW
    )
    await store.delete_session("s1")
    assert await statuses(nudges, "a", "b", "free") == [None, "pending", "pending"]


async def test_commitment_slips_round_trip(store: SqlStore) -> None:
    await store.save_turn(session(), commitments=[commitment("c1"), commitment("c2", slips=3)])
    loaded = {c.id: c.slips for c in await store.list_commitments()}
    assert loaded == {"c1": 0, "c2": 3}
    await store.save_turn(session(), commitments=[commitment("c1", slips=1)])
    assert {c.id: c.slips for c in await store.list_commitments()} == {"c1": 1, "c2": 3}


async def test_a_closed_store_refuses(database: Database) -> None:
    store = await database.open_store()
    nudges = SqlNudgeStore(store)
    await store.close()
    with pytest.raises(StoreClosed):
        await nudges.add_nudges([draft()], now=NOW)
    with pytest.raises(StoreClosed):
        await nudges.next_due()


async def test_an_in_memory_database_works() -> None:
    """The shared StaticPool connection: every call takes the store's exclusive lock."""
    async with await SqlStore.open("sqlite+aiosqlite:///:memory:") as store:
        nudges = SqlNudgeStore(store)
        await nudges.add_nudges([draft(f"k{i}") for i in range(20)], now=T0)
        batches = await asyncio.gather(*(claim(nudges, f"w{i}", limit=3) for i in range(10)))
        keys = [r.key for batch in batches for r in batch]
        assert sorted(keys) == sorted(f"k{i}" for i in range(20))
        outcomes = [NudgeOutcome(key=r.key, status="sent") for r in batches[0]]
        assert await nudges.finish(outcomes, worker="w0", now=NOW) == len(outcomes)
