"""/healthz and /readyz as a load balancer sees them: not ready before the platform is
connected, when it drops, when the database is unreachable or silent, and once shutting
down; ready otherwise."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bots.discord import DiscordConfig, DiscordService
from bots.health import Health, database_probe
from bots.observability import Metrics, MetricsServer
from bots.runtime import Runtime
from bots.settings import Settings
from core.store.engine import make_engine
from core.store.repository import SqlStore
from core.testing import FakeClock
from tests.databases import Database
from tests.discord.fake_discord import FakeDiscord


async def _get(port: int, path: str) -> tuple[int, dict[str, Any]]:
    async with (
        aiohttp.ClientSession() as http,
        http.get(f"http://127.0.0.1:{port}{path}") as response,
    ):
        return response.status, await response.json()


@pytest.fixture
async def served() -> AsyncIterator[tuple[Health, int]]:
    """A server over a Health with no checks yet; the test adds them."""
    health = Health(timeout=0.3)
    server = MetricsServer(health=health, metrics=Metrics())
    port = await server.start(host="127.0.0.1", port=0)
    try:
        yield health, port
    finally:
        await server.close()


async def test_discord_is_ready_only_while_connected_and_not_shutting_down(
    database: Database, tmp_path: Path, clock: FakeClock
) -> None:
    async with FakeDiscord() as fake:
        with fake.patch_discord_py():
            settings = Settings(database_url=database.url, data_dir=tmp_path, tz="UTC")
            store = await database.open_store()
            runtime = await Runtime.open(settings, clock=clock, store=store)
            server = MetricsServer(health=runtime.health, metrics=Metrics())
            port = await server.start(host="127.0.0.1", port=0)
            config = DiscordConfig(
                token=fake.token, api_url=fake.api_url, gateway_url=fake.gateway_url
            )
            service = DiscordService.build(runtime, config, guild_ready_timeout=0.05)
            try:
                runtime.health.expect_platform("discord")
                status, body = await _get(port, "/readyz")
                assert status == 503
                assert body["not_ready"] == ["discord"]
                assert body["checks"] == {
                    "database": "ok",
                    "discord": "not connected yet",
                    "shutdown": "ok",
                }
                assert await _get(port, "/healthz") == (200, {"status": "ok"})

                runtime.health.platform_connected(service.connected)
                assert (await _get(port, "/readyz"))[0] == 503  # built, not logged in
                await service.start()
                status, body = await _get(port, "/readyz")
                assert (status, body["ready"]) == (200, True)

                # Discord ends the session for good (4004: the token was reset).
                await fake.close_connection(4004, "Authentication failed")
                await fake.wait_for(lambda: not service.client.ws.open)
                status, body = await _get(port, "/readyz")
                assert (status, body["checks"]["discord"]) == (503, "not connected")
            finally:
                runtime.health.shutting_down()
                status, body = await _get(port, "/readyz")
                assert (status, body["checks"]["shutdown"]) == (503, "shutting down")
                await service.close()
                await server.close()
                await runtime.close()


async def test_ready_when_the_database_answers_and_not_after_shutting_down(
    database: Database, served: tuple[Health, int]
) -> None:
    health, port = served
    store = await database.open_store()
    try:
        health.database = database_probe(store)
        assert await _get(port, "/readyz") == (
            200,
            {"ready": True, "checks": {"database": "ok", "shutdown": "ok"}},
        )
        health.shutting_down()
        status, body = await _get(port, "/readyz")
        assert status == 503 and body["not_ready"] == ["shutdown"]
        assert (await _get(port, "/healthz"))[0] == 200  # alive while it drains
    finally:
        await store.close()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def test_not_ready_when_the_database_refuses_connections(
    served: tuple[Health, int],
) -> None:
    health, port = served
    url = f"postgresql+asyncpg://postgres@127.0.0.1:{_closed_port()}/test"
    store = SqlStore(make_engine(url))
    try:
        health.database = database_probe(store)
        status, body = await _get(port, "/readyz")
        assert status == 503
        assert body["checks"]["database"] == "unreachable"
        assert "127.0.0.1" not in str(body)  # no host, user or driver message for anyone
    finally:
        await store.close()


async def test_not_ready_when_the_database_does_not_answer_in_time(
    served: tuple[Health, int],
) -> None:
    """A server that accepts and then says nothing (a hung database, a dead NAT path)."""
    health, port = served
    held: list[asyncio.StreamWriter] = []

    async def silent(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    hole = await asyncio.start_server(silent, "127.0.0.1", 0)
    hole_port = hole.sockets[0].getsockname()[1]
    store = SqlStore(make_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{hole_port}/test"))
    try:
        health.database = database_probe(store)
        started = asyncio.get_running_loop().time()
        status, body = await _get(port, "/readyz")
        waited = asyncio.get_running_loop().time() - started
        assert status == 503
        assert body["checks"]["database"] == "no answer within 0.3 s"
        assert waited < 2
    finally:
        for writer in held:
            writer.close()
        hole.close()
        await hole.wait_closed()
        await store.close()
