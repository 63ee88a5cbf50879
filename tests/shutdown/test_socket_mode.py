"""Stopping the Slack bot in Socket Mode: it disconnects at once (Slack then sends new
envelopes to another connection) and still finishes the turns it acknowledged."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.testing import FakeClock
from tests.databases import Database
from tests.slack.fake_slack import FakeSlack
from tests.slack.rig import TEAM, USERS, SlackRig, message_text
from tests.slack.test_socket_mode import command_payload


async def test_it_disconnects_first_and_finishes_the_acknowledged_turn(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    async with FakeSlack(team_id=TEAM, users=USERS) as fake:
        rig = await SlackRig.open(
            database_url=database.url,
            store=await database.open_store(),
            tmp_path=tmp_path,
            clock=clock,
            fake=fake,
            app_token=fake.app_token,
            signing_secret=None,
        )
        try:
            await fake.socket_connected()
            fake.hold("chat.postMessage")
            envelope = await fake.send_envelope(
                "slash_commands", command_payload(fake, "plan Launch the beta")
            )
            await fake.wait_ack(envelope)
            await fake.wait_for(lambda: len(fake.waiting) == 1)  # the turn is posting

            closing = asyncio.create_task(rig.service.close())
            await fake.wait_for(lambda: not fake.socket_open)
            assert not closing.done()  # disconnected, still finishing the turn
            fake.release("chat.postMessage")
            assert await asyncio.wait_for(closing, 10) is True
        finally:
            fake.release("chat.postMessage")
            await rig.runtime.close()
            await rig.http.close()
        root, question = fake.posted()
        assert "What would you like to happen" in message_text(question)
        assert question.args["thread_ts"] == root.response["ts"]
