"""Subscribable feeds: tickward projects served as ``.ics`` over HTTP, plus a webhook receiver."""

from __future__ import annotations

from ical_bridge.feeds.render import ExportFeed, Selection, render_feed, select, share_origin

__all__ = ["ExportFeed", "Selection", "render_feed", "select", "share_origin"]
