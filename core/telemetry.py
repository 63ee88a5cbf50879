"""The telemetry port: what core reports about its work, without knowing who listens.

Core counts turns and nudges where they happen (the coach, the dispatcher) and the
adapters count what the platform refused; a bot process plugs in Prometheus metrics
(``bots.observability``), everything else gets :data:`NO_TELEMETRY`. Core never imports
a metrics library, so a console session or a test pays nothing for it.

Every label value passed here must come from a small, fixed set (a method id, a nudge
kind, an outcome word): never a person's words or ids, which would both leak and
multiply the series without bound.

Times: ``seconds`` of a turn is real elapsed time (``time.perf_counter``), what a person
waited; a nudge's ``lag_seconds`` is on the injected clock (sent minus due), so a test's
fake clock gives an exact lag.
"""

from __future__ import annotations

from typing import Final, Protocol

__all__ = ["NO_TELEMETRY", "NoTelemetry", "Telemetry"]


class Telemetry(Protocol):
    """Told about each turn, nudge outcome and platform error as it happens.

    Called on the event loop in the middle of a turn or a delivery: implementations
    must be quick and must not raise.
    """

    def turn(self, *, method: str, outcome: str, seconds: float) -> None:
        """A turn ended: ``method`` is the session's method id (``none`` when there was
        no session); ``outcome`` is ``ok``, ``refused`` (a team rule said no),
        ``no_session``, ``rejected`` (an unknown method or time zone), ``error`` or
        ``cancelled`` (cut short, as by a shutdown whose grace ran out)."""

    def nudge_sent(self, *, kind: str, lag_seconds: float) -> None:
        """A nudge was delivered ``lag_seconds`` after it was due."""

    def nudge_failed(self, *, kind: str, reason: str) -> None:
        """A nudge failed for good: ``reason`` is ``refused`` (the platform said no) or
        ``gave_up`` (every retry failed)."""

    def platform_error(self, *, platform: str, what: str) -> None:
        """A call to a chat platform failed: ``what`` is ``rate_limited``, ``refused``,
        ``api_error``, ``network`` or ``handler`` (handling an event raised)."""


class NoTelemetry:
    """Records nothing: the default wherever no metrics are wanted."""

    def turn(self, *, method: str, outcome: str, seconds: float) -> None:
        return None

    def nudge_sent(self, *, kind: str, lag_seconds: float) -> None:
        return None

    def nudge_failed(self, *, kind: str, reason: str) -> None:
        return None

    def platform_error(self, *, platform: str, what: str) -> None:
        return None


NO_TELEMETRY: Final[Telemetry] = NoTelemetry()
