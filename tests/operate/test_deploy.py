"""The deploy files: the entrypoint really migrates then becomes the bot; the health check
really asks /healthz; the Dockerfile, compose file and systemd unit have what they promise.

Docker itself is not available to the tests, so the image is checked as a file; the
entrypoint and the health check, which do the work inside it, are run for real.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml
from aiohttp import web
from sqlalchemy import text

from bots.settings import Settings
from core.store.engine import make_engine
from core.store.migrate import HEAD_REVISION, current_revision, upgrade
from tests.programs import program_env

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
ENTRYPOINT = DEPLOY / "entrypoint.sh"
HEALTHCHECK = DEPLOY / "healthcheck.py"
GRACE = Settings.model_fields["shutdown_grace_seconds"].default


def _env(tmp_path: Path, database_url: str) -> dict[str, str]:
    """The process environment of a container: this venv's ``breakthrough`` on the PATH."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    return program_env(tmp_path, database_url=database_url, tz="UTC", PATH=path)


async def _run(args: list[str], env: dict[str, str], cwd: Path) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *args,
        env=env,
        cwd=cwd,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


# --------------------------------------------------------------------------- entrypoint


async def test_the_entrypoint_migrates_then_runs_the_command(
    database_url: str, tmp_path: Path
) -> None:
    code, out, err = await _run(
        [str(ENTRYPOINT), "db", "current"], _env(tmp_path, database_url), cwd=tmp_path
    )
    assert code == 0, err
    assert out.splitlines() == [
        f"Migrated from an empty database to {HEAD_REVISION}",  # db upgrade
        f"Database at {HEAD_REVISION} (newest)",  # then: breakthrough db current
    ]


async def test_the_entrypoint_stops_when_the_migration_cannot_run(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    try:
        await upgrade(engine)
        async with engine.begin() as conn:
            await conn.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    finally:
        await engine.dispose()
    code, out, err = await _run(
        [str(ENTRYPOINT), "db", "current"], _env(tmp_path, database_url), cwd=tmp_path
    )
    assert code == 2
    assert "newer than this release knows" in err
    assert out == ""  # the command after the failed migration never ran


def _cmdline(pid: int) -> list[str]:
    raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    return [part.decode() for part in raw.split(b"\0") if part]


async def test_the_entrypoint_becomes_the_bot(database_url: str, tmp_path: Path) -> None:
    """``exec``: the process Docker started (PID 1 in a container) turns into
    ``breakthrough`` itself, so SIGTERM reaches the bot and not a shell."""
    proc = await asyncio.create_subprocess_exec(
        str(ENTRYPOINT),
        "dispatch",
        env=_env(tmp_path, database_url),
        cwd=tmp_path,
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        cmdline: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            cmdline = _cmdline(proc.pid)
            if cmdline and "python" in Path(cmdline[0]).name:
                break
            await asyncio.sleep(0.05)
        assert cmdline[0] == sys.executable or "python" in Path(cmdline[0]).name, cmdline
        assert cmdline[1:] == [str(Path(sys.executable).parent / "breakthrough"), "dispatch"]
        assert await current_revision(database_url) == HEAD_REVISION  # migrated first
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
        await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode in (0, -signal.SIGTERM)


# --------------------------------------------------------------------------- health check


@pytest.fixture
async def healthz() -> AsyncIterator[tuple[int, list[int]]]:
    """A stand-in for the bot's health server: answers /healthz with ``status[0]``."""
    status = [200]

    async def answer(_request: web.Request) -> web.Response:
        return web.Response(status=status[0], text="ok" if status[0] == 200 else "not")

    app = web.Application()
    app.router.add_get("/healthz", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = int(runner.addresses[0][1])
    try:
        yield port, status
    finally:
        await runner.cleanup()


async def test_the_health_check_asks_healthz(
    healthz: tuple[int, list[int]], tmp_path: Path
) -> None:
    port, status = healthz
    env = {
        "PATH": os.environ.get("PATH", ""),
        "BREAKTHROUGH_METRICS_PORT": str(port),
        # A proxy that does not exist: the check must not go through it.
        "http_proxy": "http://127.0.0.1:1",
        "HTTP_PROXY": "http://127.0.0.1:1",
    }
    args = [sys.executable, str(HEALTHCHECK)]
    code, out, _ = await _run(args, env, cwd=tmp_path)
    assert (code, out) == (0, f"http://127.0.0.1:{port}/healthz: HTTP 200\n")
    status[0] = 503
    code, out, _ = await _run(args, env, cwd=tmp_path)
    assert (code, out) == (1, f"http://127.0.0.1:{port}/healthz: HTTP 503\n")


async def test_the_health_check_fails_when_nothing_answers(tmp_path: Path) -> None:
    env = {"PATH": os.environ.get("PATH", ""), "BREAKTHROUGH_METRICS_PORT": "1"}
    code, out, _ = await _run([sys.executable, str(HEALTHCHECK)], env, cwd=tmp_path)
    assert code == 1
    assert "no answer" in out


# --------------------------------------------------------------------------- Dockerfile


def _instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    joined = re.sub(r"\\\n", " ", (DEPLOY / "Dockerfile").read_text(encoding="utf-8"))
    result = []
    for line in joined.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            result.append((word.upper(), rest.strip()))
    return result


def test_the_dockerfile_pins_its_base_image() -> None:
    steps = _instructions()
    [arg] = [rest for word, rest in steps if word == "ARG" and rest.startswith("PYTHON_IMAGE=")]
    assert re.fullmatch(r"PYTHON_IMAGE=python:3\.11\.\d+-slim-bookworm", arg), arg
    froms = [rest for word, rest in steps if word == "FROM"]
    assert froms and all(f.split()[0] == "${PYTHON_IMAGE}" for f in froms)


def test_the_dockerfile_runs_as_a_user_and_installs_no_dev_tools() -> None:
    steps = _instructions()
    users = [rest for word, rest in steps if word == "USER"]
    assert users and users[-1].split(":")[0] not in ("root", "0")
    [install] = [rest for word, rest in steps if word == "RUN" and "pip install" in rest]
    assert install.endswith("pip install .")  # no [test] extra
    envs = " ".join(rest for word, rest in steps if word == "ENV")
    assert "BREAKTHROUGH_ENVIRONMENT=production" in envs
    for word, rest in steps:
        if word == "COPY" and not rest.startswith("--from"):
            for source in rest.split()[:-1]:
                assert (ROOT / source).exists(), source


def test_the_dockerfile_entrypoint_is_exec_form_and_execs_the_bot() -> None:
    steps = dict(_instructions())
    entrypoint = json.loads(steps["ENTRYPOINT"])
    assert entrypoint == ["/usr/local/bin/breakthrough-entrypoint"]
    assert f"COPY deploy/entrypoint.sh {entrypoint[0]}" in {f"{w} {r}" for w, r in _instructions()}
    assert os.access(ENTRYPOINT, os.X_OK)
    script = ENTRYPOINT.read_text(encoding="utf-8").splitlines()
    assert script[0] == "#!/bin/sh"
    assert script[-2:] == ["breakthrough db upgrade", 'exec breakthrough "$@"']
    assert steps["STOPSIGNAL"] == "SIGTERM"
    options, _, command = steps["HEALTHCHECK"].partition("CMD ")
    assert json.loads(command) == ["python", "/usr/local/lib/breakthrough/healthcheck.py"]
    assert "--timeout=5s" in options


def test_the_build_context_leaves_secrets_and_databases_out() -> None:
    ignored = (ROOT / ".dockerignore").read_text(encoding="utf-8").splitlines()
    for pattern in (".env", "**/.env", "*.db", ".venv", ".git"):
        assert pattern in ignored


# --------------------------------------------------------------------------- compose


def _seconds(duration: str) -> float:
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+(?:\.\d+)?)(ms|s|m|h)", duration))


def test_compose_runs_the_bot_on_a_healthy_postgresql_with_a_volume() -> None:
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))
    db, bot = compose["services"]["db"], compose["services"]["bot"]

    assert re.fullmatch(r"postgres:\d+\.\d+", db["image"]), db["image"]
    [volume] = db["volumes"]
    name, _, target = volume.partition(":")
    assert name in compose["volumes"] and target == "/var/lib/postgresql/data"
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])

    assert bot["depends_on"] == {"db": {"condition": "service_healthy"}}
    assert bot["env_file"] == "breakthrough.env"
    assert bot["environment"]["BREAKTHROUGH_DATABASE_URL"].startswith(
        "postgresql+asyncpg://breakthrough:${POSTGRES_PASSWORD}@db:5432/"
    )
    assert bot["healthcheck"]["test"] == [
        "CMD",
        "python",
        "/usr/local/lib/breakthrough/healthcheck.py",
    ]
    assert _seconds(bot["stop_grace_period"]) > GRACE
    assert (DEPLOY / bot["build"]["context"] / bot["build"]["dockerfile"]).resolve() == (
        DEPLOY / "Dockerfile"
    )


