"""Logging for every ``breakthrough`` command: JSON lines in production, text in a terminal.

What is logged is decided where it is logged: our code logs ids, counts, kinds and
exception types, never a person's words, topics, display names or tokens. This module
adds the nets for what we do not write ourselves:

* Libraries that log request and response bodies (and headers) at DEBUG (slack_sdk,
  slack_bolt, discord.py, aiohttp, aiosqlite, asyncpg, websockets) are held at INFO, and
  SQLAlchemy (whose INFO is its SQL echo) at WARNING, even with
  ``BREAKTHROUGH_LOG_LEVEL=DEBUG``: a DEBUG bot must not write everyone's answers to
  disk. To debug one of them, name it: ``BREAKTHROUGH_LOG_LEVEL=DEBUG,slack_sdk=DEBUG``.
  The hold is a filter on our handler, not only a logger level, because slack_bolt
  copies the root's level onto each logger it creates.
* An exception is logged as its type, the driver's SQLSTATE if any, and its stack (file,
  line, function, source line), without its message: messages carry the values that
  failed (PostgreSQL's "Failing row contains (...)", ``invalid literal for int(): '...'``).
  An exception passed as a ``%s`` argument is logged as its type too.
* Slack and Discord tokens, ``Authorization`` values and OAuth ``code=``/``state=``
  query values are masked in every line, whoever wrote it.
"""

from __future__ import annotations

import json
import logging
import os
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any, Final, TextIO

from bots.settings import Settings

__all__ = [
    "HELD_AT_INFO",
    "HELD_AT_WARNING",
    "JsonFormatter",
    "LibraryHold",
    "TextFormatter",
    "configure_logging",
    "exception_text",
    "parse_log_level",
    "redact",
    "uses_json",
]

HELD_AT_INFO: Final = (
    "slack_bolt",
    "slack_sdk",
    "discord",
    "aiohttp",
    "aiosqlite",
    "asyncpg",
    "websockets",
)
"""Libraries whose DEBUG records carry request or response bodies, or SQL parameters."""

HELD_AT_WARNING: Final = ("sqlalchemy",)
"""SQLAlchemy's INFO is the SQL echo: every statement of every turn."""

_MASKS: Final = (
    (re.compile(r"\bxox[abeoprs]-[A-Za-z0-9-]+"), "xox*-***"),
    (re.compile(r"\bxapp-[A-Za-z0-9-]+"), "xapp-***"),
    # A Discord bot token: base64 user id, timestamp, HMAC.
    (re.compile(r"\b[MNO][A-Za-z\d_-]{23,27}\.[A-Za-z\d_-]{6,7}\.[A-Za-z\d_-]{27,40}\b"), "***"),
    (
        re.compile(r"(?i)(authorization['\"]?\s*[:=]\s*['\"]?)(bot|bearer|basic)?\s*[^\s'\",}]+"),
        r"\1***",
    ),
    (re.compile(r"([?&](?:code|state|token|client_secret)=)[^&\s\"']+"), r"\1***"),
)

_RESERVED: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
    "taskName",
}


def redact(text: str) -> str:
    """``text`` with tokens, authorization values and OAuth codes masked."""
    for pattern, mask in _MASKS:
        text = pattern.sub(mask, text)
    return text


def _exception_name(exc: BaseException) -> str:
    cls = exc.__class__
    name = (
        cls.__qualname__ if cls.__module__ == "builtins" else f"{cls.__module__}.{cls.__qualname__}"
    )
    state = getattr(exc, "sqlstate", None) or getattr(getattr(exc, "orig", None), "sqlstate", None)
    return f"{name} (SQLSTATE {state})" if state else name


def exception_text(exc: BaseException) -> str:
    """A traceback of ``exc`` and its causes with every message left out."""
    chain: list[tuple[BaseException, str]] = []
    seen: set[int] = set()
    current: BaseException | None = exc
    link = ""
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        chain.append((current, link))
        if current.__cause__ is not None:
            current, link = current.__cause__, "The above exception was the direct cause of:\n"
        elif current.__context__ is not None and not current.__suppress_context__:
            current, link = current.__context__, "During handling of the above exception:\n"
        else:
            current = None
    parts: list[str] = []
    following = ""
    for item, link in reversed(chain):
        if following:
            parts.append(following)
        if item.__traceback__ is not None:
            parts.append("Traceback (most recent call last):\n")
            parts.extend(
                traceback.StackSummary.extract(traceback.walk_tb(item.__traceback__)).format()
            )
        parts.append(f"{_exception_name(item)} (message not logged)\n")
        following = link
    return "".join(parts).rstrip("\n")


def _safe_arg(value: object) -> object:
    return _exception_name(value) if isinstance(value, BaseException) else value


def _exc_of(record: logging.LogRecord) -> BaseException | None:
    info = record.exc_info
    if isinstance(info, tuple) and len(info) == 3 and isinstance(info[1], BaseException):
        return info[1]
    return None


def _extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: _safe_arg(v) for k, v in record.__dict__.items() if k not in _RESERVED}


