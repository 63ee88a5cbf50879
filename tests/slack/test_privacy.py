"""``/breakthrough export`` and ``forget``: a person's data handed over, or deleted."""

from __future__ import annotations

import json

from sqlalchemy import func, select

from core.store.privacy import PERSON_TABLES
from tests.slack.rig import ANN, SlackRig, button, message_text

ANN_KEY = f"slack:T0001:{ANN}"


async def _some_history(rig: SlackRig) -> None:
    await rig.command("plan Launch the beta")
    ts = str(rig.roots("C0001")[-1].response["ts"])
    for answer in ("I want the beta out", "Fix the login bug", "nothing else", "1"):
        await rig.say(answer, thread_ts=ts)
    for answer in ("Finding the time", "1", "tomorrow", "yes", "1"):
        await rig.say(answer, thread_ts=ts)
    await rig.command("settings quiet 22:00-07:00")
    await rig.command("plan A second, unfinished one")


async def test_export_sends_json_and_markdown_in_a_dm(rig: SlackRig) -> None:
    await _some_history(rig)
    url = await rig.command("export")
    assert "DM" in rig.fake.responses_to(url)[0]["text"]
    json_file, md_file = [
        u for u in rig.fake.uploads if u.filename.startswith("breakthrough-export")
    ]
    assert json_file.channel == md_file.channel == f"D{ANN}"
    data = json.loads(json_file.content)
    assert data["person"] == ANN_KEY
    assert len(data["tables"]["sessions"]) == 2
    assert [c["text"] for c in data["tables"]["commitments"]] == ["Fix the login bug"]
    assert data["tables"]["preferences"][0]["quiet_start"] == "22:00"
    markdown = md_file.content.decode()
    assert "I want the beta out" in markdown and "Fix the login bug" in markdown


async def test_forget_asks_first_then_deletes_every_row_of_the_person(rig: SlackRig) -> None:
    await _some_history(rig)
    await rig.command("plan Ben's own", user="UBEN")
    await rig.command("forget")
    question = rig.roots(f"D{ANN}")[-1]
    assert "cannot be undone" in message_text(question)

    await rig.click(question, button(question, "No, keep it"))
    assert message_text(rig.roots(f"D{ANN}")[-1]) == "Nothing was deleted."
    assert len(await rig.runtime.store.list_sessions(owner=ANN_KEY)) == 2

    await rig.click(question, button(question, "Yes, delete everything"))
    said = message_text(rig.roots(f"D{ANN}")[-1])
    assert said.startswith("Deleted everything about you:")
    assert "2 coaching sessions" in said and "• 1 commitment\n" in said

    async with rig.runtime.store.connection() as conn:
        for table in PERSON_TABLES:
            rows = (await conn.execute(select(table))).all()
            leftover = [r for r in rows if ANN in json.dumps([str(v) for v in r])]
            assert leftover == [], f"{table.name} still holds {leftover}"
        sessions = (await conn.execute(select(func.count()).select_from(PERSON_TABLES[3]))).scalar()
    assert sessions == 1  # Ben's session is untouched