# --------------------------------------------------------------------------- systemd


def _unit() -> dict[str, list[str]]:
    entries: dict[str, list[str]] = {}
    for line in (DEPLOY / "breakthrough.service").read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.startswith(("#", ";")):
            key, _, value = line.partition("=")
            entries.setdefault(key.strip(), []).append(value.strip())
    return entries


def test_the_unit_migrates_restarts_and_stops_gently() -> None:
    unit = _unit()
    assert unit["Type"] == ["exec"]
    assert unit["User"] == ["breakthrough"]
    assert unit["EnvironmentFile"] == ["/etc/breakthrough/breakthrough.env"]
    assert unit["ExecStartPre"] == ["/opt/breakthrough/bin/breakthrough db upgrade"]
    assert unit["ExecStart"] == ["/opt/breakthrough/bin/breakthrough"]
    assert unit["Restart"] == ["on-failure"]
    assert unit["KillSignal"] == ["SIGTERM"]
    assert _seconds(unit["TimeoutStopSec"][0]) > GRACE
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "StateDirectory": "breakthrough",
    }.items():
        assert unit[key] == [value], key


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="no systemd-analyze")
def test_the_unit_passes_systemd_analyze_verify(tmp_path: Path) -> None:
    """Verified with the paths pointed at this checkout (verify wants executables that
    exist); any warning about a key or value fails the test."""
    venv_breakthrough = Path(sys.executable).parent / "breakthrough"
    environment = tmp_path / "breakthrough.env"
    environment.write_text("", encoding="utf-8")
    unit = (DEPLOY / "breakthrough.service").read_text(encoding="utf-8")
    unit = unit.replace("/opt/breakthrough/bin/breakthrough", str(venv_breakthrough))
    unit = unit.replace("/etc/breakthrough/breakthrough.env", str(environment))
    path = tmp_path / "breakthrough.service"
    path.write_text(unit, encoding="utf-8")
    result = subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout + result.stderr == ""
