"""``breakthrough db new-key`` and ``db rotate-key``, and what the commands say when the
data key is missing or wrong: run through ``main`` with the settings in the environment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bots.cli import main
from core.store.repository import SqlStore
from core.store.sealed import new_key, parse_keys
from tests.store.private_world import TOPIC, write_world


async def _world(url: str, key: str | None, tmp_path: Path) -> None:
    keyring = parse_keys(key) if key else None
    await (await write_world(await SqlStore.open(url, keyring=keyring), tmp_path)).close()


def _id(key: str) -> str:
    kid = parse_keys(key).current_id
    assert kid is not None
    return kid


def test_new_key_prints_a_key_and_where_it_goes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", "new-key"]) == 0
    first = capsys.readouterr()
    assert main(["db", "new-key"]) == 0
    second = capsys.readouterr()
    key = first.out.strip()
    assert first.out == f"{key}\n" and len(key) == 44
    assert parse_keys(key).writes
    assert second.out != first.out
    assert "BREAKTHROUGH_DATA_KEY" in first.err and "keep a copy" in first.err


def test_rotate_key_reencrypts_everything_and_the_old_key_can_go(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = new_key(), new_key()
    asyncio.run(_world(database_url, a, tmp_path))
    monkeypatch.setenv("BREAKTHROUGH_DATABASE_URL", database_url)
    monkeypatch.setenv("BREAKTHROUGH_DATA_KEY", b)
    monkeypatch.setenv("BREAKTHROUGH_OLD_DATA_KEYS", a)

    assert main(["db", "rotate-key"]) == 0
    said = capsys.readouterr()
    assert "sessions: 4/4" in said.err and "team_steps: 2/2" in said.err
    assert f"with key {_id(b)}:" in said.out
    assert f"values were encrypted with the old key {_id(a)}" in said.out
    assert "remove them from BREAKTHROUGH_OLD_DATA_KEYS" in said.out
    assert a not in said.out + said.err and b not in said.out + said.err

    assert main(["db", "rotate-key"]) == 0
    assert f"Nothing to do: all 25 rows were already encrypted with key {_id(b)}" in (
        capsys.readouterr().out
    )

    monkeypatch.delenv("BREAKTHROUGH_OLD_DATA_KEYS")
    assert main(["sessions", "--all"]) == 0
    assert TOPIC in capsys.readouterr().out

    expected = (
        f"answers in the database are encrypted with a key that is not configured (key id "
        f"{_id(b)}): set BREAKTHROUGH_DATA_KEY or list the old key in "
        "BREAKTHROUGH_OLD_DATA_KEYS\n"
    )
    monkeypatch.setenv("BREAKTHROUGH_DATA_KEY", a)
    assert main(["sessions", "--all"]) == 2
    assert capsys.readouterr().err == expected
    monkeypatch.delenv("BREAKTHROUGH_DATA_KEY")
    assert main(["sessions", "--all"]) == 2
    assert capsys.readouterr().err == expected


def test_rotate_key_seals_rows_written_before_the_key(
    database_url: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(_world(database_url, None, tmp_path))
    monkeypatch.setenv("BREAKTHROUGH_DATABASE_URL", database_url)
    monkeypatch.setenv("BREAKTHROUGH_DATA_KEY", new_key())
    assert main(["db", "rotate-key"]) == 0
    said = capsys.readouterr()
    assert "values were stored in plain text before" in said.out
    assert "old key" not in said.out
    if database_url.startswith("postgresql"):
        assert "VACUUM FULL" in said.err
    else:
        assert "VACUUM" not in said.err  # SQLite: the command compacted the file itself
    assert main(["sessions", "--all"]) == 0
    assert TOPIC in capsys.readouterr().out


def test_rotate_key_without_a_key_says_how_to_set_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BREAKTHROUGH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BREAKTHROUGH_OLD_DATA_KEYS", new_key())
    assert main(["db", "rotate-key"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("There is no key to encrypt with: set BREAKTHROUGH_DATA_KEY")
    assert "breakthrough db new-key" in err
    assert not (tmp_path / "breakthrough.db").exists()  # refused before touching anything


@pytest.mark.parametrize("command", [["db", "rotate-key"], ["sessions"]])
def test_a_key_that_is_not_a_key_is_named_not_shown(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("BREAKTHROUGH_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("BREAKTHROUGH_DATA_KEY", "my-secret-passphrase")
    assert main(command) == 2
    said = capsys.readouterr()
    assert said.err.startswith("BREAKTHROUGH_DATA_KEY is not a valid data key: ")
    assert "my-secret" not in said.out + said.err
