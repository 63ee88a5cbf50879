"""``breakthrough doctor`` against a real database and local fakes of Slack and Discord.

Each test sets up one thing an operator gets wrong and reads the doctor's lines the way
the operator would: the level, the topic, and the words saying what to fix.
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from alembic import command
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from adapters.slack.install import BOT_SCOPES
from bots.cli import main
from bots.doctor import Report, run_doctor
from bots.settings import Settings
from core.store.migrate import HEAD_REVISION, alembic_config, current_revision, lock_for_migration
from core.store.sealed import new_key
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord
from tests.slack.fake_slack import FakeSlack

MANIFEST = Path(__file__).resolve().parents[2] / "deploy" / "slack" / "manifest.yaml"

BOT_TOKEN = "xoxb-doctor-bot-token-0001"
SIGNING_SECRET = "doctor-signing-secret-0002"
DISCORD_TOKEN = "doctor-discord-token-0003"
CLIENT_SECRET = "doctor-client-secret-0004"


def _settings(tmp_path: Path, **values: Any) -> Settings:
    values.setdefault("data_dir", tmp_path / "data")
    values.setdefault("tz", "Europe/London")
    return Settings(_env_file=None, **values)


class Checkup:
    """What one doctor run printed and returned."""

    def __init__(self, code: int, output: str) -> None:
        self.code = code
        self.output = output
        self.lines = output.splitlines()

    def finding(self, topic: str) -> str:
        """The one line about ``topic`` (``"FAIL Slack scopes: ..."``)."""
        [line] = [line for line in self.lines if line[5:].startswith(f"{topic}:")]
        return line

    def levels(self) -> set[str]:
        return {line.split(" ", 1)[0] for line in self.lines[1:-1]}


async def _doctor(
    settings: Settings, *, engine: AsyncEngine | None = None, time_limit: float = 5.0
) -> Checkup:
    out = io.StringIO()
    code = await run_doctor(settings, engine=engine, out=out, time_limit=time_limit)
    return Checkup(code, out.getvalue())


async def _migrate_to(engine: AsyncEngine, revision: str) -> None:
    def run(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        command.upgrade(config, revision)

    async with engine.begin() as conn:
        await lock_for_migration(conn)
        await conn.run_sync(run)


@pytest.fixture
async def engine(database: Database) -> AsyncIterator[AsyncEngine]:
    engine = database.engine()
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def slack() -> AsyncIterator[FakeSlack]:
    async with FakeSlack() as fake:
        yield fake


@pytest.fixture
async def discord() -> AsyncIterator[FakeDiscord]:
    async with FakeDiscord(token=DISCORD_TOKEN) as fake:
        yield fake


# --------------------------------------------------------------------------- all well


async def test_a_healthy_production_setup_passes_every_check(
    tmp_path: Path, engine: AsyncEngine, slack: FakeSlack, discord: FakeDiscord
) -> None:
    await _migrate_to(engine, "head")
    key = new_key()
    settings = _settings(
        tmp_path,
        environment="production",
        data_key=key,
        retention_days=365,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN=slack.app_token,
        SLACK_API_URL=slack.api_url,
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_MESSAGE_CONTENT=True,
        DISCORD_API_URL=discord.api_url,
        DISCORD_SHARD_COUNT=4,
        DISCORD_SHARD_IDS="0-1",
    )
    checkup = await _doctor(settings, engine=engine)

    assert checkup.code == 0, checkup.output
    assert checkup.levels() == {"ok"}, checkup.output
    assert checkup.lines[0] == (
        "Breakthrough doctor: production settings, Slack and Discord configured"
    )
    assert checkup.lines[-1].startswith("All ") and checkup.lines[-1].endswith(" checks passed.")
    assert (
        checkup.finding("schema")
        == f"ok   schema: at {HEAD_REVISION}, the newest this release knows"
    )
    assert "works: @breakthrough in workspace Fake (T0001)" in checkup.finding("Slack bot token")
    assert checkup.finding("Slack scopes").endswith(f"has all {len(BOT_SCOPES)} scopes it needs")
    assert "Socket Mode" in checkup.output
    assert "typed answers are read" in checkup.finding("Discord intents")
    assert (
        checkup.finding("Discord shards")
        == "ok   Discord shards: this process runs shards 0-1 of 4"
    )
    assert "retention: finished sessions older than 365 days are deleted" in checkup.output
    # The doctor asked Slack and Discord with the configured tokens.
    [auth] = slack.calls_to("auth.test")
    assert auth.token == BOT_TOKEN
    [connections] = slack.calls_to("apps.connections.open")
    assert connections.token == slack.app_token
    assert discord.calls_to("GET /users/@me")
    for secret in (BOT_TOKEN, slack.app_token, DISCORD_TOKEN, key):
        assert secret not in checkup.output


async def test_slack_http_mode_with_oauth(tmp_path: Path, slack: FakeSlack) -> None:
    settings = _settings(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_CLIENT_ID="111.222",
        SLACK_CLIENT_SECRET=CLIENT_SECRET,
        SLACK_REDIRECT_URI="https://coach.example.org/slack/oauth_redirect",
        SLACK_API_URL=slack.api_url,
    )
    checkup = await _doctor(settings)
    assert checkup.code == 0, checkup.output
    assert "requests are verified with SLACK_SIGNING_SECRET" in checkup.finding("Slack HTTP mode")
    assert checkup.finding("Slack OAuth") == (
        "ok   Slack OAuth: installs come back to https://coach.example.org/slack/oauth_redirect"
    )
    assert not slack.calls_to("apps.connections.open")


async def test_the_scopes_it_checks_are_the_manifests(tmp_path: Path) -> None:
    manifest = yaml.safe_load(MANIFEST.read_text(encoding="utf-8"))
    assert list(BOT_SCOPES) == manifest["oauth_config"]["scopes"]["bot"]


# --------------------------------------------------------------------------- Slack


async def test_a_refused_slack_token_fails_with_where_to_get_a_new_one(
    tmp_path: Path, slack: FakeSlack
) -> None:
    slack.fail_next("auth.test", error="invalid_auth")
    settings = _settings(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
    )
    checkup = await _doctor(settings)
    assert checkup.code == 1
    assert checkup.finding("Slack bot token").startswith(
        "FAIL Slack bot token: Slack refused SLACK_BOT_TOKEN (invalid_auth): copy the Bot User "
        "OAuth Token again from OAuth & Permissions"
    )
    assert checkup.lines[-1].endswith(
        "fix the FAIL lines above, then run breakthrough doctor again."
    )
    assert BOT_TOKEN not in checkup.output


async def test_a_missing_scope_is_named(tmp_path: Path, slack: FakeSlack) -> None:
    slack.scopes.remove("files:write")
    settings = _settings(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
    )
    checkup = await _doctor(settings)
    assert checkup.code == 1
    assert checkup.finding("Slack scopes").startswith(
        "FAIL Slack scopes: the bot token lacks files:write: add them under OAuth & Permissions"
    )
    assert "reinstall the app" in checkup.finding("Slack scopes")


async def test_a_refused_app_token_fails_socket_mode(tmp_path: Path, slack: FakeSlack) -> None:
    settings = _settings(
        tmp_path,
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_APP_TOKEN="xapp-1-revoked",
        SLACK_API_URL=slack.api_url,
    )
    checkup = await _doctor(settings)
    assert checkup.code == 1
    line = checkup.finding("Slack Socket Mode")
    assert line.startswith("FAIL Slack Socket Mode: Slack refused SLACK_APP_TOKEN (invalid_auth)")
    assert "connections:write" in line
    assert "xapp-1-revoked" not in checkup.output


@pytest.mark.parametrize(
    ("values", "topic", "says"),
    [
        (
            {"SLACK_BOT_TOKEN": "xoxp-a-user-token", "SLACK_SIGNING_SECRET": SIGNING_SECRET},
            "Slack bot token",
            "SLACK_BOT_TOKEN is not a bot token (those start with xoxb-)",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN, "SLACK_APP_TOKEN": "xoxb-wrong-kind"},
            "Slack Socket Mode",
            "SLACK_APP_TOKEN is not an app-level token (those start with xapp-)",
        ),
        (
            {"SLACK_BOT_TOKEN": BOT_TOKEN},
            "Slack settings",
            "HTTP mode needs SLACK_SIGNING_SECRET",
        ),
        (
            {"SLACK_CLIENT_ID": "111.222", "SLACK_SIGNING_SECRET": SIGNING_SECRET},
            "Slack OAuth",
            "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET go together",
        ),
        (
            {
                "SLACK_CLIENT_ID": "111.222",
                "SLACK_CLIENT_SECRET": CLIENT_SECRET,
                "SLACK_SIGNING_SECRET": SIGNING_SECRET,
                "SLACK_REDIRECT_URI": "http://coach.example.org/slack/oauth_redirect",
            },
            "Slack OAuth",
            "must start with https://",
        ),
    ],
)
async def test_slack_settings_that_cannot_work(
    tmp_path: Path, slack: FakeSlack, values: dict[str, str], topic: str, says: str
) -> None:
    checkup = await _doctor(_settings(tmp_path, SLACK_API_URL=slack.api_url, **values))
    assert checkup.code == 1
    assert checkup.finding(topic).startswith("FAIL ")
    assert says in checkup.finding(topic)


# --------------------------------------------------------------------------- Discord


async def test_a_refused_discord_token(tmp_path: Path, discord: FakeDiscord) -> None:
    settings = _settings(
        tmp_path, DISCORD_TOKEN="not-the-real-token", DISCORD_API_URL=discord.api_url
    )
    checkup = await _doctor(settings)
    assert checkup.code == 1
    assert checkup.finding("Discord token").startswith(
        "FAIL Discord token: Discord refused DISCORD_TOKEN: reset it under Developer Portal"
    )
    assert "not-the-real-token" not in checkup.output


async def test_message_content_asked_for_but_not_switched_on(
    tmp_path: Path, discord: FakeDiscord
) -> None:
    discord.application_flags = 0
    values: dict[str, Any] = {"DISCORD_TOKEN": DISCORD_TOKEN, "DISCORD_API_URL": discord.api_url}
    checkup = await _doctor(_settings(tmp_path, DISCORD_MESSAGE_CONTENT=True, **values))
    assert checkup.code == 1
    line = checkup.finding("Discord intents")
    assert line.startswith(
        "FAIL Discord intents: DISCORD_MESSAGE_CONTENT is on but the Message Content intent is off"
    )
    assert "Bot → Message Content Intent" in line

    # Without DISCORD_MESSAGE_CONTENT the bot does not need the intent: buttons instead.
    checkup = await _doctor(_settings(tmp_path, **values))
    assert checkup.code == 0, checkup.output
    assert checkup.finding("Discord intents") == (
        "ok   Discord intents: answers come through buttons (no Message Content intent)"
    )


async def test_the_limited_message_content_intent_is_enough(
    tmp_path: Path, discord: FakeDiscord
) -> None:
    discord.application_flags = 1 << 19  # GATEWAY_MESSAGE_CONTENT_LIMITED: under 100 servers
    settings = _settings(
        tmp_path,
        DISCORD_TOKEN=DISCORD_TOKEN,
        DISCORD_API_URL=discord.api_url,
        DISCORD_MESSAGE_CONTENT=True,
    )
    checkup = await _doctor(settings)
    assert checkup.code == 0, checkup.output
    assert checkup.finding("Discord intents").startswith("ok ")


@pytest.mark.parametrize(
    ("count", "ids", "says"),
    [
        (None, "0-3", "DISCORD_SHARD_IDS needs DISCORD_SHARD_COUNT"),
        (4, "0-4", "includes shard 4, but DISCORD_SHARD_COUNT is 4: shards are numbered 0 to 3"),
        (4, "first two", "is not a list of shard numbers: write a range like 0-3"),
        (4, "3-1", "the range 3-1, which goes down"),
    ],
)
async def test_shard_settings_that_cannot_work(
    tmp_path: Path, count: int | None, ids: str, says: str
) -> None:
    settings = _settings(tmp_path, DISCORD_SHARD_COUNT=count, DISCORD_SHARD_IDS=ids)
    checkup = await _doctor(settings)
    assert checkup.code == 1
    assert checkup.finding("Discord shards").startswith("FAIL ")
    assert says in checkup.finding("Discord shards")


# --------------------------------------------------------------------------- database


async def test_a_newer_schema_fails_and_says_to_deploy_the_newer_release(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    await _migrate_to(engine, "head")
    async with engine.begin() as conn:
        await conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    checkup = await _doctor(_settings(tmp_path), engine=engine)
    assert checkup.code == 1
    assert checkup.finding("schema") == (
        f"FAIL schema: at 0005, newer than this release knows ({HEAD_REVISION}): a newer "
        "Breakthrough migrated it. Deploy the newer release (or restore a backup); this one "
        "refuses to start against it"
    )


async def test_a_schema_behind_warns_and_is_left_as_it_is(
    tmp_path: Path, engine: AsyncEngine
) -> None:
    await _migrate_to(engine, "0002")
    checkup = await _doctor(_settings(tmp_path), engine=engine)
    assert checkup.code == 0, checkup.output
    assert checkup.finding("schema") == (
        f"warn schema: at 0002, this release needs {HEAD_REVISION}: run breakthrough db "
        "upgrade (the bot also migrates when it starts)"
    )
    assert await current_revision(engine) == "0002"  # the doctor only looks


def test_the_command_checks_the_configured_database(
    database_url: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """From the environment, as an operator runs it: no engine handed in."""
    monkeypatch.setenv("BREAKTHROUGH_DATABASE_URL", database_url)
    monkeypatch.setenv("BREAKTHROUGH_TZ", "Europe/London")
    assert main(["doctor"]) == 0
    # SQLite: no file yet; PostgreSQL: a database without tables. Either way: upgrade.
    [warning] = [line for line in capsys.readouterr().out.splitlines() if line.startswith("warn")]
    assert warning.startswith(("warn database: no database yet", "warn schema: the database has"))
    assert "run breakthrough db upgrade" in warning
    assert main(["db", "upgrade"]) == 0
    capsys.readouterr()
    assert main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "ok   database: " in out
    assert f"ok   schema: at {HEAD_REVISION}" in out


async def test_an_unreachable_database_fails_without_its_password(tmp_path: Path) -> None:
    url = "postgresql+asyncpg://bt:pw-never-shown@127.0.0.1:1/bt"
    checkup = await _doctor(_settings(tmp_path, database_url=url))
    assert checkup.code == 1
    line = checkup.finding("database")
    assert line.startswith("FAIL database: cannot reach postgresql+asyncpg://bt:***@127.0.0.1:1/bt")
    assert "check BREAKTHROUGH_DATABASE_URL" in line
    assert "pw-never-shown" not in checkup.output


async def test_sqlite_before_its_first_start(tmp_path: Path) -> None:
    checkup = await _doctor(_settings(tmp_path))
    assert checkup.code == 0, checkup.output
    assert checkup.finding("data folder") == f"ok   data folder: {tmp_path / 'data'} is writable"
    assert checkup.finding("database").startswith("warn database: no database yet at ")
    assert not (tmp_path / "data").exists()  # the doctor made nothing


# --------------------------------------------------------------------------- privacy


async def test_production_without_a_data_key_warns(tmp_path: Path) -> None:
    checkup = await _doctor(_settings(tmp_path, environment="production"))
    assert checkup.code == 0, checkup.output
    assert checkup.finding("data key").startswith(
        "warn data key: BREAKTHROUGH_DATA_KEY is not set, so answers and reflections are "
        "stored unencrypted: make a key with breakthrough db new-key"
    )
    checkup = await _doctor(_settings(tmp_path))
    assert checkup.finding("data key").startswith("ok   data key: no data key")


async def test_a_malformed_data_key_fails_without_showing_it(tmp_path: Path) -> None:
    good = new_key()
    checkup = await _doctor(
        _settings(tmp_path, data_key=good, old_data_keys=f"{new_key()},not-a-key-at-all")
    )
    assert checkup.code == 1
    line = checkup.finding("data key")
    assert line.startswith("FAIL data key: BREAKTHROUGH_OLD_DATA_KEYS (key 2 of 2) is not a valid")
    assert "breakthrough db new-key" in line
    assert "not-a-key-at-all" not in checkup.output
    assert good not in checkup.output


# --------------------------------------------------------------------------- settings


def test_a_malformed_variable_is_named_in_plain_words(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BREAKTHROUGH_METRICS_PORT", "ninety")
    monkeypatch.setenv("DISCORD_MESSAGE_CONTENT", "maybe")
    monkeypatch.setenv("SLACK_BOT_TOKEN", "xoxb-never-printed")
    for command_line in (["doctor"], ["sessions"], ["db", "upgrade"]):
        assert main(command_line) == 2
        said = capsys.readouterr()
        assert said.err.splitlines() == [
            "Breakthrough cannot start: some settings are not valid.",
            "  DISCORD_MESSAGE_CONTENT (it is 'maybe'): must be true or false",
            "  BREAKTHROUGH_METRICS_PORT (it is 'ninety'): must be a whole number",
            "Fix the environment variable (or its line in the .env file) and try again; "
            "docs/configuration.md describes every setting.",
        ]
        assert "xoxb-never-printed" not in said.out + said.err


def test_a_malformed_line_in_dotenv_is_named_too(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / ".env").write_text("BREAKTHROUGH_ENVIRONMENT=prod\n", encoding="utf-8")
    assert main(["doctor"]) == 2
    assert (
        "  BREAKTHROUGH_ENVIRONMENT (it is 'prod'): must be 'development' or 'production'"
        in capsys.readouterr().err
    )


async def test_an_unknown_time_zone_is_one_failed_check(tmp_path: Path) -> None:
    checkup = await _doctor(_settings(tmp_path, tz="Mars/Olympus"))
    assert checkup.code == 1
    assert checkup.finding("time zone").startswith(
        "FAIL time zone: BREAKTHROUGH_TZ: I don't recognise the time zone 'Mars/Olympus'"
    )
    assert "data key" in checkup.output  # the other checks still ran


# --------------------------------------------------------------------------- never leaks


async def test_no_secret_is_ever_printed(tmp_path: Path, slack: FakeSlack) -> None:
    """Every secret set, every check failing in its own way: none of the values shows."""
    slack.fail_next("auth.test", error="token_revoked")
    async with FakeDiscord(token="the-right-one") as discord:
        secrets = {
            "SLACK_BOT_TOKEN": "xoxb-secret-bot-9f8e7d",
            "SLACK_APP_TOKEN": "xapp-secret-app-6c5b4a",
            "SLACK_SIGNING_SECRET": "secret-signing-3a2b1c",
            "SLACK_CLIENT_SECRET": "secret-client-0d9e8f",
            "DISCORD_TOKEN": "secret-discord-7a6b5c",
            "data_key": "secret-data-key-4d3e2f",
            "old_data_keys": "secret-old-key-1a2b3c",
        }
        settings = _settings(
            tmp_path,
            database_url="postgresql+asyncpg://bt:secret-db-password@127.0.0.1:1/bt",
            SLACK_CLIENT_ID="111.222",
            SLACK_API_URL=slack.api_url,
            DISCORD_API_URL=discord.api_url,
            **secrets,
        )
        checkup = await _doctor(settings)
    assert checkup.code == 1
    for value in [*secrets.values(), "secret-db-password"]:
        assert value not in checkup.output
    assert "secret" not in checkup.output  # not even a fragment


def test_the_report_blanks_out_a_secret_whatever_says_it() -> None:
    out = io.StringIO()
    report = Report(out, secrets=["tok-123", "tok-123-longer", "", "t"])
    report.fail("Slack", "the server said: bad token tok-123-longer (and tok-123)")
    assert out.getvalue() == "FAIL Slack: the server said: bad token *** (and ***)\n"


# --------------------------------------------------------------------------- time limits


async def test_a_platform_that_never_answers_fails_within_the_time_limit(tmp_path: Path) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # read the request, answer nothing, until the client leaves
        writer.close()

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        settings = _settings(
            tmp_path,
            SLACK_BOT_TOKEN=BOT_TOKEN,
            SLACK_SIGNING_SECRET=SIGNING_SECRET,
            SLACK_API_URL=f"http://127.0.0.1:{port}/api/",
            DISCORD_TOKEN=DISCORD_TOKEN,
            DISCORD_API_URL=f"http://127.0.0.1:{port}/api/v10",
        )
        started = time.monotonic()
        checkup = await _doctor(settings, time_limit=0.5)
        elapsed = time.monotonic() - started
    finally:
        server.close()
        await server.wait_closed()
    assert checkup.code == 1
    assert checkup.finding("Slack bot token") == (
        f"FAIL Slack bot token: could not reach Slack at http://127.0.0.1:{port}/api/ (no answer "
        "within 0.5 s): check the network, a proxy or firewall"
    )
    assert checkup.finding("Discord token").startswith(
        f"FAIL Discord token: could not reach Discord at http://127.0.0.1:{port}/api/v10 (no answer"
    )
    assert elapsed < 3
    assert "Traceback" not in checkup.output
