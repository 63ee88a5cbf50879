"""The ``breakthrough`` command.

With no arguments it runs every configured chat platform in one process, or a console
session when none is configured, so ``make run`` on a fresh machine starts a session.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys
import tempfile
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from pydantic import ValidationError

from adapters.console.app import PLATFORM, WORKSPACE, ConsoleApp, console_actor
from adapters.console.messenger import ConsoleMessenger
from adapters.console.render import ConsoleRenderer
from adapters.console.team import TEAM_ROOM_HELP, ConsoleTeamRoom
from bots.logs import configure_logging
from bots.runtime import Runtime, methods_for
from bots.settings import Settings
from bots.shutdown import EXIT_CUT_SHORT, Shutdown, drain
from core.dialogue.engine import report_input
from core.dialogue.model import Actor
from core.dialogue.state import SessionState
from core.language import UnknownTimeZone, read_back, zone
from core.methods.loader import MethodError, builtin_method_files, check_file
from core.ports import Clock, SystemClock
from core.report import render_report
from core.schedule.accountability import describe_nudge
from core.schedule.compose import partner_action_id
from core.schedule.timer import ScaledClock
from core.store.errors import DataKeyError, StoreError
from core.store.repository import SqlStore
from core.store.sealed import parse_keys
from core.team.words import parse_team_command
from core.telemetry import NO_TELEMETRY, Telemetry

if TYPE_CHECKING:
    from bots.observability import Observability

__all__ = ["main"]

_log = logging.getLogger(__name__)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="breakthrough",
        description="Coaching and accountability in Slack, Discord and the terminal.",
        epilog="With no command: run every configured platform, or a console session.",
    )
    parser.add_argument(
        "--db", metavar="URL", help="database URL (default: SQLite in the data folder)"
    )
    parser.add_argument(
        "--data-dir", type=Path, metavar="DIR", help="where data and files are kept"
    )
    parser.add_argument("--tz", metavar="ZONE", help="your time zone, e.g. Europe/London")
    parser.add_argument(
        "--user", metavar="NAME", help="act as another person at this terminal (partner demos)"
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    console = sub.add_parser("console", help="run a coaching session in this terminal")
    console.add_argument(
        "method",
        nargs="?",
        help="plan, seven-step, session or checkin; or team (a team channel: "
        "team TOPIC, team session TOPIC)",
    )
    console.add_argument("topic", nargs="*", help="what the session is about (optional)")
    _clock_options(console)

    nudges = sub.add_parser("nudges", help="list upcoming nudges")
    nudges.add_argument("--all", action="store_true", help="everyone's, not just yours")
    nudges.add_argument("--limit", type=int, default=50, help="at most this many (default 50)")

    settings = sub.add_parser("settings", help="show or change your nudge settings")
    settings.add_argument("setting", nargs="*", help='e.g. "quiet 21:00-08:00" or "days mon-fri"')

    partner = sub.add_parser("partner", help="your accountability partner")
    partner.add_argument(
        "action", nargs="?", choices=("invite", "end", "accept", "decline"), help="what to do"
    )
    partner.add_argument("name", nargs="?", help="who: the partner to invite, or who invited you")

    dispatch = sub.add_parser("dispatch", help="deliver due nudges to this terminal")
    dispatch.add_argument("--once", action="store_true", help="deliver what is due now, then exit")
    _clock_options(dispatch)

    methods = sub.add_parser("methods", help="list the coaching methods or check a method file")
    msub = methods.add_subparsers(dest="methods_command", metavar="ACTION")
    msub.add_parser("list", help="list the available methods")
    check = msub.add_parser("check", help="validate method files (all built-in ones by default)")
    check.add_argument("files", nargs="*", type=Path, metavar="FILE")

    sessions = sub.add_parser("sessions", help="list your sessions")
    sessions.add_argument("--all", action="store_true", help="everyone's sessions, not just yours")

    report = sub.add_parser("report", help="print the report of your last session (or of SESSION)")
    report.add_argument("session", nargs="?", help="a session id or its first characters")

    sub.add_parser("export", help="write everything stored about you to a JSON and a Markdown file")
    forget = sub.add_parser("forget", help="delete everything stored about you, after you confirm")
    forget.add_argument("--yes", action="store_true", help="do not ask; delete at once")

    sub.add_parser("commitments", help="list your commitments and their due dates")

    slack = sub.add_parser(
        "slack",
        help="run the Slack bot (Socket Mode with SLACK_APP_TOKEN, else HTTP on --port)",
    )
    slack.add_argument("--port", type=int, default=3000, help="HTTP port (default 3000)")
    slack.add_argument("--host", default="0.0.0.0", help="HTTP address (default 0.0.0.0)")

    sub.add_parser(
        "doctor", help="check the configuration, database and platform tokens; say what to fix"
    )

    db = sub.add_parser("db", help="database upkeep: migrations, data keys, retention")
    dbsub = db.add_subparsers(dest="db_command", metavar="ACTION", required=True)
    dbsub.add_parser("upgrade", help="migrate the database to this release's schema")
    dbsub.add_parser("current", help="show the database's schema revision")
    dbsub.add_parser("new-key", help="print a new random BREAKTHROUGH_DATA_KEY")
    dbsub.add_parser(
        "rotate-key", help="re-encrypt stored answers with the current BREAKTHROUGH_DATA_KEY"
    )
    prune = dbsub.add_parser(
        "prune", help="delete finished sessions older than BREAKTHROUGH_RETENTION_DAYS"
    )
    prune.add_argument("--dry-run", action="store_true", help="only count what would go")

    discord = sub.add_parser("discord", help="run the Discord bot (DISCORD_TOKEN)")
    dsub = discord.add_subparsers(dest="discord_command", metavar="ACTION")
    sync = dsub.add_parser("sync-commands", help="register /breakthrough with Discord")
    sync.add_argument("--guild", type=int, metavar="ID", help="in this server only (shows at once)")
    return parser


def _clock_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--clock-speed",
        type=float,
        default=1.0,
        metavar="N",
        help="run time N times faster to watch a plan's nudges arrive "
        "(uses a throwaway database unless --db is given)",
    )
    parser.add_argument(
        "--clock-start",
        type=datetime.fromisoformat,
        metavar="WHEN",
        help="start the clock at this ISO time (with a zone), for demos and tests",
    )


def _clock(args: argparse.Namespace) -> Clock:
    speed = getattr(args, "clock_speed", 1.0)
    start = getattr(args, "clock_start", None)
    if speed <= 0:
        raise SystemExit("--clock-speed must be more than 0")
    if start is not None and (start.tzinfo is None or start.utcoffset() is None):
        raise SystemExit("--clock-start needs a time zone, e.g. 2026-11-21T09:00:00+00:00")
    if speed == 1.0 and start is None:
        return SystemClock()
    return ScaledClock(speed, start=start)


def _me(args: argparse.Namespace, settings: Settings) -> Actor:
    if getattr(args, "user", None):
        return Actor(
            platform=PLATFORM,
            workspace=WORKSPACE,
            user_id=args.user,
            display_name=args.user,
            tz=settings.tz,
        )
    return console_actor(settings.tz)


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    overrides: dict[str, object] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.tz:
        overrides["tz"] = args.tz
    if getattr(args, "clock_speed", 1.0) != 1.0 and not args.db:
        demo = Path(tempfile.mkdtemp(prefix="breakthrough-demo-"))
        overrides["database_url"] = f"sqlite+aiosqlite:///{demo / 'demo.db'}"
        print(
            "Demo clock: using a throwaway database, so your real sessions are not "
            "moved through time.",
            file=sys.stderr,
        )
    return settings.model_copy(update=overrides) if overrides else settings


def _cmd_methods(args: argparse.Namespace, settings: Settings) -> int:
    if args.methods_command == "check":
        files = list(args.files) or builtin_method_files()
        if not args.files and settings.methods_dir:
            files += sorted(settings.methods_dir.glob("*.yaml"))
        bad = 0
        for f in files:
            problems = check_file(f)
            if problems:
                bad += 1
                for p in problems:
                    print(p, file=sys.stderr)
            else:
                print(f"{f}: ok")
        return 1 if bad else 0
    library = methods_for(settings)
    for m in library:
        print(f"{m.id:<12} {m.title}\n{'':<12} {m.summary}")
    return 0


async def _with_store(settings: Settings) -> SqlStore:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    keyring = parse_keys(settings.data_key, settings.old_data_keys)
    return await SqlStore.open(settings.db_url, keyring=keyring)


def _end_on_sigterm() -> None:
    """SIGTERM ends a terminal session as Ctrl-C does: the session was saved at its last
    turn, and the caller's ``finally`` stops the dispatcher (deliveries under way finish,
    claims are released); :func:`main` then says so."""
    task = asyncio.current_task()
    assert task is not None
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)


async def _cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    if args.method == "team":
        return await _cmd_console_team(args, settings)
    library = methods_for(settings)
    if args.method and args.method not in library:
        known = ", ".join(m.id for m in library)
        print(f"There is no method called '{args.method}'. Try one of: {known}.", file=sys.stderr)
        return 2
    clock = _clock(args)
    runtime = await Runtime.open(settings, clock=clock, methods=library)
    me = _me(args, settings)
    app = ConsoleApp(
        runtime.coach,
        actor=me,
        clock=clock,
        files_dir=settings.files_dir,
        stdin=sys.stdin,
        stdout=sys.stdout,
        interactive=sys.stdin.isatty(),
        accountability=runtime.accountability,
        stay=sys.stdin.isatty() or args.clock_speed != 1.0,
    )
    messenger = ConsoleMessenger(ConsoleRenderer(settings.files_dir), sys.stdout, me=me)
    dispatcher = runtime.dispatcher(messenger, on_delivered=app.note_delivery)
    _end_on_sigterm()
    await dispatcher.start(poll_seconds=settings.poll_seconds, speed=args.clock_speed)
    try:
        return await app.run(args.method, " ".join(args.topic or []))
    finally:
        await dispatcher.stop()
        await runtime.close()


async def _cmd_console_team(args: argparse.Namespace, settings: Settings) -> int:
    """A team channel in this terminal: you facilitate; type "bob: …" to be Bob."""
    command = parse_team_command(" ".join(args.topic or []))
    if command.name != "start":
        print(TEAM_ROOM_HELP, file=sys.stderr)
        print("Start one with: breakthrough console team TOPIC", file=sys.stderr)
        return 2
    clock = _clock(args)
    runtime = await Runtime.open(settings, clock=clock)
    room = ConsoleTeamRoom(
        team=runtime.team,
        facilitator=_me(args, settings),
        clock=clock,
        files_dir=settings.files_dir,
        stdin=sys.stdin,
        stdout=sys.stdout,
    )
    dispatcher = runtime.dispatcher(room)
    _end_on_sigterm()
    await dispatcher.start(poll_seconds=settings.poll_seconds, speed=args.clock_speed)
    try:
        return await room.run(command.method, command.arg)
    finally:
        await dispatcher.stop()
        await runtime.close()


async def _cmd_nudges(args: argparse.Namespace, settings: Settings) -> int:
    runtime = await Runtime.open(settings, clock=SystemClock())
    try:
        owner = None if args.all else _me(args, settings).key()
        upcoming = await runtime.accountability.upcoming(owner, limit=args.limit)
        if not upcoming:
            print("No nudges are scheduled. They come from the dates you set in a session.")
            return 0
        now = runtime.clock.now()
        for n in upcoming:
            who = f"{n.owner.rsplit(':', 1)[-1]:<12} " if args.all else ""
            print(who + describe_nudge(n, now=now))
        return 0
    finally:
        await runtime.close()


async def _cmd_settings(args: argparse.Namespace, settings: Settings) -> int:
    runtime = await Runtime.open(settings, clock=SystemClock())
    try:
        me = _me(args, settings)
        text = " ".join(args.setting or [])
        reply, ok = await runtime.accountability.settings(me, text, now=runtime.clock.now())
        print(reply, file=sys.stdout if ok else sys.stderr)
        return 0 if ok else 2
    finally:
        await runtime.close()


async def _cmd_export(args: argparse.Namespace, settings: Settings) -> int:
    from bots import privacy_cmd

    return await privacy_cmd.export(settings, _me(args, settings))


async def _cmd_forget(args: argparse.Namespace, settings: Settings) -> int:
    from bots import privacy_cmd

    return await privacy_cmd.forget(args, settings, _me(args, settings))


async def _cmd_partner(args: argparse.Namespace, settings: Settings) -> int:
    runtime = await Runtime.open(settings, clock=SystemClock())
    try:
        me = _me(args, settings)
        acc = runtime.accountability
        now = runtime.clock.now()
        if args.action is None:
            link = await runtime.nudges.get_partner(me.key())
            if link is None:
                print("No accountability partner. Ask someone: breakthrough partner invite NAME")
            else:
                print(f"Your accountability partner: {link.partner_name} ({link.status}).")
            return 0
        if args.action == "end":
            print(await acc.end_partner(me))
            return 0
        if not args.name:
            print(f"Who? For example: breakthrough partner {args.action} sam", file=sys.stderr)
            return 2
        other = Actor(
            platform=PLATFORM, workspace=WORKSPACE, user_id=args.name, display_name=args.name
        )
        if args.action == "invite":
            print(await acc.invite_partner(me, other, now=now))
            return 0
        intents, _ = await acc.act(
            me, action_id=partner_action_id(other.key()), value=args.action, now=now
        )
        print(ConsoleRenderer(settings.files_dir).render(intents).strip())
        return 0
    finally:
        await runtime.close()


def _observability(settings: Settings) -> Observability | None:
    """The health and metrics server of a long-running bot; ``None`` when its port is 0."""
    if not settings.metrics_port:
        return None
    from bots.observability import Observability  # prometheus_client loads only for bots

    return Observability(host=settings.metrics_host, port=settings.metrics_port)


def _telemetry(observability: Observability | None) -> Telemetry:
    return observability.metrics if observability is not None else NO_TELEMETRY


async def _serve(observability: Observability | None, runtime: Runtime) -> bool:
    """Start ``/healthz``, ``/readyz`` and ``/metrics``; ``False`` (said why) if it cannot."""
    if observability is None:
        return True
    from bots.observability import MetricsServerError

    try:
        await observability.start(runtime)
    except MetricsServerError as exc:
        print(exc.strerror, file=sys.stderr)
        return False
    return True


async def _cmd_dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Deliver nudges to this terminal: a headless worker, and the restart test's subject.

    SIGTERM and Ctrl-C stop it as they stop a chat bot (:mod:`bots.shutdown`).
    """
    clock = _clock(args)
    observability = None if args.once else _observability(settings)
    runtime = await Runtime.open(settings, clock=clock, telemetry=_telemetry(observability))
    messenger = ConsoleMessenger(ConsoleRenderer(settings.files_dir), sys.stdout, me=None)
    dispatcher = runtime.dispatcher(messenger)
    shutdown = Shutdown(settings.shutdown_grace_seconds, say=sys.stderr)  # stdout: the nudges
    shutdown.on_request(runtime.health.shutting_down)
    finished = True
    try:
        if args.once:
            handled = await dispatcher.tick()
            print(f"Delivered {dispatcher.stats.sent} nudges ({handled} handled).", file=sys.stderr)
            return 0
        if not await _serve(observability, runtime):
            return 2
        shutdown.install()
        await dispatcher.start(poll_seconds=settings.poll_seconds, speed=args.clock_speed)
        print("Delivering nudges; press Ctrl-C to stop.", file=sys.stderr, flush=True)
        await shutdown.requested.wait()
    finally:
        runtime.health.shutting_down()
        finished = await drain(None, dispatcher, None if args.once else shutdown)
        shutdown.remove()
        if observability is not None:
            await observability.close()
        await runtime.close()
    return 0 if finished else EXIT_CUT_SHORT


