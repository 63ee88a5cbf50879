"""The wiring every program shares: store, coach, accountability and dispatcher.

A platform adapter (or the console) supplies only its :class:`~core.ports.Messenger`;
everything else is built here the same way for each, from :class:`~bots.settings.Settings`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

from bots.health import Health, database_probe
from bots.settings import Settings
from core.dialogue.coach import Coach
from core.methods.loader import MethodLibrary
from core.ports import Clock, Messenger
from core.privacy import Privacy
from core.schedule.accountability import Accountability, Delivery
from core.schedule.dispatcher import Dispatcher
from core.schedule.pacing import Pacer, pacer_for
from core.store.nudges import SqlNudgeStore
from core.store.privacy import SqlPersonData
from core.store.repository import SqlStore
from core.store.reseal import check_keys
from core.store.retention import DailyRetention, SqlRetention
from core.store.sealed import parse_keys
from core.store.team import SqlTeamStore
from core.team.service import TeamCoach
from core.telemetry import NO_TELEMETRY, Telemetry

__all__ = ["Runtime", "methods_for"]


def methods_for(settings: Settings) -> MethodLibrary:
    """The built-in methods plus the team's folder, if one is configured."""
    extra = [settings.methods_dir] if settings.methods_dir else []
    return MethodLibrary.load(extra)


@dataclass(slots=True, kw_only=True)
class Runtime:
    """Everything a running bot holds; :meth:`open` builds it, :meth:`close` ends it."""

    settings: Settings
    clock: Clock
    store: SqlStore
    nudges: SqlNudgeStore
    coach: Coach
    accountability: Accountability
    team: TeamCoach
    privacy: Privacy
    telemetry: Telemetry = NO_TELEMETRY
    health: Health
    """Readiness (``/readyz``): the services report their platform and shutdown here."""

    @classmethod
    async def open(
        cls,
        settings: Settings,
        *,
        clock: Clock,
        methods: MethodLibrary | None = None,
        store: SqlStore | None = None,
        telemetry: Telemetry = NO_TELEMETRY,
    ) -> Runtime:
        """Open (and migrate) the database and wire the services on it.

        ``store``, when given, is used instead of opening ``settings.db_url`` (tests pass
        one on a PostgreSQL schema of their own); the runtime then closes it.
        ``telemetry`` is told about turns and nudges (a bot's Prometheus metrics).
        """
        if store is None:
            if not settings.database_url:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            keyring = parse_keys(settings.data_key, settings.old_data_keys)
            store = await SqlStore.open(settings.db_url, keyring=keyring)
        try:
            await check_keys(store)  # a missing data key stops start-up, not every turn
        except BaseException:
            await store.close()
            raise
        nudges = SqlNudgeStore(store)
        coach = Coach(
            store=store,
            methods=methods or methods_for(settings),
            default_tz=settings.tz,
            telemetry=telemetry,
        )
        accountability = Accountability(
            store=store,
            nudges=nudges,
            coach=coach,
            default_tz=settings.tz,
            silence=timedelta(hours=settings.resume_after_hours),
        )
        team = TeamCoach(coach=coach, accountability=accountability, teams=SqlTeamStore(store))
        return cls(
            settings=settings,
            clock=clock,
            store=store,
            nudges=nudges,
            coach=coach,
            accountability=accountability,
            team=team,
            privacy=Privacy(SqlPersonData(store)),
            telemetry=telemetry,
            health=Health(database=database_probe(store)),
        )

    def dispatcher(
        self,
        messenger: Messenger,
        *,
        on_delivered: Callable[[Delivery], None] | None = None,
        pacing: Callable[[str], Pacer] | None = pacer_for,
    ) -> Dispatcher:
        """A dispatcher delivering this runtime's nudges through ``messenger``.

        ``pacing=None`` when the messenger paces its own sends (Slack's does, so that
        replies and nudges to one channel share one pace).
        """
        return Dispatcher(
            nudges=self.nudges,
            accountability=self.accountability,
            messenger=messenger,
            clock=self.clock,
            on_delivered=on_delivered,
            pacing=pacing,
            telemetry=self.telemetry,
            upkeep=DailyRetention(SqlRetention(self.store), days=self.settings.retention_days),
        )

    async def close(self) -> None:
        await self.store.close()
