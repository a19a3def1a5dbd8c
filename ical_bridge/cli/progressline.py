"""One line of progress on a terminal's stderr while a large calendar is read and converted.

A 100,000-event feed takes a quarter of a minute to convert; without a word
on the terminal that looks like a hang. ``ProgressLine`` says what is going
on in one line it rewrites in place (``\\r``) and erases when the work is done,
so nothing is left between the command and its output:

- only on a terminal (stderr a TTY, ``TERM`` not ``dumb``): a pipe, a file or
  a log gets nothing, and stdout (the table, ``--json``) is never touched;
- a large input (``BIG_INPUT`` bytes or more) is announced at once, before it
  is read; otherwise the line appears only once the work has taken
  ``DELAY`` seconds, so a small calendar shows nothing at all;
- redrawn at most every ``INTERVAL`` seconds, and not imported with rich:
  ``convert small.ics`` stays as light as it is.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import TextIO

__all__ = ["BIG_INPUT", "DELAY", "INTERVAL", "ProgressLine", "progress_label"]

BIG_INPUT = 1 << 20
"""Inputs this large (bytes) are announced before they are read."""
DELAY = 0.5
"""Seconds of work before the line appears for a smaller input."""
INTERVAL = 0.1
"""Least seconds between two redraws."""
_ERASE = "\r\x1b[K"


class ProgressLine:
    """``update(done, total)`` as a conversion's ``progress``; ``close()`` (or the ``with``
    block's end) erases the line. Inactive (it writes nothing) unless ``stream`` is a
    terminal."""

    def __init__(self, label: str, stream: TextIO | None = None, *,
                 clock: Callable[[], float] = time.monotonic) -> None:  # fmt: skip
        self.stream = sys.stderr if stream is None else stream
        self.label = label
        self.clock = clock
        self.active = _is_terminal(self.stream)
        self.started = clock()
        self.drawn = 0.0  # when the line was last drawn; 0: never
        self.shown = False

    def __enter__(self) -> ProgressLine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def reading(self, size: int) -> None:
        """The input (``size`` bytes) is about to be read: say so now if it is large."""
        if size >= BIG_INPUT:
            self._draw(f"{self.label}: reading {size / (1 << 20):.1f} MB…")

    def update(self, done: int, total: int) -> None:
        """``done`` of ``total`` events are converted."""
        if not self.active:
            return
        now = self.clock()
        if not self.shown and now - self.started < DELAY:
            return
        if self.shown and now - self.drawn < INTERVAL and done < total:
            return
        percent = 100 * done // total if total else 100
        self._draw(f"{self.label}: {done:,} of {total:,} events ({percent}%)", now=now)

    def close(self) -> None:
        """Erase the line (if it was ever drawn)."""
        if self.shown:
            self._write(_ERASE)
            self.shown = False

    def _draw(self, text: str, *, now: float | None = None) -> None:
        if not self.active:
            return
        self._write(_ERASE + text)
        self.shown = True
        self.drawn = self.clock() if now is None else now

    def _write(self, text: str) -> None:
        try:
            self.stream.write(text)
            self.stream.flush()
        except (OSError, ValueError):  # a closed terminal: progress is not worth a failure
            self.active = False


def progress_label(source: str) -> str:
    """What the line calls ``source``: a file's name, ``stdin``, or a URL's host alone (a
    feed's address may carry its secret token in the path or the query)."""
    if source == "-":
        return "stdin"
    if "://" in source:
        from urllib.parse import urlsplit

        try:
            name = urlsplit(source).hostname or "the feed"
        except ValueError:
            name = "the feed"
    else:
        name = os.path.basename(source.rstrip("/\\")) or source
    # a file name is not to move the cursor or recolour the terminal
    return "".join(c if c.isprintable() else "?" for c in name)


def _is_terminal(stream: TextIO) -> bool:
    if os.environ.get("TERM") == "dumb":
        return False
    try:
        return bool(stream.isatty())
    except (AttributeError, ValueError):
        return False