async def _cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    store = await _with_store(settings)
    try:
        owner = None if args.all else _me(args, settings).key()
        rows = await store.list_sessions(owner=owner, limit=100)
        if not rows:
            print("No sessions yet. Start one with: breakthrough console plan")
            return 0
        print(f"{'ID':<10} {'METHOD':<11} {'STATUS':<8} {'UPDATED':<17} TOPIC")
        for s in rows:
            when = f"{s.updated_at:%Y-%m-%d %H:%M}"
            print(f"{s.id[:8]:<10} {s.method:<11} {s.status:<8} {when:<17} {s.topic}")
        return 0
    finally:
        await store.close()


async def _cmd_report(args: argparse.Namespace, settings: Settings) -> int:
    store = await _with_store(settings)
    try:
        library = methods_for(settings)
        rows = await store.list_sessions(owner=_me(args, settings).key(), limit=500)
        if args.session:
            rows = [s for s in rows if s.id.startswith(args.session)]
        else:
            finished = [s for s in rows if s.status in ("done", "stopped")]
            rows = finished or rows
        if not rows:
            print(
                "No report yet: finish a session first (breakthrough console plan).",
                file=sys.stderr,
            )
            return 1
        record = rows[0]
        state = SessionState.from_json(record.state)
        method = library.get(state.method)
        commitments = await store.list_commitments(session_id=record.id)
        print(render_report(method, report_input(method, state, commitment_count=len(commitments))))
        return 0
    finally:
        await store.close()


