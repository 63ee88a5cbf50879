"""``breakthrough doctor``: check a deployment before (or instead of) finding out in the logs.

Each check prints one line, ``ok``, ``warn`` or ``FAIL``, with what to do in plain words,
as it finishes (a slow network check shows where it is waiting). The exit code is 1 when
any check failed, so a deploy script can stop; warnings alone exit 0. Every line passes
through :class:`Report`, which blanks out the value of every secret setting, so neither a
token nor a key nor a database password can reach the terminal, whatever a check or a
library's error message says.

The platform checks (Slack, Discord) live in :mod:`bots.doctor_platforms`. This module also
turns a settings :class:`~pydantic.ValidationError` into plain words for every command
(:func:`explain_settings_error`), since ``Settings()`` fails before any command runs.
"""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path
from typing import Any, Literal, TextIO, get_args

from pydantic import SecretStr, ValidationError
from pydantic.fields import FieldInfo
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncEngine

from bots.db_schema import (
    CONNECT_TIMEOUT_SECONDS,
    database_problem,
    describe_failure,
    engine_for,
    masked_url,
    reach,
    schema_status,
)
from bots.logs import parse_log_level
from bots.settings import Settings
from core.language import UnknownTimeZone, zone
from core.store.engine import is_memory_database
from core.store.errors import InvalidDataKey, StoreError

__all__ = [
    "NETWORK_TIMEOUT_SECONDS",
    "Report",
    "explain_settings_error",
    "run_doctor",
    "setting_variable",
]

NETWORK_TIMEOUT_SECONDS = 5.0
"""How long each network check waits for an answer before saying there was none."""

Level = Literal["ok", "warn", "FAIL"]

_ENV_PREFIX = "BREAKTHROUGH_"
_SHORTEST_SECRET = 6


