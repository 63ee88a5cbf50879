"""The `breakthrough` command as a person runs it: real subprocesses, on a real database
(SQLite and PostgreSQL) for every command that opens one."""

from __future__ import annotations

import asyncio
import getpass
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

import pytest

from tests.programs import program_env

PLAN_LINES = [
    "I want the beta launched by March",
    "I need a landing page",
    "Recruit 20 testers",
    "nothing else",
    "2",
    "Finding testers",
    "1",
    "1",
    "tomorrow",
    "yes",
    "in two weeks",
    "yes",
    "3",
]


class Cli(Protocol):
    def __call__(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]: ...


def _runner(env: dict[str, str]) -> Cli:
    def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bots.cli", *args],
            input=stdin,
            capture_output=True,
            text=True,
            env=env,
            timeout=120,
            check=False,
        )

    return run


@pytest.fixture
def cli(tmp_path: Path, database_url: str) -> Cli:
    """``breakthrough ARGS`` on this test's database."""
    return _runner(program_env(tmp_path, database_url=database_url))


@pytest.fixture
def cli_no_database(tmp_path: Path) -> Iterator[Cli]:
    """For what is answered before any database is opened, so once is enough; checked:
    the default SQLite file in the data directory is never made."""
    yield _runner(program_env(tmp_path))
    assert not list(tmp_path.rglob("*.db")), "this command opened a database"


def test_a_piped_plan_session_ends_with_plan_report_picture_and_commitments(
    cli: Cli, tmp_path: Path
) -> None:
    run = cli("console", "plan", "Launch", "the", "beta", stdin="\n".join(PLAN_LINES) + "\n")
    assert run.returncode == 0, run.stderr
    out = run.stdout
    assert "What would you like to happen in this situation?" in out
    assert "[ ] 1. Recruit 20 testers" in out
    assert "# Breakthrough Action Plan" in out
    saved = sorted((tmp_path / "data" / "files").rglob("*"))
    assert any(p.suffix == ".md" for p in saved) and any(p.suffix == ".png" for p in saved)
    assert next(p for p in saved if p.suffix == ".png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"

    report = cli("report")
    assert report.returncode == 0 and "# Breakthrough Action Plan" in report.stdout
    assert "Recruit 20 testers" in report.stdout

    sessions = cli("sessions")
    assert (
        "plan" in sessions.stdout
        and "done" in sessions.stdout
        and "Launch the beta" in sessions.stdout
    )

    commitments = cli("commitments")
    assert (
        "Recruit 20 testers" in commitments.stdout and "I need a landing page" in commitments.stdout
    )


def test_end_of_input_keeps_the_session_for_later(cli: Cli) -> None:
    run = cli("console", "plan", stdin="I want a calmer week\n")
    assert run.returncode == 0
    assert "Your session is saved" in run.stdout
    again = cli("console", stdin="1\n")
    assert "Resume plan" in again.stdout
    assert "And what needs to happen for \u201ca calmer week\u201d to happen?" in again.stdout


def test_methods_list_and_check(cli_no_database: Cli, tmp_path: Path) -> None:
    cli = cli_no_database
    listed = cli("methods", "list")
    assert listed.returncode == 0
    for name in ("plan", "seven-step", "session", "checkin"):
        assert name in listed.stdout
    bad = tmp_path / "broken.yaml"
    bad.write_text(
        "id: broken\ntitle: B\nsummary: s\nphases: []\nreport: {title: t, sections: []}\n"
    )
    checked = cli("methods", "check", str(bad))
    assert checked.returncode == 1
    assert f"{bad}:4:" in checked.stderr and "phases" in checked.stderr
    good = cli("methods", "check")
    assert good.returncode == 0 and "plan.yaml: ok" in good.stdout


def test_an_unknown_method_or_zone_is_a_clear_error(cli_no_database: Cli) -> None:
    cli = cli_no_database
    run = cli("console", "yoga")
    assert run.returncode == 2 and "no method called 'yoga'" in run.stderr
    run = cli("--tz", "Mars/Olympus", "sessions")
    assert run.returncode == 2 and "Mars/Olympus" in run.stderr


async def _read_until(stream: asyncio.StreamReader, marker: str) -> str:
    seen = ""
    while marker not in seen:
        chunk = await asyncio.wait_for(stream.read(4096), timeout=60)
        if not chunk:
            break
        seen += chunk.decode()
    return seen


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
async def test_a_killed_process_resumes_at_the_same_question(
    cli: Cli, tmp_path: Path, database_url: str
) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bots.cli",
        "console",
        "plan",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        env=program_env(tmp_path, database_url=database_url),
    )
    assert proc.stdin and proc.stdout
    await _read_until(proc.stdout, "What would you like to happen")
    proc.stdin.write(b"I want the beta launched\nI need a landing page\nRecruit testers\n")
    await proc.stdin.drain()
    shown = await _read_until(proc.stdout, "Recruit testers. And what else")
    assert "Recruit testers. And what else" in shown
    proc.send_signal(signal.SIGKILL)
    await proc.wait()

    resumed = cli("console", stdin="1\nnothing else\n")
    assert "Recruit testers. And what else needs to happen" in resumed.stdout
    assert (
        "What needs to happen first for \u201cthe beta launched\u201d to happen?" in resumed.stdout
    )
    assert "1) I need a landing page" in resumed.stdout and "2) Recruit testers" in resumed.stdout


