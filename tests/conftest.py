"""Fixtures shared by every test folder: a fixed clock, people, places, a coach."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from core.dialogue.coach import Coach
from core.dialogue.model import Actor, Place
from core.methods.loader import MethodLibrary
from core.testing import FakeClock, MemoryStore

START = datetime(2026, 11, 21, 10, 0, tzinfo=UTC)  # a Saturday


@pytest.fixture(scope="session")
def methods() -> MethodLibrary:
    return MethodLibrary.load()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(START)


@pytest.fixture
def memory_store() -> MemoryStore:
    return MemoryStore()


@pytest.fixture
def coach(memory_store: MemoryStore, methods: MethodLibrary) -> Coach:
    return Coach(store=memory_store, methods=methods, default_tz="Europe/London")


@pytest.fixture
def ann() -> Actor:
    return Actor(
        platform="console", workspace="local", user_id="ann", display_name="Ann", tz="Europe/London"
    )


@pytest.fixture
def place() -> Place:
    return Place(platform="console", workspace="local", channel="terminal", thread="t1")
