"""Reading a line from the terminal without holding up the program's exit.

``asyncio.to_thread`` reads in the loop's default executor, whose threads ``asyncio.run``
joins before it returns: after Ctrl-C (or SIGTERM) at the ``>`` prompt the program
stopped everything else and then waited, silently, for a line that nobody was going to
type. A daemon thread per line is abandoned at exit instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from typing import TextIO

__all__ = ["read_line"]


async def read_line(stream: TextIO) -> str:
    """The next line of ``stream`` (``""`` at its end), read in a daemon thread."""
    loop = asyncio.get_running_loop()
    done: asyncio.Future[str] = loop.create_future()

    def deliver(line: str | None, error: BaseException | None) -> None:
        if done.cancelled():
            return  # the caller stopped waiting (Ctrl-C): the line is dropped
        if error is not None:
            done.set_exception(error)
        else:
            done.set_result(line or "")

    def read() -> None:
        try:
            line = stream.readline()
        except Exception as exc:
            result: tuple[str | None, BaseException | None] = (None, exc)
        else:
            result = (line, None)
        # RuntimeError: the loop closed while this thread waited for the line.
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(deliver, *result)

    threading.Thread(target=read, name="console stdin", daemon=True).start()
    return await done
