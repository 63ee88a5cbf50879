"""Log lines as an operator reads them: JSON that parses, text in a terminal, and the nets
that keep a library's bodies, an exception's message and a token out of them."""

from __future__ import annotations

import io
import json
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bots.logs import configure_logging, parse_log_level
from bots.settings import Settings
from core.store.engine import make_engine
from tests.databases import Database

pytestmark = pytest.mark.usefixtures("restore_logging")


class Terminal(io.StringIO):
    """Standard error as a person at a terminal has it."""

    def isatty(self) -> bool:
        return True


def _settings(**values: Any) -> Settings:
    return Settings(**values)


def _lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_json_lines_parse_and_carry_time_level_logger_message_and_extra_fields() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="INFO"), stream=out)
    logging.getLogger("core.schedule.dispatcher").warning(
        "nudge %s refused by the platform", "checkin", extra={"session": "s1", "attempts": 2}
    )
    logging.getLogger("core.schedule.dispatcher").debug("not at INFO")
    [line] = _lines(out)
    assert line["level"] == "WARNING"
    assert line["logger"] == "core.schedule.dispatcher"
    assert line["message"] == "nudge checkin refused by the platform"
    assert line["session"] == "s1" and line["attempts"] == 2
    assert line["time"].endswith("+00:00") and "T" in line["time"]


def test_an_exception_is_logged_as_its_type_and_stack_without_its_message() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), stream=out)
    answer = " ".join(["my", "secret", "answer"])  # not in any source line the stack shows
    try:
        try:
            int(answer)
        except ValueError as exc:
            raise RuntimeError(f"wrapping {answer}") from exc
    except RuntimeError:
        logging.getLogger("adapters.tasks").exception("handling a Slack message failed")
    [line] = _lines(out)
    assert line["message"] == "handling a Slack message failed"
    assert "secret" not in json.dumps(line)
    trace = line["exception"]
    assert "ValueError (message not logged)" in trace
    assert "RuntimeError (message not logged)" in trace
    assert "direct cause" in trace
    assert "test_logs.py" in trace and "in test_an_exception_is_logged" in trace


def test_an_exception_passed_as_an_argument_is_logged_as_its_type() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), stream=out)
    logging.getLogger("somewhere").warning("failed: %s", KeyError("Fix the login bug"))
    [line] = _lines(out)
    assert line["message"] == "failed: KeyError"


async def test_a_refused_write_logs_neither_its_parameters_nor_the_failing_row(
    database: Database,
) -> None:
    """PostgreSQL quotes the whole row in a constraint error ("Failing row contains
    (...)") and SQLAlchemy would add the parameters: neither may reach a log line."""
    out = io.StringIO()
    configure_logging(_settings(log_format="json"), stream=out)
    engine = make_engine(database.url, connect_args=dict(database.connect_args))
    secret = " ".join(["Fix", "the", "marmalade", "bug"])
    try:
        async with engine.connect() as conn:
            await conn.exec_driver_sql("CREATE TEMPORARY TABLE t (a TEXT, b INTEGER NOT NULL)")
            with pytest.raises(DBAPIError) as refused:
                await conn.execute(text("INSERT INTO t VALUES (:a, :b)"), {"a": secret, "b": None})
    finally:
        await engine.dispose()
    assert secret not in str(refused.value)  # hide_parameters
    try:
        raise refused.value
    except DBAPIError:
        logging.getLogger("core.store.repository").exception("a group commit failed")
    [line] = _lines(out)
    assert "marmalade" not in out.getvalue()
    assert "IntegrityError" in line["exception"]
    if database.kind == "postgresql":
        assert "SQLSTATE 23502" in line["exception"]  # not_null_violation: still diagnosable


