"""``breakthrough`` in a process of its own, as a service manager runs and stops it (its
environment comes from ``tests.programs.program_env``)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
import time
from pathlib import Path

__all__ = ["ROOT", "Program"]

ROOT = Path(__file__).resolve().parents[2]


class Program:
    """One ``python -m bots.cli ARGS`` process; its output is collected as it comes."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        self.proc = proc
        self.out: list[str] = []
        self.err: list[str] = []
        assert proc.stdout is not None and proc.stderr is not None
        self._readers = [
            asyncio.create_task(self._read(proc.stdout, self.out)),
            asyncio.create_task(self._read(proc.stderr, self.err)),
        ]

    @classmethod
    async def start(
        cls, *args: str, env: dict[str, str], ready: str, stdin: bool = False
    ) -> Program:
        """Start ``breakthrough ARGS`` and wait until it prints a line containing ``ready``.

        With ``stdin`` its standard input is a pipe left open (a person who types nothing).
        """
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bots.cli",
            *args,
            env=env,
            cwd=ROOT,
            stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        program = cls(proc)
        try:
            await program.wait_output(ready, timeout=30.0)
        except BaseException:
            await program.kill()
            raise
        return program

    @staticmethod
    async def _read(stream: asyncio.StreamReader, into: list[str]) -> None:
        while line := await stream.readline():
            into.append(line.decode())

    @property
    def output(self) -> str:
        return "".join(self.out) + "".join(self.err)

    @property
    def running(self) -> bool:
        return self.proc.returncode is None

    async def wait_output(self, text: str, *, timeout: float = 10.0) -> str:  # noqa: ASYNC109
        """Wait until a line of its output contains ``text``; return that line."""
        deadline = time.monotonic() + timeout
        while True:
            for line in self.out + self.err:
                if text in line:
                    return line
            if not self.running and all(r.done() for r in self._readers):
                code = self.proc.returncode
                raise AssertionError(f"exited {code} before {text!r}:\n{self.output}")
            if time.monotonic() > deadline:
                raise AssertionError(f"no {text!r} within {timeout} s:\n{self.output}")
            await asyncio.sleep(0.01)

    def signal(self, sig: int = signal.SIGTERM) -> None:
        self.proc.send_signal(sig)

    async def exit_code(self, *, timeout: float = 30.0) -> int:  # noqa: ASYNC109
        """Wait for the process to end (and its output to be read); its exit code."""
        code = await asyncio.wait_for(self.proc.wait(), timeout)
        await asyncio.gather(*self._readers)
        return code

    async def kill(self) -> None:
        """End it for good (a test that failed half-way), and print what it wrote: pytest
        shows it under "Captured stdout" when the test fails, whatever the failure."""
        if self.running:
            with contextlib.suppress(ProcessLookupError):
                self.proc.kill()
        await self.proc.wait()
        await asyncio.gather(*self._readers, return_exceptions=True)
        print(f"--- output of the program (exit code {self.proc.returncode}) ---\n{self.output}")
