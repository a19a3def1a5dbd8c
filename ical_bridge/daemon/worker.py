"""Converting a feed in a worker process, under a time budget.

Converting is pure CPU and a hostile calendar can make it take minutes (a few
``COUNT`` rules that never match). Run on the daemon's event loop it would stall
the feed server, every other feed and SIGTERM; run in a thread it could not be
stopped. So each conversion runs in a short-lived child process
(``python -m ical_bridge.daemon.worker``, about 0.2 s to start): the event loop
only waits on its pipe, a conversion over ``budget`` seconds is killed and
becomes an error for that feed alone, and a cancelled pass (shutdown) kills its
worker on the way out. The worker also sets itself an ``RLIMIT_CPU`` a little
above the budget, in case the daemon dies without killing it.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import math
import pickle
import sys
from typing import Any

from ical_bridge.convert import ConversionResult, ImportOptions, convert_calendar
from ical_bridge.errors import (
    ConfigError,
    IcalBridgeError,
    NotACalendarError,
    SourceError,
    UserError,
)

__all__ = ["DEFAULT_CONVERT_BUDGET", "convert_isolated"]

DEFAULT_CONVERT_BUDGET = 60.0  # seconds of conversion per feed and pass
_KNOWN: dict[str, type[IcalBridgeError]] = {
    e.__name__: e for e in (UserError, ConfigError, NotACalendarError)
}


async def convert_isolated(
    text: str, options: ImportOptions, *, budget: float = DEFAULT_CONVERT_BUDGET, what: str = ""
) -> ConversionResult:
    """``convert_calendar(text, options)`` in a worker process; ``SourceError`` past ``budget`` s.

    ``what`` names the feed in messages.
    """
    request = pickle.dumps((text, options, budget), protocol=pickle.HIGHEST_PROTOCOL)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "ical_bridge.daemon.worker",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        async with asyncio.timeout(budget):
            raw, _ = await process.communicate(request)
    except TimeoutError:
        raise SourceError(
            f"{what or 'feed'}: converting took more than the {budget:g} s budget "
            "(a calendar this costly is refused; raise convert_budget to allow it)",
            source=what,
        ) from None
    finally:
        if process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
    if process.returncode != 0 or not raw:
        raise SourceError(
            f"{what or 'feed'}: the conversion worker ended without an answer "
            f"(exit code {process.returncode}; over its CPU limit or out of memory?)",
            source=what,
        )
    message: tuple[Any, ...] = pickle.loads(raw)
    if message[0] == "ok":
        result: ConversionResult = message[1]
        return result
    _, kind, reason = message
    if kind == "internal":
        raise RuntimeError(reason)
    raise _KNOWN.get(kind, UserError)(reason)


def _convert(text: str, options: ImportOptions) -> tuple[Any, ...]:
    try:
        return ("ok", convert_calendar(text, options))
    except IcalBridgeError as exc:
        return ("error", type(exc).__name__, str(exc))
    except Exception as exc:  # a converter bug: reported like the in-process path would
        return ("error", "internal", f"{type(exc).__name__}: {exc}")


def _main() -> None:
    """Worker process: read the pickled request on stdin, write the pickled answer."""
    text, options, budget = pickle.loads(sys.stdin.buffer.read())
    with contextlib.suppress(ImportError, ValueError, OSError):
        import resource

        seconds = math.ceil(budget) + 2
        resource.setrlimit(resource.RLIMIT_CPU, (seconds, seconds + 1))
    answer = pickle.dumps(_convert(text, options), protocol=pickle.HIGHEST_PROTOCOL)
    sys.stdout.buffer.write(answer)
    sys.stdout.buffer.flush()


if __name__ == "__main__":
    # One bounded conversion, then the process ends: no collector pass need walk its objects
    # (the conversion pauses the collector anyway; this spares the pickling after it a pass
    # over every draft, and the interpreter's exit its last collections).
    gc.disable()
    _main()
    gc.freeze()
