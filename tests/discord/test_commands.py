"""/breakthrough subcommands other than the methods, through the real discord.py client."""

from __future__ import annotations

import pytest

from bots.discord import sync_commands
from tests.discord.rig import DiscordRig, buttons, content
from tests.discord.test_sessions import start_plan


async def test_status_answers_privately_with_sessions_and_commitments(rig: DiscordRig) -> None:
    await start_plan(rig)
    payload = await rig.command("status")
    [answer] = [
        c
        for c in rig.fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
        if payload["token"] in c.path
    ]
    assert answer.json["flags"] & 64
    assert "**Your sessions**" in answer.json["content"]
    assert "plan: Launch the beta (active)" in answer.json["content"]


async def test_help_lists_every_subcommand_privately(rig: DiscordRig) -> None:
    payload = await rig.command("help")
    [callback] = [
        c
        for c in rig.fake.calls_to("POST /interactions/{webhook_id}/{webhook_token}/callback")
        if c.params["webhook_id"] == str(payload["id"])
    ]
    assert callback.json["data"]["flags"] & 64
    text = callback.json["data"]["content"]
    for name in ("plan", "seven-step", "session", "checkin", "status", "settings", "export"):
        assert f"/breakthrough {name}" in text


async def test_the_command_group_registers_all_fourteen_subcommands(rig: DiscordRig) -> None:
    [group] = rig.service.bot.tree.get_commands()
    names = {c.name for c in group.walk_commands()}  # type: ignore[union-attr]
    assert names == {
        "plan",
        "seven-step",
        "session",
        "team",
        "checkin",
        "status",
        "report",
        "settings",
        "pause",
        "resume",
        "stop",
        "export",
        "forget",
        "help",
    }
    assert all(c.description for c in group.walk_commands())  # type: ignore[union-attr]


async def test_sync_commands_registers_the_group_in_one_server(
    rig: DiscordRig, capsys: pytest.CaptureFixture[str]
) -> None:
    config = rig.service.config
    assert await sync_commands(config, rig.runtime, guild=rig.fake.guild_id) == 0
    [registered] = rig.fake.commands[rig.fake.guild_id]
    assert registered["name"] == "breakthrough"
    assert len(registered["options"]) == 14
    topic = next(o for o in registered["options"] if o["name"] == "plan")["options"][0]
    assert topic["name"] == "topic" and topic["description"] and not topic.get("required")
    assert "14 subcommands" in capsys.readouterr().out


async def _session(rig: DiscordRig) -> str:
    [record] = await rig.runtime.store.list_sessions()
    return record.status


async def test_pause_resume_and_report_act_on_the_latest_session(rig: DiscordRig) -> None:
    thread = await start_plan(rig)
    await rig.command("pause")
    assert await _session(rig) == "paused"
    await rig.command("resume")
    assert await _session(rig) == "active"
    await rig.command("report")
    files = [a["filename"] for m in rig.fake.messages(thread) for a in m.get("attachments", [])]
    assert any(name.endswith(".md") for name in files)


async def test_settings_changes_the_zone_used_from_then_on(rig: DiscordRig) -> None:
    payload = await rig.command("settings", change="tz Europe/Paris")
    [answer] = [
        c
        for c in rig.fake.calls_to("POST /webhooks/{webhook_id}/{webhook_token}")
        if payload["token"] in c.path
    ]
    assert "Europe/Paris" in answer.json["content"]
    prefs = await rig.runtime.accountability.preferences(f"discord:users:{rig.fake.ann_id}")
    assert prefs.tz == "Europe/Paris"


async def test_export_sends_json_and_markdown_in_a_dm(rig: DiscordRig) -> None:
    await start_plan(rig)
    await rig.command("export")
    dm = int(rig.fake.dm_channel(rig.fake.ann_id)["id"])
    files = [a["filename"] for m in rig.fake.messages(dm) for a in m.get("attachments", [])]
    assert any(f.endswith(".json") for f in files) and any(f.endswith(".md") for f in files)


async def test_forget_asks_first_then_deletes_everything(rig: DiscordRig) -> None:
    await start_plan(rig)
    await rig.command("forget")
    assert await rig.runtime.store.list_sessions()  # nothing deleted before confirming
    dm = int(rig.fake.dm_channel(rig.fake.ann_id)["id"])
    [ask] = [m for m in rig.fake.messages(dm) if buttons(m)]
    [yes] = [b for b in buttons(ask) if b["label"].startswith("Yes")]
    before = len(rig.fake.messages(dm))
    await rig.click(yes["custom_id"], message=ask)
    await rig.fake.wait_messages(dm, before + 1)
    assert await rig.runtime.store.list_sessions() == []
    assert "delet" in content(rig.fake.messages(dm)[-1]).lower()
