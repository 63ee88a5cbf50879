"""Health, readiness and Prometheus metrics of a running bot, on their own HTTP port.

``breakthrough slack``, ``discord`` and ``dispatch`` serve, on
``BREAKTHROUGH_METRICS_HOST``:``BREAKTHROUGH_METRICS_PORT`` (9464; 0 turns it off):

* ``GET /healthz``: 200 while the process runs (a liveness probe: restart me if not);
* ``GET /readyz``: 200 when :class:`~bots.health.Health` says ready, else 503 with a
  small JSON body naming what is not (a readiness probe: send me work or not);
* ``GET /metrics``: the Prometheus text format.

The metrics live in a :class:`~prometheus_client.CollectorRegistry` of their own, one per
:class:`Metrics`, not prometheus_client's global one: two bots in one test process (or a
test and the code it runs) never share or clash over a counter. The port is separate
from Slack's HTTP port so that the metrics are never exposed to Slack's load balancer
by accident, and so a Socket Mode or Discord bot, which listens on nothing else, has it.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import math
from collections.abc import Awaitable, Callable

from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector

from bots.health import Health
from bots.runtime import Runtime
from core.ports import Clock

__all__ = [
    "COUNT_TIMEOUT",
    "DELIVERY_LAG_BUCKETS",
    "Metrics",
    "MetricsServer",
    "MetricsServerError",
    "Observability",
]

_log = logging.getLogger(__name__)

COUNT_TIMEOUT = 1.0
"""Seconds a scrape waits for the count of due nudges before reporting it unknown."""

TURN_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)
"""Seconds: a turn is a few database round trips (tens of ms); seconds mean trouble."""

DELIVERY_LAG_BUCKETS = (1, 5, 15, 30, 60, 120, 300, 600, 1800, 3600, 4 * 3600, 24 * 3600)
"""Seconds: the dispatcher wakes at the due time, so lag is normally a second or two;
minutes mean a backlog or a platform holding us back; hours mean downtime."""


class MetricsServerError(OSError):
    """The health and metrics server cannot listen; the message says which setting to
    change."""


class Metrics:
    """The Prometheus side of :class:`core.telemetry.Telemetry`, in a registry of its own.

    Besides our series it carries prometheus_client's process, platform and garbage
    collector collectors (memory, CPU, open files), registered on the same registry.
    """

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        GCCollector(registry=r)
        self.turns = Counter(
            "breakthrough_turns",
            "Coaching turns handled, by the session's method and how the turn ended.",
            ["method", "outcome"],
            registry=r,
        )
        self.turn_seconds = Histogram(
            "breakthrough_turn_seconds",
            "Real time from an event reaching the coach to its reply being committed.",
            ["method"],
            buckets=TURN_BUCKETS,
            registry=r,
        )
        self.nudges_due = Gauge(
            "breakthrough_nudges_due",
            "Nudges whose due time has passed and which are not sent yet (pending or "
            "being delivered), across every replica; counted at each scrape.",
            registry=r,
        )
        self.nudges_sent = Counter(
            "breakthrough_nudges_sent",
            "Nudges delivered by this process, by kind.",
            ["kind"],
            registry=r,
        )
        self.nudges_failed = Counter(
            "breakthrough_nudges_failed",
            "Nudges that failed for good in this process: refused by the platform, or "
            "given up after every retry.",
            ["kind", "reason"],
            registry=r,
        )
        self.delivery_lag = Histogram(
            "breakthrough_delivery_lag_seconds",
            "How long after its due time a nudge was delivered (after any hold for quiet "
            "hours or a retry, from the time it was held to).",
            buckets=DELIVERY_LAG_BUCKETS,
            registry=r,
        )
        self.platform_errors = Counter(
            "breakthrough_platform_errors",
            "Failed calls to a chat platform, and events whose handling raised.",
            ["platform", "what"],
            registry=r,
        )

    # -- the Telemetry port --------------------------------------------------------------

    def turn(self, *, method: str, outcome: str, seconds: float) -> None:
        self.turns.labels(method=method, outcome=outcome).inc()
        self.turn_seconds.labels(method=method).observe(seconds)

    def nudge_sent(self, *, kind: str, lag_seconds: float) -> None:
        self.nudges_sent.labels(kind=kind).inc()
        self.delivery_lag.observe(max(0.0, lag_seconds))

    def nudge_failed(self, *, kind: str, reason: str) -> None:
        self.nudges_failed.labels(kind=kind, reason=reason).inc()

    def platform_error(self, *, platform: str, what: str) -> None:
        self.platform_errors.labels(platform=platform, what=what).inc()

    # -- exposition ----------------------------------------------------------------------

    def render(self) -> bytes:
        """The registry in the Prometheus text format."""
        return generate_latest(self.registry)


class MetricsServer:
    """The aiohttp server of ``/healthz``, ``/readyz`` and ``/metrics``.

    ``count_due`` is asked at each scrape for the nudges due now (see
    :attr:`Metrics.nudges_due`). Counting at scrape time, rather than on each dispatcher
    tick, keeps the gauge true when the dispatcher is stuck, which is when it matters;
    it costs one count over the ``(status, due_at)`` index per scrape.
    """

    def __init__(
        self,
        *,
        health: Health,
        metrics: Metrics,
        count_due: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.health = health
        self.metrics = metrics
        self.count_due = count_due
        self._runner: web.AppRunner | None = None
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics)
        self._app = app

    async def start(self, *, host: str, port: int) -> int:
        """Listen on ``host``:``port`` (0: any free port); return the port bound.

        Raises :class:`MetricsServerError` when the address cannot be used.
        """
        # No access log: a scrape every 15 s and a probe every few seconds are noise.
        runner = web.AppRunner(self._app, access_log=None)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as exc:
            await runner.cleanup()
            raise MetricsServerError(exc.errno, _explain(exc, host, port)) from exc
        self._runner = runner
        return self.port

    @property
    def port(self) -> int:
        assert self._runner is not None and self._runner.addresses
        return int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _healthz(self, _request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    async def _readyz(self, _request: web.Request) -> web.Response:
        readiness = await self.health.check()
        body = {"ready": readiness.ready, "checks": readiness.checks}
        if not readiness.ready:
            body["not_ready"] = readiness.not_ready
        return web.json_response(body, status=200 if readiness.ready else 503)

    async def _metrics(self, _request: web.Request) -> web.Response:
        await self._refresh_due()
        return web.Response(
            body=self.metrics.render(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _refresh_due(self) -> None:
        if self.count_due is None:
            return
        try:
            async with asyncio.timeout(COUNT_TIMEOUT):
                due = await self.count_due()
        except Exception as exc:  # unknown, not zero: an alert on it must not clear
            _log.warning("could not count the due nudges (%s)", exc.__class__.__name__)
            self.metrics.nudges_due.set(math.nan)
            return
        self.metrics.nudges_due.set(due)


def _explain(exc: OSError, host: str, port: int) -> str:
    if exc.errno == errno.EADDRINUSE:
        return (
            f"Port {port} is already in use, so the health and metrics server cannot "
            "start. Set BREAKTHROUGH_METRICS_PORT to a free port, or to 0 to turn the "
            "server off."
        )
    if exc.errno == errno.EACCES:
        return (
            f"Not allowed to listen on port {port} (ports below 1024 need privileges). "
            "Set BREAKTHROUGH_METRICS_PORT to a port above 1024, or to 0 to turn it off."
        )
    return (
        f"Cannot listen on {host}:{port} ({exc.strerror or exc.__class__.__name__}). "
        "Check BREAKTHROUGH_METRICS_HOST and BREAKTHROUGH_METRICS_PORT (0 turns the "
        "server off)."
    )


class Observability:
    """The metrics of one bot process and the server that shows them.

    Made before the runtime (whose coach and dispatcher report into :attr:`metrics`),
    started once the runtime is open, closed after the bot has stopped, so ``/readyz``
    answers 503 throughout a graceful shutdown.
    """

    def __init__(self, *, host: str, port: int) -> None:
        self.host = host
        self.port = port
        self.metrics = Metrics()
        self.server: MetricsServer | None = None

    async def start(self, runtime: Runtime) -> int:
        """Serve the runtime's health and these metrics; return the port bound."""
        clock: Clock = runtime.clock

        async def count_due() -> int:
            return await runtime.nudges.count_due(clock.now())

        server = MetricsServer(health=runtime.health, metrics=self.metrics, count_due=count_due)
        bound = await server.start(host=self.host, port=self.port)
        self.server = server
        _log.info("health and metrics served", extra={"host": self.host, "port": bound})
        return bound

    async def close(self) -> None:
        if self.server is not None:
            await self.server.close()
            self.server = None
