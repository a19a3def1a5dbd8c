"""``python -m ical_bridge`` runs the command line."""

from __future__ import annotations

from ical_bridge.cli import main

if __name__ == "__main__":
    main()
