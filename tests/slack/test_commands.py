"""Reading ``/breakthrough <text>``: forgiving about spelling, never guessing at unknown
words, and keeping a person's own characters; the help they see; the app's manifest."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from adapters.slack.commands import (
    HELP_LIMIT,
    METHOD_SUBCOMMANDS,
    SUBCOMMANDS,
    SlashCommand,
    help_text,
    parse,
)
from core.methods.loader import builtin_method_files

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yaml"

EXPECTED_NAMES = [
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
]


def test_the_subcommands_are_exactly_the_documented_ones_in_help_order() -> None:
    assert list(SUBCOMMANDS) == EXPECTED_NAMES
    assert all(description.strip() for description in SUBCOMMANDS.values())


def test_method_subcommands_are_methods_that_exist() -> None:
    ids = {path.stem for path in builtin_method_files()}
    assert set(METHOD_SUBCOMMANDS) <= ids
    assert set(METHOD_SUBCOMMANDS) <= set(SUBCOMMANDS)


@pytest.mark.parametrize("name", EXPECTED_NAMES)
def test_every_subcommand_is_read_with_the_words_after_it(name: str) -> None:
    assert parse(f"{name} Launch the beta") == SlashCommand(name, "Launch the beta")
    assert parse(name) == SlashCommand(name, "")


@pytest.mark.parametrize(
    ("text", "name"),
    [
        ("seven-step x", "seven-step"),
        ("seven_step x", "seven-step"),
        ("sevenstep x", "seven-step"),
        ("Seven-Step x", "seven-step"),
        ("7-step x", "seven-step"),
        ("7step x", "seven-step"),
        ("7 x", "seven-step"),
        ("check-in x", "checkin"),
        ("check_in x", "checkin"),
        ("CHECKIN x", "checkin"),
        ("setting x", "settings"),
        ("Settings x", "settings"),
        ("? x", "help"),
        ("/plan x", "plan"),
        ("PLAN x", "plan"),
        ("plan: x", "plan"),
        ("status? x", "status"),
    ],
)
def test_aliases_case_and_stray_punctuation_land_on_the_subcommand(text: str, name: str) -> None:
    assert parse(text) == SlashCommand(name, "x")


def test_the_rest_keeps_its_case_and_inner_spacing_but_not_its_edges() -> None:
    command = parse("  plan   Launch the Beta  on iOS \n")
    assert command == SlashCommand("plan", "Launch the Beta  on iOS")


def test_any_whitespace_ends_the_subcommand_word() -> None:
    assert parse("plan\tLaunch").rest == "Launch"
    assert parse("session\nWhy I procrastinate\nand what to do").rest == (
        "Why I procrastinate\nand what to do"
    )


@pytest.mark.parametrize("text", ["", "   ", "\n\t "])
def test_empty_text_asks_for_help(text: str) -> None:
    assert parse(text) == SlashCommand("help", "")


def test_an_unknown_word_gives_help_and_is_not_guessed_at() -> None:
    assert parse("delete everything") == SlashCommand("help", "delete everything", unknown="delete")
    # A topic without a method is not silently taken as a plan either.
    assert parse("  Launch the beta ") == SlashCommand("help", "Launch the beta", unknown="Launch")


def test_slack_entities_are_decoded_so_the_rest_is_the_persons_own_words() -> None:
    assert parse("plan Fix &lt;login&gt; &amp; signup") == SlashCommand(
        "plan", "Fix <login> & signup"
    )
    assert parse("settings quiet 22:00-07:00 &amp;&amp; more").rest == ("quiet 22:00-07:00 && more")
    # An unknown word is decoded too, so help quotes what the person typed.
    assert parse("&lt;oops&gt; x").unknown == "<oops>"


def test_a_literal_entity_the_person_typed_survives_decoding() -> None:
    # They typed "&lt;" themselves; Slack sends "&amp;lt;".
    assert parse("plan Write about &amp;lt; in HTML").rest == "Write about &lt; in HTML"


def test_help_lists_every_subcommand_with_its_command() -> None:
    text = help_text()
    for name in SUBCOMMANDS:
        assert re.search(rf"`/breakthrough {re.escape(name)}\b[^`]*` — ", text), name
    assert "`/breakthrough team help`" in text.split("team", 1)[1].splitlines()[0]
    assert "I don't know" not in text


def test_help_tells_what_works_inside_a_sessions_thread() -> None:
    last = help_text().splitlines()[-1]
    for word in ("status", "pause", "back", "skip", "stop", "help"):
        assert f"`{word}`" in last


def test_help_uses_the_installed_command_name() -> None:
    text = help_text("/coach")
    assert "`/coach status`" in text
    assert "/breakthrough" not in text


def test_help_starts_by_naming_the_unknown_word() -> None:
    first = help_text(unknown="delete").splitlines()[0]
    assert first.startswith("I don't know “delete”.")


def test_help_for_a_pasted_paragraph_stays_short() -> None:
    text = help_text(unknown="x" * 5000)
    assert len(text) < HELP_LIMIT
    assert "I don't know “xxxx" in text


def test_help_is_short_and_has_no_slack_markup_to_be_escaped_away() -> None:
    assert HELP_LIMIT == 1500
    for text in (help_text(), help_text(unknown="something")):
        assert len(text) < HELP_LIMIT
        assert "<" not in text and ">" not in text and "&" not in text


# --------------------------------------------------------------------------- manifest


def _manifest(text: str | None = None) -> dict[str, Any]:
    loaded = yaml.safe_load(MANIFEST.read_text(encoding="utf-8") if text is None else text)
    assert isinstance(loaded, dict)
    return loaded


def test_manifest_declares_the_command_and_scopes() -> None:
    manifest = _manifest()
    [command] = manifest["features"]["slash_commands"]
    assert command["command"] == "/breakthrough"
    assert command["should_escape"] is False
    assert manifest["oauth_config"]["scopes"]["bot"] == [
        "commands",
        "chat:write",
        "im:write",
        "im:history",
        "channels:history",
        "groups:history",
        "mpim:history",
        "users:read",
        "files:write",
    ]
    assert manifest["settings"]["event_subscriptions"]["bot_events"] == [
        "app_home_opened",
        "message.channels",
        "message.groups",
        "message.im",
        "message.mpim",
        "app_uninstalled",
        "tokens_revoked",
    ]
    assert manifest["settings"]["interactivity"]["is_enabled"] is True
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True
    assert manifest["features"]["app_home"]["messages_tab_read_only_enabled"] is False


def test_manifest_scopes_each_say_what_uses_them() -> None:
    manifest = _manifest()
    lines = MANIFEST.read_text(encoding="utf-8").splitlines()
    for scope in manifest["oauth_config"]["scopes"]["bot"]:
        [line] = [line for line in lines if line.strip().startswith(f"- {scope} ")]
        _, _, comment = line.partition("#")
        assert len(comment.strip()) > 5, scope


def test_manifest_http_mode_lines_land_in_the_right_places_when_uncommented() -> None:
    text = MANIFEST.read_text(encoding="utf-8")
    text = re.sub(r"# (url|request_url): https://YOUR-HOST", r"\1: https://YOUR-HOST", text)
    text = text.replace("socket_mode_enabled: true", "socket_mode_enabled: false")
    manifest = _manifest(text)
    url = "https://YOUR-HOST/slack/events"
    assert manifest["features"]["slash_commands"][0]["url"] == url
    assert manifest["settings"]["event_subscriptions"]["request_url"] == url
    assert manifest["settings"]["interactivity"]["request_url"] == url
    assert manifest["settings"]["socket_mode_enabled"] is False
