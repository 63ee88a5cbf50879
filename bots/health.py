"""Readiness: whether this process should be given work now, and if not, what is missing.

A load balancer or an orchestrator asks ``/readyz`` (see :mod:`bots.observability`) and
sends work only while every check passes: the database answers ``SELECT 1`` within a
second, the chat platform this process serves is connected, and the process is not
shutting down. Kept apart from the HTTP server and from Prometheus so the runtime can
hold one without loading either (the console never serves it).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from core.store.repository import SqlStore

__all__ = ["DATABASE_TIMEOUT", "Health", "Probe", "Readiness", "database_probe"]

DATABASE_TIMEOUT = 1.0
"""Seconds a readiness check waits for the database (and for the platform check)."""

Probe = Callable[[], Awaitable[bool]]
"""An async check: ``True`` when the thing it looks at works."""


@dataclass(frozen=True, slots=True)
class Readiness:
    """The answer of :meth:`Health.check`: each check's name and ``ok`` or what is wrong.

    The words are fixed phrases (never an exception's message), so ``/readyz`` can show
    them to anyone who can reach the port.
    """

    checks: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        return all(state == "ok" for state in self.checks.values())

    @property
    def not_ready(self) -> list[str]:
        return [name for name, state in self.checks.items() if state != "ok"]


def database_probe(store: SqlStore) -> Probe:
    """``SELECT 1`` through the store's connection discipline (its pool, and on an
    in-memory SQLite database its lock), so the check sees what a turn would see."""

    async def probe() -> bool:
        async with store.connection() as conn:
            await conn.exec_driver_sql("SELECT 1")
        return True

    return probe


class Health:
    """What readiness depends on; the runtime holds one, the bot's services update it.

    The lifecycle, in order: the runtime opens with the database probe; a chat bot calls
    :meth:`expect_platform` before it connects and :meth:`platform_connected` once it
    is; the shutdown path calls :meth:`shutting_down` first thing on SIGTERM, so the load
    balancer stops sending work while in-flight turns finish.
    """

    def __init__(self, *, database: Probe | None = None, timeout: float = DATABASE_TIMEOUT) -> None:
        self.database = database
        self.timeout = timeout
        self._platform_name: str | None = None
        self._platform: Probe | None = None
        self._stopping = False

    def expect_platform(self, name: str) -> None:
        """This process serves ``name``: not ready until :meth:`platform_connected`."""
        self._platform_name = name
        self._platform = None

    def platform_connected(self, probe: Probe) -> None:
        """The platform is connected; ``probe`` tells, at each check, whether it still is
        (a gateway or socket can drop and reconnect)."""
        if self._platform_name is None:
            raise RuntimeError("platform_connected() before expect_platform()")
        self._platform = probe

    def shutting_down(self) -> None:
        """From now on not ready, for good: called when SIGTERM (or Ctrl-C) arrives."""
        self._stopping = True

    async def check(self) -> Readiness:
        """Run every check (concurrently, each bounded by ``timeout``)."""
        names: list[str] = []
        probes: list[Awaitable[str]] = []
        if self.database is not None:
            names.append("database")
            probes.append(self._run(self.database, failed="unreachable"))
        if self._platform_name is not None:
            names.append(self._platform_name)
            if self._platform is None:
                probes.append(_fixed("not connected yet"))
            else:
                probes.append(self._run(self._platform, failed="not connected"))
        states = list(await asyncio.gather(*probes))
        checks = dict(zip(names, states, strict=True))
        checks["shutdown"] = "shutting down" if self._stopping else "ok"
        return Readiness(checks)

    async def _run(self, probe: Probe, *, failed: str) -> str:
        try:
            async with asyncio.timeout(self.timeout):
                return "ok" if await probe() else failed
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except Exception:
            # The reason stays out of the answer: a driver's message can name hosts and
            # users, and this endpoint is not authenticated. The log of the failing
            # component has the details.
            return failed


async def _fixed(state: str) -> str:
    return state
