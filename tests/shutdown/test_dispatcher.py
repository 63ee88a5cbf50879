"""The dispatcher's stop path: a delivery under way finishes, the claimed nudges not yet
started go back at once (not after the slowest send), and no new batch is claimed."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta

from core.dialogue.coach import Coach
from core.dialogue.intents import Intent
from core.methods.loader import MethodLibrary
from core.schedule.accountability import Accountability
from core.schedule.dispatcher import Dispatcher
from core.schedule.model import NudgeDraft, Preferences
from core.store.nudges import SqlNudgeStore
from core.store.repository import SqlStore
from core.testing import FakeClock, intent_text

ANN = "console:local:ann"


class HeldMessenger:
    """Delivers only when released, so a test can stop the dispatcher mid-send."""

    def __init__(self) -> None:
        self.sending = asyncio.Event()
        self.go = asyncio.Event()
        self.sent: list[str] = []

    async def deliver(self, intents: Sequence[Intent]) -> None:
        self.sending.set()
        await self.go.wait()
        self.sent.append(intent_text(intents[0]))


async def _statuses(nudges: SqlNudgeStore) -> dict[str, tuple[str, int]]:
    return {n.key: (n.status, n.attempts) for n in await nudges.list_nudges()}


async def test_stopping_mid_batch_finishes_the_send_and_gives_back_the_rest_at_once(
    store: SqlStore, methods: MethodLibrary, clock: FakeClock
) -> None:
    nudges = SqlNudgeStore(store)
    now = clock.now()
    await nudges.save_preferences(Preferences(owner=ANN, quiet_start=None, quiet_end=None), now=now)
    drafts = [
        NudgeDraft(
            key=f"notice:{n}",
            kind="notice",
            owner=ANN,
            target=f"n{n}",
            due_at=now - timedelta(minutes=3 - n),
            tz="UTC",
            payload={"text": f"Notice {n}"},
        )
        for n in range(3)
    ]
    await nudges.add_nudges(drafts, now=now)
    messenger = HeldMessenger()
    coach = Coach(store=store, methods=methods)
    dispatcher = Dispatcher(
        nudges=nudges,
        accountability=Accountability(store=store, nudges=nudges, coach=coach),
        messenger=messenger,
        clock=clock,
        pacing=None,
        batch=2,  # notices 0 and 1 claimed together; 2 waits for a next batch
        concurrency=1,  # 0 is sent while 1 waits for the slot
    )
    tick = asyncio.create_task(dispatcher.tick())
    await asyncio.wait_for(messenger.sending.wait(), 5)

    dispatcher.begin_stop()
    for _ in range(500):  # the give-back is one write; no send has finished meanwhile
        if (await _statuses(nudges))["notice:1"][0] == "pending":
            break
        await asyncio.sleep(0.01)
    assert not tick.done()
    assert await _statuses(nudges) == {
        "notice:0": ("claimed", 1),  # under way
        "notice:1": ("pending", 1),  # given back, due as it was: the next start sends it
        "notice:2": ("pending", 0),  # never claimed: no new batch after the stop
    }

    messenger.go.set()
    assert await asyncio.wait_for(tick, 5) == 2
    assert messenger.sent == ["Notice 0"]
    assert (await _statuses(nudges))["notice:0"] == ("sent", 1)
    assert dispatcher.stats.released == 1
    assert await dispatcher.tick() == 0  # stopped: claims nothing
    await dispatcher.stop()
    assert [n.status for n in await nudges.list_nudges(statuses=["claimed"])] == []
    [back] = [n for n in await nudges.list_nudges() if n.key == "notice:1"]
    assert back.due_at == drafts[1].due_at
