"""What the store tests' ``database`` fixture hands out (the fixtures are in conftest)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine

from core.store.engine import make_engine
from core.store.repository import SqlStore

__all__ = ["Database"]


@dataclass(frozen=True, slots=True)
class Database:
    """A database a test may use: its URL plus what the URL cannot say."""

    kind: str
    url: str
    connect_args: dict[str, Any] = field(default_factory=dict)

    def engine(self) -> AsyncEngine:
        """A new engine on this database; the test disposes it."""
        return make_engine(self.url, connect_args=dict(self.connect_args))

    async def open_store(self, *, migrate: bool = True) -> SqlStore:
        """A new store on this database; the test closes it."""
        return await SqlStore.open(self.url, migrate=migrate, connect_args=dict(self.connect_args))