class Report:
    """The doctor's output: one line per finding, printed at once, secrets blanked out."""

    def __init__(self, out: TextIO, *, secrets: list[str]) -> None:
        self.out = out
        # Longest first, so a secret that contains another is blanked out whole. Values
        # shorter than any real token are left alone: blanking "t" would blank every "t".
        self._secrets = sorted(
            {s for s in secrets if len(s) >= _SHORTEST_SECRET}, key=len, reverse=True
        )
        self.counts: dict[Level, int] = {"ok": 0, "warn": 0, "FAIL": 0}

    def ok(self, topic: str, text: str) -> None:
        self._add("ok", topic, text)

    def warn(self, topic: str, text: str) -> None:
        self._add("warn", topic, text)

    def fail(self, topic: str, text: str) -> None:
        self._add("FAIL", topic, text)

    def say(self, text: str) -> None:
        """A line that is not a finding (the heading, the summary)."""
        print(self._redact(text), file=self.out, flush=True)

    @property
    def failed(self) -> bool:
        return self.counts["FAIL"] > 0

    def summary(self) -> None:
        ok, warn, fail = self.counts["ok"], self.counts["warn"], self.counts["FAIL"]
        warnings = f"{warn} warning{'s' if warn != 1 else ''}"
        if fail:
            problems = f"{fail} problem{'s' if fail != 1 else ''}"
            self.say(
                f"{ok} ok, {warnings}, {problems}: fix the FAIL lines above, then run "
                "breakthrough doctor again."
            )
        elif warn:
            self.say(
                f"{ok} ok, {warnings}: Breakthrough can run; the warn lines say what to improve."
            )
        else:
            self.say(f"All {ok} checks passed.")

    def _add(self, level: Level, topic: str, text: str) -> None:
        self.counts[level] += 1
        self.say(f"{level:<4} {topic}: {text}")

    def _redact(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


async def run_doctor(
    settings: Settings,
    *,
    engine: AsyncEngine | None = None,
    out: TextIO | None = None,
    time_limit: float = NETWORK_TIMEOUT_SECONDS,
) -> int:
    """Check everything ``settings`` configure; 1 if anything must be fixed, else 0.

    ``engine`` replaces the one made from the database URL (tests pass one that reaches
    a PostgreSQL schema of their own, which a URL cannot say).
    """
    from bots.doctor_platforms import check_discord, check_shards, check_slack

    report = Report(out or sys.stdout, secrets=secret_values(settings))
    platforms = settings.configured_platforms()
    report.say(
        f"Breakthrough doctor: {settings.environment} settings, "
        f"{' and '.join(p.capitalize() for p in platforms) or 'no chat platform'} configured"
    )
    _check_settings(settings, report)
    _check_time_zone(settings, report)
    await _check_database(settings, report, engine=engine, time_limit=time_limit)
    _check_data_key(settings, report)
    _check_retention(settings, report)
    if not platforms:
        level = report.warn if settings.environment == "production" else report.ok
        level(
            "platforms",
            "none configured, so `breakthrough` runs a console session; set SLACK_BOT_TOKEN "
            "or DISCORD_TOKEN for a chat bot (docs/configuration.md)",
        )
    if _slack_touched(settings):
        await check_slack(settings, report, time_limit=time_limit)
    if "discord" in platforms:
        await check_discord(settings, report, time_limit=time_limit)
    if settings.discord_shard_count is not None or settings.discord_shard_ids:
        check_shards(settings, report)
    report.summary()
    return 1 if report.failed else 0


def _slack_touched(settings: Settings) -> bool:
    """Whether any Slack setting is given: half a Slack configuration is worth a FAIL line."""
    return any(
        getattr(settings, name) is not None
        for name in Settings.model_fields
        if name.startswith("slack_") and name != "slack_api_url"
    )


def secret_values(settings: Settings) -> list[str]:
    """Every secret's value (and the database password), for :class:`Report` to blank out."""
    values: list[str] = []
    for name in Settings.model_fields:
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            values.append(value.get_secret_value())
    if settings.old_data_keys is not None:
        values += [k.strip() for k in settings.old_data_keys.get_secret_value().split(",")]
    try:
        password = make_url(settings.db_url).password
    except ArgumentError:  # an unparsable URL has no password to hide
        password = None
    if password:
        values.append(str(password))
    return [v for v in values if v]


# --------------------------------------------------------------------------- settings


def setting_variable(name: str) -> str:
    """The environment variable of the :class:`Settings` field ``name``."""
    alias = Settings.model_fields[name].validation_alias
    return alias if isinstance(alias, str) else f"{_ENV_PREFIX}{name.upper()}"


def explain_settings_error(error: ValidationError) -> str:
    """Plain words for settings that cannot be read, naming each variable to fix.

    The value given is shown so the typo is visible, except for secrets.
    """
    lines = ["Breakthrough cannot start: some settings are not valid."]
    for problem in error.errors():
        name = _field_named(str(problem["loc"][0])) if problem["loc"] else None
        variable = (
            setting_variable(name) if name else str(problem["loc"][0] if problem["loc"] else "")
        )
        said = ""
        if name is None or not _is_secret(Settings.model_fields[name]):
            value = str(problem.get("input", ""))
            said = f" (it is {value[:60]!r})"
        lines.append(f"  {variable}{said}: {_plain(problem)}")
    lines.append(
        "Fix the environment variable (or its line in the .env file) and try again; "
        "docs/configuration.md describes every setting."
    )
    return "\n".join(lines)


def _field_named(loc: str) -> str | None:
    """The field a validation error's location names: the field itself or its alias."""
    if loc in Settings.model_fields:
        return loc
    for name, field in Settings.model_fields.items():
        if field.validation_alias == loc:
            return name
    return None


def _is_secret(field: FieldInfo) -> bool:
    return field.annotation is SecretStr or SecretStr in get_args(field.annotation)


def _plain(problem: Any) -> str:
    kind, ctx = problem["type"], problem.get("ctx") or {}
    plain = {
        "int_parsing": "must be a whole number",
        "int_from_float": "must be a whole number",
        "float_parsing": "must be a number",
        "bool_parsing": "must be true or false",
        "literal_error": f"must be {ctx.get('expected')}",
        "greater_than_equal": f"must be at least {ctx.get('ge')}",
        "greater_than": f"must be more than {ctx.get('gt')}",
        "less_than_equal": f"must be at most {ctx.get('le')}",
        "less_than": f"must be less than {ctx.get('lt')}",
    }.get(kind)
    if plain is not None:
        return plain
    message = str(problem["msg"])
    return message[:1].lower() + message[1:]


def _check_settings(settings: Settings, report: Report) -> None:
    dotenv = Path(".env")
    if dotenv.is_file():
        report.ok("settings", "read from the environment and .env in this folder (variables win)")
        if dotenv.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            report.warn(
                "settings",
                ".env can be read by other users of this machine and may hold tokens: "
                "run chmod 600 .env",
            )
    else:
        report.ok("settings", "read from the environment (no .env file in this folder)")
    try:
        parse_log_level(settings.log_level)
    except ValueError as exc:  # its message names the variable and the levels there are
        report.fail("settings", str(exc))


def _check_time_zone(settings: Settings, report: Report) -> None:
    try:
        zone(settings.tz)
    except UnknownTimeZone as exc:
        report.fail("time zone", f"BREAKTHROUGH_TZ: {exc}")
        return
    report.ok("time zone", f"{settings.tz} (for people whose own zone is not known yet)")


# --------------------------------------------------------------------------- database


async def _check_database(
    settings: Settings, report: Report, *, engine: AsyncEngine | None, time_limit: float
) -> None:
    url = settings.db_url
    if engine is None:
        problem = database_problem(url)
        if problem is not None:
            report.fail("database", problem)
            return
        if not _check_sqlite_file(url, report):
            return
    own = engine is None
    engine = engine or engine_for(url)
    where = masked_url(url) if own else "the database"
    try:
        try:
            await reach(engine, time_limit=min(time_limit, CONNECT_TIMEOUT_SECONDS))
            status = await schema_status(engine)
        except (StoreError, SQLAlchemyError, OSError, TimeoutError) as exc:
            report.fail(
                "database",
                f"cannot reach {where}: {describe_failure(exc, time_limit=time_limit)}; check "
                "BREAKTHROUGH_DATABASE_URL and that the database server is running",
            )
            return
    finally:
        if own:
            await engine.dispose()
    report.ok("database", f"{where} answers")
    if status.state == "newest":
        report.ok("schema", f"at {status.head}, the newest this release knows")
    elif status.state == "empty":
        report.warn(
            "schema",
            f"the database has no tables yet: run breakthrough db upgrade (the bot also "
            f"migrates to {status.head} when it starts)",
        )
    elif status.state == "behind":
        report.warn(
            "schema",
            f"at {status.current}, this release needs {status.head}: run breakthrough db "
            "upgrade (the bot also migrates when it starts)",
        )
    else:
        report.fail(
            "schema",
            f"at {status.current}, newer than this release knows ({status.head}): a newer "
            "Breakthrough migrated it. Deploy the newer release (or restore a backup); "
            "this one refuses to start against it",
        )


def _check_sqlite_file(url: str, report: Report) -> bool:
    """Check a SQLite database's folder can be written; ``False`` when there is no file
    to connect to yet (connecting would create it)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return True
    if is_memory_database(parsed):
        report.warn(
            "database", "an in-memory SQLite database: everything is lost when the bot stops"
        )
        return True
    database = parsed.database or ""
    if database.startswith("file:"):
        return True
    path = Path(database).expanduser()
    folder = path.parent
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        report.fail(
            "data folder",
            f"cannot write in {existing}: set BREAKTHROUGH_DATA_DIR to a folder this user "
            "can write, or fix its permissions",
        )
        return False
    if path.exists() and not os.access(path, os.R_OK | os.W_OK):
        report.fail("data folder", f"cannot write the database file {path}: fix its permissions")
        return False
    report.ok("data folder", f"{folder} is writable")
    if not path.exists():
        report.warn(
            "database",
            f"no database yet at {path}: the bot makes it when it starts (or run "
            "breakthrough db upgrade)",
        )
        return False
    return True


# --------------------------------------------------------------------------- privacy


def _check_data_key(settings: Settings, report: Report) -> None:
    from core.store.sealed import parse_keys

    try:
        keyring = parse_keys(settings.data_key, settings.old_data_keys)
    except InvalidDataKey as exc:  # its message names the setting, never the value
        report.fail("data key", str(exc))
        return
    if keyring.writes:
        report.ok("data key", keyring.describe())
    elif settings.environment == "production":
        report.warn(
            "data key",
            "BREAKTHROUGH_DATA_KEY is not set, so answers and reflections are stored "
            "unencrypted: make a key with breakthrough db new-key, keep a copy somewhere "
            "safe, and set it",
        )
    else:
        report.ok("data key", f"{keyring.describe()} (set BREAKTHROUGH_DATA_KEY in production)")
    if keyring.ids and not keyring.writes:
        report.warn(
            "data key",
            "BREAKTHROUGH_OLD_DATA_KEYS is set without BREAKTHROUGH_DATA_KEY: old answers "
            "can be read, new ones are stored unencrypted",
        )


def _check_retention(settings: Settings, report: Report) -> None:
    if settings.retention_days is None:
        report.ok(
            "retention",
            "finished sessions are kept until someone deletes them (set "
            "BREAKTHROUGH_RETENTION_DAYS to delete old ones)",
        )
    else:
        report.ok(
            "retention",
            f"finished sessions older than {settings.retention_days} days are deleted",
        )