async def _cmd_commitments(args: argparse.Namespace, settings: Settings) -> int:
    store = await _with_store(settings)
    try:
        rows = await store.list_commitments(owner=_me(args, settings).key())
        if not rows:
            print("No commitments yet. They come from the dates you set in a session.")
            return 0
        now = SystemClock().now()
        for c in rows:
            due = read_back(c.due_at.astimezone(zone(c.tz)), now=now)
            print(f"[{'x' if c.status == 'done' else ' '}] {due:<28} {c.status:<8} {c.text}")
        return 0
    finally:
        await store.close()


async def _cmd_slack(args: argparse.Namespace, settings: Settings) -> int:
    from bots.slack import run_slack  # Bolt and aiohttp load only for Slack

    observability = _observability(settings)
    runtime = await Runtime.open(settings, clock=SystemClock(), telemetry=_telemetry(observability))
    try:
        if not await _serve(observability, runtime):
            return 2
        return await run_slack(settings, runtime, host=args.host, port=args.port)
    finally:
        if observability is not None:
            await observability.close()
        await runtime.close()


async def _cmd_discord(args: argparse.Namespace, settings: Settings) -> int:
    from bots.discord import DiscordConfig, DiscordConfigError, run_discord, sync_commands

    syncing = getattr(args, "discord_command", None) == "sync-commands"
    observability = None if syncing else _observability(settings)
    runtime = await Runtime.open(settings, clock=SystemClock(), telemetry=_telemetry(observability))
    try:
        if syncing:
            config = DiscordConfig.from_settings(settings)
            try:
                config.check()
            except DiscordConfigError as exc:
                print(f"Discord is not configured: {exc}")
                return 2
            return await sync_commands(config, runtime, guild=args.guild)
        if not await _serve(observability, runtime):
            return 2
        return await run_discord(settings, runtime)
    finally:
        if observability is not None:
            await observability.close()
        await runtime.close()


