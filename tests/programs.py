"""The environment a test gives ``breakthrough`` when it runs it in a process of its own.

The developer's own settings must not leak in: a ``SLACK_BOT_TOKEN`` or a
``BREAKTHROUGH_DATABASE_URL`` in the shell would point the program at a real workspace or
database. So every Breakthrough, Slack and Discord variable is dropped, and the test says
what it wants instead. A test then reads the database it named, which proves the
program used it (and not a default of its own).
"""

from __future__ import annotations

import os
from pathlib import Path

from core.store.repository import SqlStore

__all__ = ["program_env", "session_topics"]

_OURS = ("BREAKTHROUGH_", "SLACK_", "DISCORD_")


def program_env(
    tmp_path: Path, *, database_url: str | None = None, tz: str = "Europe/London", **extra: str
) -> dict[str, str]:
    """This process's environment without our settings, then these.

    Without ``database_url`` the program uses its default, a SQLite file in its data
    directory (``tmp_path / "data"``). The metrics port is off unless given in ``extra``:
    tests run side by side, and two programs of one test (a restart) must not race for it.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith(_OURS)}
    env.update(
        BREAKTHROUGH_DATA_DIR=str(tmp_path / "data"),
        BREAKTHROUGH_TZ=tz,
        BREAKTHROUGH_METRICS_PORT="0",
    )
    if database_url is not None:
        env["BREAKTHROUGH_DATABASE_URL"] = database_url
    env.update(extra)
    return env


async def session_topics(database_url: str) -> list[str]:
    """The topics of the sessions a program left in this database, newest first."""
    store = await SqlStore.open(database_url, migrate=False)
    try:
        return [session.topic for session in await store.list_sessions()]
    finally:
        await store.close()
