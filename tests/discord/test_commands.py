"""/breakthrough subcommands other than the methods, through the real discord.py client."""

from __future__ import annotations

import pytest

from bots.discord import sync_commands
from tests.discord.rig import DiscordRig
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
