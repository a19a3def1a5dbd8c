"""The daemon's status page: every feed's health, last/next pass, last error and recent passes.

Pure HTML from plain rows (the daemon fills them from the state store and its
pass history); every value is escaped. It is served at ``/`` under the same
rule as the feed index (loopback, or ``?token=<index_token>``), because the
export links below it carry their secret tokens.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

__all__ = ["PassRow", "StatusRow", "page", "status_section"]

_STYLE = """
body{font:15px/1.4 system-ui,sans-serif;margin:1.5rem;color:#1d2330;background:#fafbfc}
h1{font-size:1.4rem;margin:0 0 .2rem}h2{font-size:1.1rem;margin:1.6rem 0 .5rem}
.meta{color:#5b6475;margin:0 0 1rem}table{border-collapse:collapse;width:100%;background:#fff}
th,td{text-align:left;padding:.45rem .6rem;border-bottom:1px solid #e3e6ec;vertical-align:top}
th{font-size:.8rem;text-transform:uppercase;letter-spacing:.03em;color:#5b6475}
.health{display:inline-block;padding:.1rem .5rem;border-radius:1rem;font-weight:600;
font-size:.8rem;color:#fff}.ok{background:#1f8a4c}.failing{background:#c62f2f}
.suspicious{background:#c77700}.never,.disabled{background:#7a8292}
.err{color:#a02020;font-size:.85rem;max-width:28rem;overflow-wrap:anywhere}
.hist{display:flex;gap:3px}.hist span{width:12px;height:18px;border-radius:2px}
.summary{display:flex;gap:1rem;margin:0 0 1rem}.summary b{font-size:1.3rem}
"""


@dataclass(frozen=True)
class PassRow:
    """One recent pass of a feed."""

    at: datetime
    outcome: str
    ms: int
    error: str | None = None


@dataclass(frozen=True)
class StatusRow:
    """One feed as the status page shows it."""

    name: str
    account: str
    project: str
    source: str  # already redacted
    health: str  # ok | failing | suspicious | never | disabled
    last_attempt: datetime | None = None
    last_success: datetime | None = None
    next_run: datetime | None = None
    failures: int = 0
    last_error: str | None = None
    history: Sequence[PassRow] = field(default_factory=tuple)


def _when(value: datetime | None, now: datetime, *, due: bool = False) -> str:
    if value is None:
        return "—"
    seconds = int((value - now).total_seconds())
    if due and seconds <= 0:
        return f'<time datetime="{value.isoformat()}">due now</time>'

    span = abs(seconds)
    text = (
        f"{span} s" if span < 120 else f"{span // 60} min" if span < 7200 else f"{span // 3600} h"
    )
    relative = f"in {text}" if seconds > 0 else f"{text} ago"
    stamp = value.strftime("%Y-%m-%d %H:%M:%S UTC")
    return f'<time datetime="{value.isoformat()}" title="{stamp}">{relative}</time>'


def _colour(outcome: str) -> str:
    if outcome in ("failed", "partial"):
        return "#c62f2f"
    if outcome == "suspicious":
        return "#c77700"
    if outcome in ("not_modified", "unchanged"):
        return "#8fc9a3"
    return "#1f8a4c"


def _history(rows: Sequence[PassRow]) -> str:
    cells = "".join(
        f'<span style="background:{_colour(p.outcome)}" '
        f'title="{html.escape(p.at.strftime("%H:%M:%S"))} {html.escape(p.outcome)} {p.ms} ms'
        f'{html.escape(": " + p.error) if p.error else ""}"></span>'
        for p in rows
    )
    return f'<div class="hist" data-passes="{len(rows)}">{cells or "—"}</div>'


def status_section(rows: Sequence[StatusRow], now: datetime) -> str:
    """The feeds table with a one-line summary of healths above it."""
    tally: dict[str, int] = {}
    for row in rows:
        tally[row.health] = tally.get(row.health, 0) + 1
    summary = "".join(
        f'<div><span class="health {h}">{h}</span> <b>{n}</b></div>'
        for h, n in sorted(tally.items())
    )
    body = "".join(
        f'<tr data-feed="{html.escape(r.name)}" data-health="{html.escape(r.health)}">'
        f"<td><b>{html.escape(r.name)}</b><br><small>{html.escape(r.source)}</small></td>"
        f"<td>{html.escape(r.account)}</td><td>{html.escape(r.project)}</td>"
        f'<td><span class="health {html.escape(r.health)}">{html.escape(r.health)}</span>'
        + (f"<br><small>{r.failures} failure(s) in a row</small>" if r.failures else "")
        + f"</td><td>{_when(r.last_attempt, now)}</td><td>{_when(r.last_success, now)}</td>"
        f"<td>{_when(r.next_run, now, due=True)}</td>"
        f'<td class="err">{html.escape(r.last_error or "")}</td>'
        f"<td>{_history(r.history)}</td></tr>"
        for r in rows
    )
    head = (
        "<tr><th>Feed</th><th>Account</th><th>Project</th><th>Health</th><th>Last pass</th>"
        "<th>Last success</th><th>Next pass</th><th>Last error</th>"
        '<th title="oldest to newest; green: synced, pale: no change, red: failed">'
        "Recent passes</th></tr>"
    )
    return (
        f'<h2>Feeds</h2><div class="summary">{summary}</div>'
        f'<table id="feeds"><thead>{head}</thead><tbody>{body}</tbody></table>'
    )


def page(section: str, export_rows: Sequence[str]) -> str:
    """The whole status page: the feeds section, then the export subscription links."""
    exports = "<ul>" + "".join(export_rows) + "</ul>" if export_rows else "<p>none</p>"
    return (
        "<!doctype html><html lang=en><meta charset=utf-8>"
        "<meta name=referrer content=no-referrer>"
        '<meta name=viewport content="width=device-width,initial-scale=1">'
        f"<title>ical-bridge status</title><style>{_STYLE}</style>"
        '<h1>ical-bridge status</h1><p class="meta">This page refreshes itself every 30 s.</p>'
        '<meta http-equiv="refresh" content="30">'
        f"{section}<h2>Exports</h2>{exports}</html>"
    )