async def _cmd_doctor(args: argparse.Namespace, settings: Settings) -> int:
    from bots.doctor import run_doctor

    return await run_doctor(settings)


async def _cmd_db(args: argparse.Namespace, settings: Settings) -> int:
    if args.db_command in ("upgrade", "current"):
        from bots import db_schema

        return await db_schema.run(args, settings)
    if args.db_command in ("new-key", "rotate-key"):
        from bots import db_keys

        return await db_keys.run(args, settings)
    from bots import db_prune

    return await db_prune.run(args, settings)


async def _cmd_default(args: argparse.Namespace, settings: Settings) -> int:
    platforms = settings.configured_platforms()
    if "slack" in platforms:
        args.host, args.port = "0.0.0.0", 3000
        if "discord" in platforms:
            print(
                "Slack and Discord are both configured: starting Slack here; run "
                "`breakthrough discord` in a second process for Discord.",
                file=sys.stderr,
            )
        return await _cmd_slack(args, settings)
    if "discord" in platforms:
        return await _cmd_discord(args, settings)
    if platforms:
        names = " and ".join(platforms)
        print(
            f"A token for {names} is set, but this build has no {names} adapter yet; "
            "starting a console session instead.",
            file=sys.stderr,
        )
    args.method = None
    args.topic = []
    args.clock_speed = 1.0
    args.clock_start = None
    return await _cmd_console(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``breakthrough`` console script."""
    args = _parser().parse_args(argv)
    try:
        try:
            settings = _settings(args)
        except ValidationError as exc:
            from bots.doctor import explain_settings_error

            print(explain_settings_error(exc), file=sys.stderr)
            return 2
        try:
            configure_logging(settings)
        except ValueError as exc:  # a level that is not one
            print(exc, file=sys.stderr)
            return 2
        if args.command != "doctor":  # the doctor reports a bad zone among its checks
            zone(settings.tz)
        if args.command == "methods":
            return _cmd_methods(args, settings)
        runner = {
            "console": _cmd_console,
            "sessions": _cmd_sessions,
            "report": _cmd_report,
            "commitments": _cmd_commitments,
            "nudges": _cmd_nudges,
            "settings": _cmd_settings,
            "partner": _cmd_partner,
            "export": _cmd_export,
            "forget": _cmd_forget,
            "dispatch": _cmd_dispatch,
            "slack": _cmd_slack,
            "discord": _cmd_discord,
            "doctor": _cmd_doctor,
            "db": _cmd_db,
            None: _cmd_default,
        }[args.command]
        return asyncio.run(runner(args, settings))
    except MethodError as exc:
        print(f"A method file has a problem:\n{exc}", file=sys.stderr)
        return 2
    except UnknownTimeZone as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except DataKeyError as exc:  # a data key missing or wrong: the message says which
        print(str(exc), file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"Database problem: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopped. Your session is saved where you left it.", file=sys.stderr)
        return 130
    except asyncio.CancelledError:  # SIGTERM in a terminal session (_end_on_sigterm)
        print("\nStopped. Your session is saved where you left it.", file=sys.stderr)
        return 0


if __name__ == "__main__":
    sys.exit(main())
