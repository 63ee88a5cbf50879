"""The ``breakthrough`` command.

With no arguments it runs every configured chat platform in one process, or a console
session when none is configured, so ``make run`` on a fresh machine starts a session.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from adapters.console.app import ConsoleApp, console_actor
from bots.settings import Settings
from core.dialogue.coach import Coach
from core.dialogue.engine import report_input
from core.dialogue.state import SessionState
from core.language import UnknownTimeZone, read_back, zone
from core.methods.loader import MethodError, MethodLibrary, builtin_method_files, check_file
from core.ports import SystemClock
from core.report import render_report
from core.store.errors import StoreError
from core.store.repository import SqlStore

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
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    console = sub.add_parser("console", help="run a coaching session in this terminal")
    console.add_argument("method", nargs="?", help="plan, seven-step, session or checkin")
    console.add_argument("topic", nargs="*", help="what the session is about (optional)")

    methods = sub.add_parser("methods", help="list the coaching methods or check a method file")
    msub = methods.add_subparsers(dest="methods_command", metavar="ACTION")
    msub.add_parser("list", help="list the available methods")
    check = msub.add_parser("check", help="validate method files (all built-in ones by default)")
    check.add_argument("files", nargs="*", type=Path, metavar="FILE")

    sessions = sub.add_parser("sessions", help="list your sessions")
    sessions.add_argument("--all", action="store_true", help="everyone's sessions, not just yours")

    report = sub.add_parser("report", help="print the report of your last session (or of SESSION)")
    report.add_argument("session", nargs="?", help="a session id or its first characters")

    sub.add_parser("commitments", help="list your commitments and their due dates")
    return parser


def _settings(args: argparse.Namespace) -> Settings:
    settings = Settings()
    overrides: dict[str, object] = {}
    if args.db:
        overrides["database_url"] = args.db
    if args.data_dir:
        overrides["data_dir"] = args.data_dir
    if args.tz:
        overrides["tz"] = args.tz
    return settings.model_copy(update=overrides) if overrides else settings


def _methods(settings: Settings) -> MethodLibrary:
    extra = [settings.methods_dir] if settings.methods_dir else []
    return MethodLibrary.load(extra)


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
    library = _methods(settings)
    for m in library:
        print(f"{m.id:<12} {m.title}\n{'':<12} {m.summary}")
    return 0


async def _with_store(settings: Settings) -> SqlStore:
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return await SqlStore.open(settings.db_url)


async def _cmd_console(args: argparse.Namespace, settings: Settings) -> int:
    library = _methods(settings)
    if args.method and args.method not in library:
        known = ", ".join(m.id for m in library)
        print(f"There is no method called '{args.method}'. Try one of: {known}.", file=sys.stderr)
        return 2
    store = await _with_store(settings)
    try:
        coach = Coach(store=store, methods=library, default_tz=settings.tz)
        app = ConsoleApp(
            coach,
            actor=console_actor(settings.tz),
            clock=SystemClock(),
            files_dir=settings.files_dir,
            stdin=sys.stdin,
            stdout=sys.stdout,
            interactive=sys.stdin.isatty(),
        )
        return await app.run(args.method, " ".join(args.topic or []))
    finally:
        await store.close()


async def _cmd_sessions(args: argparse.Namespace, settings: Settings) -> int:
    store = await _with_store(settings)
    try:
        owner = None if args.all else console_actor(settings.tz).key()
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
        library = _methods(settings)
        rows = await store.list_sessions(owner=console_actor(settings.tz).key(), limit=500)
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
        rows = await store.list_commitments(owner=console_actor(settings.tz).key())
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


async def _cmd_default(args: argparse.Namespace, settings: Settings) -> int:
    platforms = settings.configured_platforms()
    if platforms:
        names = " and ".join(platforms)
        print(
            f"A token for {names} is set, but this build has no {names} adapter yet; "
            "starting a console session instead.",
            file=sys.stderr,
        )
    args.method = None
    args.topic = []
    return await _cmd_console(args, settings)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``breakthrough`` console script."""
    args = _parser().parse_args(argv)
    try:
        settings = _settings(args)
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(levelname)s %(name)s: %(message)s"
        )
        zone(settings.tz)
        if args.command == "methods":
            return _cmd_methods(args, settings)
        runner = {
            "console": _cmd_console,
            "sessions": _cmd_sessions,
            "report": _cmd_report,
            "commitments": _cmd_commitments,
            None: _cmd_default,
        }[args.command]
        return asyncio.run(runner(args, settings))
    except MethodError as exc:
        print(f"A method file has a problem:\n{exc}", file=sys.stderr)
        return 2
    except UnknownTimeZone as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except StoreError as exc:
        print(f"Database problem: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nStopped. Your session is saved where you left it.", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
