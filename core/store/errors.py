"""The store's exceptions: one root, so callers can catch every storage failure at once."""

from __future__ import annotations

from core.errors import BreakthroughError

__all__ = [
    "DataKeyError",
    "InvalidDataKey",
    "InvalidRecord",
    "ReadFailed",
    "SchemaTooNew",
    "SealBroken",
    "StoreClosed",
    "StoreError",
    "UnknownDataKey",
    "UnsupportedDatabase",
    "WriteFailed",
    "error_name",
]


class StoreError(BreakthroughError):
    """Base of every error raised on purpose by :mod:`core.store`."""


class SchemaTooNew(StoreError):
    """The database was migrated by a newer release than this one.

    Raised instead of running against tables whose shape this code does not know; the
    fix is to deploy the newer release (or restore a backup), never to downgrade blindly.
    """


class UnsupportedDatabase(StoreError):
    """The URL names a database other than SQLite or PostgreSQL."""


class StoreClosed(StoreError):
    """The store was closed; its writer has flushed and its connections are released."""


class InvalidRecord(StoreError, ValueError):
    """A record cannot be stored as given (for example a naive ``datetime``).

    Raised to the caller before the write is queued, so it never spoils a group commit.
    """


class WriteFailed(StoreError):
    """This caller's write was not committed; ``__cause__`` holds the database error.

    When a commit's outcome is unknown (the connection dropped during ``COMMIT``) this is
    raised too: a caller may be told "failed" for a write that landed, never the reverse.
    """


class ReadFailed(StoreError):
    """A read could not be answered; ``__cause__`` holds the database error."""


class DataKeyError(StoreError):
    """Answers at rest cannot be sealed or opened as configured (see :mod:`core.store.sealed`).

    Its message is written for the operator and names the setting to fix; it never
    contains a key or the value that failed.
    """


class InvalidDataKey(DataKeyError, ValueError):
    """``BREAKTHROUGH_DATA_KEY`` or ``BREAKTHROUGH_OLD_DATA_KEYS`` is not a data key."""


class UnknownDataKey(DataKeyError):
    """A stored value was sealed with a key that is not configured (not even as an old one)."""


class SealBroken(DataKeyError):
    """A sealed value failed its integrity check: changed outside Breakthrough, copied
    from another column, or damaged. Raised instead of returning anything from it."""


def error_name(exc: BaseException) -> str:
    """The exception's type and the driver's SQLSTATE, which say what went wrong without
    quoting any value (``IntegrityError, SQLSTATE 23505``): a database error's message can
    quote a row, which holds someone's words."""
    state = getattr(getattr(exc, "orig", None), "sqlstate", None)
    return f"{exc.__class__.__name__}, SQLSTATE {state}" if state else exc.__class__.__name__