class LibraryHold(logging.Filter):
    """Drops the held libraries' records below their floor (see the module docstring),
    except from loggers named in the level setting; also turns exception arguments into
    their type names, so ``log.warning("failed: %s", exc)`` cannot quote a value."""

    def __init__(self, named: dict[str, int] | None = None) -> None:
        super().__init__()
        self.named = dict(named or {})
        floors = [(p, logging.INFO) for p in HELD_AT_INFO]
        floors += [(p, logging.WARNING) for p in HELD_AT_WARNING]
        self._floors = floors
        self._paths = [(f"{os.sep}{p}{os.sep}", floor) for p, floor in floors]

    def _floor(self, record: logging.LogRecord) -> int:
        name = record.name
        for named in self.named:
            if name == named or name.startswith(f"{named}."):
                return logging.NOTSET
        for prefix, floor in self._floors:
            if name == prefix or name.startswith(f"{prefix}."):
                return floor
        # Loggers a library names after something else (slack_bolt names its app
        # logger after the file that built the app): known by where they were called.
        path = record.pathname
        if "site-packages" in path:
            for part, floor in self._paths:
                if part in path:
                    return floor
        return logging.NOTSET

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < self._floor(record):
            return False
        if isinstance(record.args, tuple):
            record.args = tuple(_safe_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _safe_arg(v) for k, v in record.args.items()}
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ``time`` (UTC, ISO 8601), ``level``, ``logger``,
    ``message``, ``exception`` (when there is one), then the record's ``extra`` fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        exc = _exc_of(record)
        if exc is not None:
            entry["exception"] = exception_text(exc)
        if record.stack_info:
            entry["stack"] = record.stack_info
        for key, value in _extras(record).items():
            entry[key if key not in entry else f"extra_{key}"] = value
        return redact(json.dumps(entry, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...`` and the exception below, for people."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = f"{self.formatTime(record)} {record.levelname} {record.name}: {record.getMessage()}"
        extras = _extras(record)
        if extras:
            line += " " + " ".join(f"{k}={v}" for k, v in extras.items())
        exc = _exc_of(record)
        if exc is not None:
            line += "\n" + exception_text(exc)
        if record.stack_info:
            line += "\n" + record.stack_info
        return redact(line)


def parse_log_level(value: str) -> tuple[int, dict[str, int]]:
    """``BREAKTHROUGH_LOG_LEVEL``: a level for everything, then ``logger=LEVEL`` pairs,
    comma-separated (``INFO,slack_sdk=DEBUG``). Raises ``ValueError`` in plain words."""
    root = logging.WARNING
    named: dict[str, int] = {}
    for part in (p.strip() for p in value.split(",")):
        if not part:
            continue
        name, _, level_name = part.rpartition("=")
        level = logging.getLevelNamesMapping().get(level_name.strip().upper())
        if level is None:
            raise ValueError(
                f"BREAKTHROUGH_LOG_LEVEL: {level_name.strip()!r} is not a level; use DEBUG, "
                "INFO, WARNING or ERROR (e.g. INFO, or INFO,slack_sdk=DEBUG)."
            )
        if name.strip():
            named[name.strip()] = level
        else:
            root = level
    return root, named


def uses_json(settings: Settings, stream: TextIO) -> bool:
    """JSON when asked, or with ``auto`` in production or when nobody reads a terminal."""
    if settings.log_format != "auto":
        return settings.log_format == "json"
    if settings.environment == "production":
        return True
    isatty = getattr(stream, "isatty", None)
    return not (callable(isatty) and isatty())


class _Handler(logging.StreamHandler[TextIO]):
    """Ours, so :func:`configure_logging` can replace it and leave others alone."""

    def handleError(self, record: logging.LogRecord) -> None:
        # The default prints the record's arguments to stderr: the one place they
        # could still escape. Say which logger failed, nothing else.
        sys.stderr.write(f"--- a log record of {record.name} could not be written\n")


def configure_logging(settings: Settings, *, stream: TextIO | None = None) -> logging.Handler:
    """Send every log record through our formatter and filter to ``stream`` (stderr).

    Called once by ``breakthrough`` before anything logs; calling it again replaces the
    handler it installed (tests do). Returns that handler.
    """
    stream = stream if stream is not None else sys.stderr
    level, named = parse_log_level(settings.log_level)
    handler = _Handler(stream)
    handler.setFormatter(JsonFormatter() if uses_json(settings, stream) else TextFormatter())
    handler.addFilter(LibraryHold(named))
    root = logging.getLogger()
    for old in [h for h in root.handlers if isinstance(h, _Handler)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(level)
    # The same floors as logger levels, so held libraries do not even build the records.
    for prefix in HELD_AT_INFO:
        logging.getLogger(prefix).setLevel(max(level, logging.INFO))
    for prefix in HELD_AT_WARNING:
        logging.getLogger(prefix).setLevel(max(level, logging.WARNING))
    for name, named_level in named.items():
        logging.getLogger(name).setLevel(named_level)
    return handler
