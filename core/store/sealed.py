"""Answers and reflections sealed at rest: AES-256-GCM under ``BREAKTHROUGH_DATA_KEY``.

A sealed value is text: ``bt1:<key id>:<urlsafe base64 of nonce + ciphertext>``. The key
id (the first 8 hex digits of the key's SHA-256) says which key opens it, so rotation is
a list: the current key seals, old keys still open, and ``breakthrough db rotate-key``
re-seals everything under the current one. The associated data is the column's name
(``sessions.state``): a value copied into another column does not open there, and GCM's
tag makes any change to a value an error rather than garbage.

Sealing happens in two :class:`~sqlalchemy.types.TypeDecorator` s on the columns that can
hold a person's words, so every query through the models (the turn path, export, forget)
seals and opens without knowing it. JSON columns stay JSON: a sealed value is stored as a
JSON string, and a plain one (a row written before a key was set) is still an object, so
both read. With no key configured values are written plain, as before.

The keyring belongs to an engine, not to the process: a type's hooks receive only the
value and the engine's :class:`~sqlalchemy.engine.Dialect` (execution options never reach
them), and each engine has its own dialect instance, so :func:`attach` files the keyring
under that instance. Several stores with different keys can then live in one process (the
tests do, and a rotation reads old keys while a bot writes new ones), and a global
setting could not be wrong for one of them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import re
import weakref
from collections.abc import Callable, Iterable
from typing import Any, Final, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import JSON, Column, Dialect, MetaData, Table, Text
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.types import TypeDecorator

from core.store.errors import InvalidDataKey, SealBroken, UnknownDataKey

__all__ = [
    "DATA_KEY_SETTING",
    "OLD_DATA_KEYS_SETTING",
    "PREFIX",
    "Keyring",
    "SealedJSON",
    "SealedText",
    "attach",
    "column_name",
    "is_sealed",
    "key_id",
    "keyring_of",
    "new_key",
    "parse_keys",
    "plain_read",
    "plain_stored",
    "sealed_columns",
]

PREFIX: Final = "bt1:"
"""Marks a sealed value and its format's version."""

_ESCAPE: Final = "bt0:"
"""Put before plain text that would otherwise look sealed (someone typed "bt1:..." with
no key set), so it reads back as the text it is and never as a value to open."""

DATA_KEY_SETTING: Final = "BREAKTHROUGH_DATA_KEY"
OLD_DATA_KEYS_SETTING: Final = "BREAKTHROUGH_OLD_DATA_KEYS"

_KEY_BYTES: Final = 32
_NONCE_BYTES: Final = 12
_TAG_BYTES: Final = 16
_KEY_TEXT = re.compile(r"[A-Za-z0-9_-]{43}=?")
_SEALED = re.compile(r"bt1:([0-9a-f]{8}):([A-Za-z0-9_-]+={0,2})")

_KEY_FORMAT = (
    "a data key is 32 random bytes written as 44 characters of URL-safe base64; "
    "make one with: breakthrough db new-key"
)


class _Secret(Protocol):
    """A setting that hides its value when printed (pydantic's ``SecretStr``)."""

    def get_secret_value(self) -> str: ...


def new_key() -> str:
    """A fresh random data key, as the text ``BREAKTHROUGH_DATA_KEY`` takes."""
    return base64.urlsafe_b64encode(os.urandom(_KEY_BYTES)).decode("ascii")


def key_id(key: bytes) -> str:
    """The public name of a key: it tells which key sealed a value, and reveals nothing."""
    return hashlib.sha256(key).hexdigest()[:8]


def is_sealed(value: str) -> bool:
    """Whether stored text is a sealed value (anything else is a plain, older value)."""
    return value.startswith(PREFIX)


def plain_stored(text: str) -> str:
    """Plain text as a text column stores it when nothing is sealed (see ``_ESCAPE``)."""
    return _ESCAPE + text if text.startswith((PREFIX, _ESCAPE)) else text


def plain_read(stored: str) -> str:
    """The inverse of :func:`plain_stored`, for a stored value that is not sealed."""
    return stored[len(_ESCAPE) :] if stored.startswith(_ESCAPE) else stored