def test_text_in_a_terminal_json_when_nobody_watches_or_in_production() -> None:
    terminal = Terminal()
    configure_logging(_settings(log_level="INFO"), stream=terminal)
    logging.getLogger("bots.slack").info("listening", extra={"port": 3000})
    [line] = terminal.getvalue().splitlines()
    assert line.endswith(" INFO bots.slack: listening port=3000")
    with pytest.raises(json.JSONDecodeError):
        json.loads(line)

    piped = io.StringIO()  # not a tty: a container's log collector
    configure_logging(_settings(log_level="INFO"), stream=piped)
    logging.getLogger("bots.slack").info("listening")
    assert _lines(piped)[0]["message"] == "listening"

    production = Terminal()
    configure_logging(_settings(log_level="INFO", environment="production"), stream=production)
    logging.getLogger("bots.slack").info("listening")
    assert _lines(production)[0]["message"] == "listening"

    forced = Terminal()
    configure_logging(
        _settings(log_level="INFO", environment="production", log_format="text"), stream=forced
    )
    logging.getLogger("bots.slack").info("listening")
    assert "INFO bots.slack: listening" in forced.getvalue()


def test_debug_holds_the_libraries_that_log_bodies_unless_one_is_named() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="DEBUG"), stream=out)
    logging.getLogger("slack_sdk.web.async_base_client").debug("Sending a request - body: words")
    logging.getLogger("discord.gateway").debug("WebSocket Event: words")
    logging.getLogger("sqlalchemy.engine.Engine").info("INSERT ... words")
    logging.getLogger("discord.gateway").info("Shard ID None has connected to Gateway")
    logging.getLogger("core.dialogue.coach").debug("turn committed")
    assert [line["message"] for line in _lines(out)] == [
        "Shard ID None has connected to Gateway",
        "turn committed",
    ]

    named = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="DEBUG,slack_sdk=DEBUG"), stream=named)
    logging.getLogger("slack_sdk.web.async_base_client").debug("Sending a request")
    logging.getLogger("discord.gateway").debug("WebSocket Event")
    assert [line["message"] for line in _lines(named)] == ["Sending a request"]


def test_a_library_logger_with_a_level_of_its_own_is_held_by_where_it_logs_from() -> None:
    """slack_bolt copies the root's level onto each logger it makes and names its app's
    logger after a file: the hold must not depend on logger levels or names."""
    out = io.StringIO()
    handler = configure_logging(_settings(log_format="json", log_level="DEBUG"), stream=out)
    record = logging.LogRecord(
        "slack.py",
        logging.DEBUG,
        "/venv/lib/python3.11/site-packages/slack_bolt/app/async_app.py",
        1,
        "body: %s",
        ("words",),
        None,
    )
    handler.handle(record)
    assert out.getvalue() == ""


def test_tokens_secrets_in_urls_and_authorization_headers_are_masked() -> None:
    out = io.StringIO()
    configure_logging(_settings(log_format="json", log_level="INFO"), stream=out)
    log = logging.getLogger("aiohttp.access")
    log.info('"GET /slack/oauth_redirect?code=1234.5678.abcd&state=xyz HTTP/1.1" 302')
    log.info("headers: {'Authorization': 'Bearer s3cr3t-value'}")
    log.info("login with MTA1234567890123456789012.GaBcDe.abcdefghijklmnopqrstuvwxyz12")
    log.info("token xoxb-1234-5678-abcdef and xapp-1-A0-12-ff")
    text = out.getvalue()
    secrets = ("1234.5678.abcd", "xyz", "s3cr3t", "MTA1234567890", "xoxb-1234", "xapp-1-A0")
    for secret in secrets:
        assert secret not in text
    assert "code=***" in text


def test_a_log_level_that_is_not_one_is_explained() -> None:
    assert parse_log_level("info,slack_sdk=debug") == (
        logging.INFO,
        {"slack_sdk": logging.DEBUG},
    )
    with pytest.raises(ValueError, match="'LOUD' is not a level; use DEBUG, INFO"):
        parse_log_level("LOUD")