def test_nudges_lists_what_a_plan_scheduled_in_local_time(cli: Cli) -> None:
    run = cli("console", "plan", "Launch", stdin="\n".join(PLAN_LINES) + "\n")
    assert run.returncode == 0, run.stderr
    listed = cli("nudges")
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert any("checkin" in line and "“Recruit 20 testers”" in line for line in lines)
    assert any("reminder" in line and "“Recruit 20 testers”" in line for line in lines)
    assert all("(Europe/London)" in line for line in lines)


def test_nudges_with_nothing_scheduled_says_where_they_come_from(cli: Cli) -> None:
    listed = cli("nudges")
    assert listed.returncode == 0
    assert "No nudges are scheduled" in listed.stdout


def test_settings_show_change_and_refuse_nonsense(cli: Cli) -> None:
    shown = cli("settings")
    assert shown.returncode == 0, shown.stderr
    assert "21:00" in shown.stdout  # the default quiet hours
    changed = cli("settings", "quiet", "22:00-07:00")
    assert changed.returncode == 0, changed.stderr
    assert "22:00" in cli("settings").stdout
    bad = cli("settings", "quiet", "whenever")
    assert bad.returncode == 2
    assert "quiet" in bad.stderr.lower() and "22:00" in cli("settings").stdout


def test_partner_invite_and_accept_as_another_person(cli: Cli) -> None:
    me = cli("partner", "invite", "sam")
    assert me.returncode == 0, me.stderr
    assert "I've asked sam" in me.stdout
    owner = getpass.getuser()  # the console person is the login name
    accepted = cli("--user", "sam", "partner", "accept", owner)
    assert accepted.returncode == 0, accepted.stderr
    assert "You're now" in accepted.stdout
    status = cli("partner")
    assert "sam (accepted)" in status.stdout


def test_a_team_channel_in_the_terminal(cli: Cli) -> None:
    lines = "\n".join(
        [
            "The beta launched by March",
            "bob: A landing page",
            "bob: nothing else",
            "Fix the login bug",
            "nothing else",
            "2",
            "Finding the time",
            "1",
            "1",
            "bob press: Claim 2",
            "bob dm: next Friday",
            "bob dm: yes",
            "/quit",
        ]
    )
    done = cli("--user", "Ann", "console", "team", "Launch the beta", stdin=lines)
    assert done.returncode == 0, done.stderr
    out = " ".join(done.stdout.split())
    assert "[thread] A landing page (from Bob). And what else needs to happen" in out
    assert "[thread] Bob, only Ann, who is facilitating, can close this list." in out
    assert "1) Claim 1: Fix the login bug" in out
    assert "[thread] Bob owns step 2: “A landing page”." in out
    assert "[dm bob] You own “A landing page”. When will you have it done?" in out
    assert "[thread] Bob will have step 2 (“A landing page”) done by Friday" in out
    assert "[dm Ann] Your reflection as facilitator" in out


def test_a_team_channel_needs_a_topic(cli_no_database: Cli) -> None:
    cli = cli_no_database
    done = cli("console", "team")
    assert done.returncode == 2
    assert "breakthrough console team TOPIC" in done.stderr