class Keyring:
    """The data keys one store uses: ``current`` seals, every key opens.

    With no current key nothing is sealed; the old keys still open what they sealed.
    """

    __slots__ = ("_current", "_keys")

    def __init__(self, current: bytes | None = None, old: Iterable[bytes] = ()) -> None:
        keys: dict[str, AESGCM] = {}
        self._current: tuple[str, AESGCM] | None = None
        for index, key in enumerate([current, *old]):
            if key is None:
                continue
            if len(key) != _KEY_BYTES:
                raise InvalidDataKey(f"a data key must be {_KEY_BYTES} bytes, not {len(key)}")
            kid = key_id(key)
            aead = keys.setdefault(kid, AESGCM(key))
            if index == 0:
                self._current = (kid, aead)
        self._keys = keys

    @property
    def writes(self) -> bool:
        """Whether new values are sealed (a current key is set)."""
        return self._current is not None

    @property
    def current_id(self) -> str | None:
        """The id of the key that seals, or ``None``."""
        return self._current[0] if self._current else None

    @property
    def ids(self) -> tuple[str, ...]:
        """The ids of every key that opens, the current one first."""
        return tuple(self._keys)

    def describe(self) -> str:
        """One line for ``doctor`` and the logs: which keys, by id; never a key."""
        old = [kid for kid in self._keys if kid != self.current_id]
        olds = f"; {len(old)} old key(s) still read ({', '.join(old)})" if old else ""
        if self._current is None:
            return f"no data key: {'new ' if old else ''}answers are stored in plain text{olds}"
        return f"answers are encrypted with key {self._current[0]}{olds}"

    def seal(self, plaintext: str, column: str) -> str:
        """``plaintext`` sealed with the current key for ``column`` (its associated data)."""
        return self.sealer(column)(plaintext)

    def sealer(self, column: str) -> Callable[[str], str]:
        """:meth:`seal` for one column, for encoding many values in a loop."""
        if self._current is None:
            raise UnknownDataKey(f"no {DATA_KEY_SETTING} is set, so nothing can be encrypted")
        kid, aead = self._current
        head = f"{PREFIX}{kid}:"
        encrypt, urandom, b64 = aead.encrypt, os.urandom, base64.urlsafe_b64encode
        associated = column.encode("ascii")

        def seal(plaintext: str) -> str:
            nonce = urandom(_NONCE_BYTES)
            body = nonce + encrypt(nonce, plaintext.encode("utf-8"), associated)
            return head + b64(body).decode("ascii")

        return seal

    def open(self, value: str, column: str) -> str:
        """The plain text of a value :meth:`seal` made for ``column``.

        Raises :class:`UnknownDataKey` when no configured key has its id, and
        :class:`SealBroken` when it was changed, damaged or sealed for another column.
        """
        match = _SEALED.fullmatch(value)
        if match is None:
            raise SealBroken(
                f"a stored value in {column} looks encrypted but is damaged; "
                "restore it from a backup"
            )
        kid, body = match.groups()
        aead = self._keys.get(kid)
        if aead is None:
            raise _unknown(kid)
        try:
            raw = base64.urlsafe_b64decode(body)
        except (binascii.Error, ValueError):
            raw = b""
        if len(raw) < _NONCE_BYTES + _TAG_BYTES:
            raise SealBroken(
                f"a stored value in {column} (key id {kid}) is damaged; restore it from a backup"
            )
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], column.encode("ascii"))
        except InvalidTag:
            raise SealBroken(
                f"a stored value in {column} (key id {kid}) failed its integrity check: it "
                "was changed outside Breakthrough, copied from another column, or damaged"
            ) from None
        return plain.decode("utf-8")

    def sealed_with(self, value: str) -> str | None:
        """The key id of a sealed value, or ``None`` for a plain one."""
        match = _SEALED.fullmatch(value)
        return match.group(1) if match else None

    def check_opens(self, value: str) -> None:
        """Raise :class:`UnknownDataKey` if ``value`` is sealed with a key not here
        (without opening it: this checks the configuration, not the value)."""
        kid = self.sealed_with(value)
        if kid is not None and kid not in self._keys:
            raise _unknown(kid)


def _unknown(kid: str) -> UnknownDataKey:
    return UnknownDataKey(
        "answers in the database are encrypted with a key that is not configured "
        f"(key id {kid}): set {DATA_KEY_SETTING} or list the old key in "
        f"{OLD_DATA_KEYS_SETTING}"
    )


