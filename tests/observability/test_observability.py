"""/metrics as Prometheus scrapes it, over HTTP on 127.0.0.1, after real sessions and
nudges through the Slack bot; and the server's own failure modes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bots.health import Health
from bots.observability import Metrics, MetricsServer, MetricsServerError
from core.testing import FakeClock
from tests.databases import Database
from tests.slack.rig import ANN, SlackRig

SUNDAY_9 = datetime(2026, 11, 22, 9, 0, tzinfo=UTC)  # the reminder is due at 09:00
SUNDAY_EVENING = datetime(2026, 11, 22, 17, 1, tzinfo=UTC)  # the check-in is due at 17:00
PLAN = ("I want the beta out", "Fix the login bug", "nothing else", "1", "Finding the time")
PLAN_END = ("1", "tomorrow", "yes", "1")

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@dataclass
class Scraped:
    rig: SlackRig
    metrics: Metrics
    server: MetricsServer
    http: aiohttp.ClientSession

    async def scrape(self) -> Samples:
        url = f"http://127.0.0.1:{self.server.port}/metrics"
        async with self.http.get(url) as response:
            assert response.status == 200
            assert response.headers["Content-Type"].startswith("text/plain; version=")
            text = await response.text()
        return {
            (s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text)
            for s in family.samples
        }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every series of ``name`` that has ``labels``."""
    want = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and want <= ls)


@pytest.fixture
async def scraped(database: Database, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Scraped]:
    metrics = Metrics()
    store = await database.open_store()
    rig = await SlackRig.open(
        database_url=database.url, tmp_path=tmp_path, clock=clock, store=store, telemetry=metrics
    )
    runtime = rig.runtime

    async def count_due() -> int:
        return await runtime.nudges.count_due(clock.now())

    server = MetricsServer(health=runtime.health, metrics=metrics, count_due=count_due)
    await server.start(host="127.0.0.1", port=0)
    http = aiohttp.ClientSession()
    try:
        yield Scraped(rig, metrics, server, http)
    finally:
        await http.close()
        await server.close()
        await rig.close()


async def _plan_one_step(rig: SlackRig) -> None:
    """Ann plans one step, due tomorrow (Sunday): ten turns, the start included."""
    await rig.command("plan Launch the beta")
    ts = str(rig.roots("C0001")[-1].response["ts"])
    for answer in (*PLAN, *PLAN_END):
        await rig.say(answer, thread_ts=ts)
    assert len(await rig.runtime.store.list_commitments()) == 1


async def test_turns_their_latency_and_a_delivered_check_in_with_its_lag(
    scraped: Scraped, clock: FakeClock
) -> None:
    rig = scraped.rig
    await _plan_one_step(rig)
    before = await scraped.scrape()
    assert value(before, "breakthrough_turns_total", method="plan", outcome="ok") == 10
    assert value(before, "breakthrough_turn_seconds_count", method="plan") == 10
    assert 0 < value(before, "breakthrough_turn_seconds_sum", method="plan") < 10
    assert value(before, "breakthrough_nudges_due") == 0  # nothing due on Saturday

    clock.set(SUNDAY_EVENING)
    due = await scraped.scrape()
    assert value(due, "breakthrough_nudges_due") == 2  # the 09:00 reminder, the 17:00 check-in

    assert await rig.service.dispatcher.tick() >= 1
    after = await scraped.scrape()
    assert value(after, "breakthrough_nudges_due") == 0
    # The reminder is folded into the check-in: one message, sent a minute late.
    assert total(after, "breakthrough_nudges_sent_total") == 1
    assert value(after, "breakthrough_nudges_sent_total", kind="checkin") == 1
    assert value(after, "breakthrough_delivery_lag_seconds_count") == 1
    assert value(after, "breakthrough_delivery_lag_seconds_sum") == 60.0
    assert value(after, "breakthrough_delivery_lag_seconds_bucket", le="30.0") == 0
    assert value(after, "breakthrough_delivery_lag_seconds_bucket", le="60.0") == 1
    # Opening the check-in session is a turn of its own.
    assert value(after, "breakthrough_turns_total", method="checkin", outcome="ok") == 1
    assert total(after, "breakthrough_nudges_failed_total") == 0
    assert total(after, "breakthrough_platform_errors_total") == 0


async def test_a_delivery_slack_refuses_counts_as_failed_and_as_a_platform_error(
    scraped: Scraped, clock: FakeClock
) -> None:
    rig = scraped.rig
    await _plan_one_step(rig)
    rig.fake.cannot_dm.add(ANN)
    clock.set(SUNDAY_9)
    await rig.service.dispatcher.tick()
    samples = await scraped.scrape()
    assert total(samples, "breakthrough_nudges_failed_total", reason="refused") == 1
    assert total(samples, "breakthrough_nudges_sent_total") == 0
    refused = value(samples, "breakthrough_platform_errors_total", platform="slack", what="refused")
    assert refused >= 1


async def test_an_unknown_count_of_due_nudges_is_nan_not_zero() -> None:
    async def broken() -> int:
        raise ConnectionRefusedError

    metrics = Metrics()
    server = MetricsServer(health=Health(), metrics=metrics, count_due=broken)
    await server.start(host="127.0.0.1", port=0)
    try:
        async with (
            aiohttp.ClientSession() as http,
            http.get(f"http://127.0.0.1:{server.port}/metrics") as response,
        ):
            text = await response.text()
    finally:
        await server.close()
    assert "breakthrough_nudges_due NaN" in text


async def test_a_port_in_use_is_refused_with_the_setting_to_change() -> None:
    first = MetricsServer(health=Health(), metrics=Metrics())
    port = await first.start(host="127.0.0.1", port=0)
    try:
        second = MetricsServer(health=Health(), metrics=Metrics())
        with pytest.raises(MetricsServerError) as refused:
            await second.start(host="127.0.0.1", port=port)
        assert f"Port {port} is already in use" in str(refused.value.strerror)
        assert "BREAKTHROUGH_METRICS_PORT" in str(refused.value.strerror)
    finally:
        await first.close()


async def test_two_metrics_objects_count_apart() -> None:
    """Each has its own registry: two bots in one process (or two tests) never mix."""
    one, two = Metrics(), Metrics()
    one.turn(method="plan", outcome="ok", seconds=0.1)
    assert b'breakthrough_turns_total{method="plan",outcome="ok"} 1.0' in one.render()
    assert b"breakthrough_turns_total{" not in two.render()
