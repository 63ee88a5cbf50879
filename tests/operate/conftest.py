"""Fixtures for the operator's commands: a clean environment.

``doctor`` and ``db upgrade`` read everything from the environment, so each test starts
from one with no Breakthrough, Slack or Discord variables and no ``.env`` (the working
directory is the test's own folder). Tests that, like an operator, can only give a URL
take ``database_url`` (tests/conftest.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

_PREFIXES = ("BREAKTHROUGH_", "SLACK_", "DISCORD_")


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[None]:
    for name in list(os.environ):
        if name.startswith(_PREFIXES):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    yield