def parse_keys(current: _Secret | str | None, old: _Secret | str | None = None) -> Keyring:
    """The keyring the two settings describe (``old`` is comma-separated).

    Raises :class:`InvalidDataKey` naming the setting (and which of the old keys) that is
    not a key; the message never contains what was given.
    """
    current_text = _reveal(current).strip()
    old_texts = [part.strip() for part in _reveal(old).split(",")]
    old_texts = [text for text in old_texts if text]
    current_key = _decode(current_text, DATA_KEY_SETTING) if current_text else None
    old_keys: list[bytes] = []
    for position, text in enumerate(old_texts, start=1):
        where = OLD_DATA_KEYS_SETTING
        if len(old_texts) > 1:
            where += f" (key {position} of {len(old_texts)})"
        old_keys.append(_decode(text, where))
    return Keyring(current_key, old_keys)


def _reveal(value: _Secret | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return value.get_secret_value()


def _decode(text: str, setting: str) -> bytes:
    if not _KEY_TEXT.fullmatch(text):
        raise InvalidDataKey(f"{setting} is not a valid data key: {_KEY_FORMAT}")
    key = base64.urlsafe_b64decode(text if text.endswith("=") else text + "=")
    if len(key) != _KEY_BYTES:  # pragma: no cover - the pattern admits only 32 bytes
        raise InvalidDataKey(f"{setting} is not a valid data key: {_KEY_FORMAT}")
    return key


# -- the keyring of an engine ------------------------------------------------------------

_EMPTY: Final = Keyring()
_KEYRINGS: weakref.WeakKeyDictionary[Dialect, Keyring] = weakref.WeakKeyDictionary()


def attach(engine: AsyncEngine, keyring: Keyring) -> None:
    """Make ``keyring`` the one every statement on ``engine`` seals and opens with."""
    _KEYRINGS[engine.dialect] = keyring


def keyring_of(engine_or_dialect: AsyncEngine | Dialect) -> Keyring:
    """The keyring attached to the engine (an empty one, which seals nothing, if none)."""
    dialect = (
        engine_or_dialect.dialect
        if isinstance(engine_or_dialect, AsyncEngine)
        else engine_or_dialect
    )
    return _KEYRINGS.get(dialect, _EMPTY)


# -- the column types --------------------------------------------------------------------


class SealedText(TypeDecorator[str]):
    """A ``TEXT`` column whose values are sealed when the engine has a current key.

    ``column`` ("table.column") is the associated data. Only equality on the whole
    value is meaningless here (each seal has a fresh nonce), so nothing may filter or
    sort on such a column in SQL.
    """

    impl = Text
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None:
            return None
        keyring = _KEYRINGS.get(dialect)
        if keyring is None or not keyring.writes:
            return plain_stored(value)
        return keyring.seal(value, self.column)

    def process_result_value(self, value: str | None, dialect: Dialect) -> str | None:
        if value is None or not value.startswith("bt"):  # the cheap test, nearly always
            return value
        if value.startswith(PREFIX):
            return _KEYRINGS.get(dialect, _EMPTY).open(value, self.column)
        return plain_read(value)


class SealedJSON(TypeDecorator[Any]):
    """A JSON column whose values are sealed, as a JSON string, when the engine has a key.

    A plain value is a JSON object (these columns hold objects only), so a string that
    starts with :data:`PREFIX` is always a sealed one.
    """

    impl = JSON
    cache_ok = True

    def __init__(self, column: str) -> None:
        super().__init__()
        self.column = column

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        keyring = _KEYRINGS.get(dialect)
        if keyring is None or not keyring.writes:
            return value
        return keyring.seal(_dumps(value), self.column)

    def process_result_value(self, value: Any, dialect: Dialect) -> Any:
        if isinstance(value, str) and value.startswith(PREFIX):
            return json.loads(_KEYRINGS.get(dialect, _EMPTY).open(value, self.column))
        return value


_dumps = json.JSONEncoder().encode  # what json.dumps does, without its per-call checks


def sealed_columns(metadata: MetaData) -> dict[Table, list[Column[Any]]]:
    """Every sealed column, by table, in the metadata's dependency order."""
    found: dict[Table, list[Column[Any]]] = {}
    for table in metadata.sorted_tables:
        columns = [c for c in table.columns if isinstance(c.type, SealedText | SealedJSON)]
        if columns:
            found[table] = columns
    return found


def column_name(column: Column[Any]) -> str:
    """The associated data a sealed column uses ("table.column")."""
    kind = column.type
    assert isinstance(kind, SealedText | SealedJSON)
    return kind.column
