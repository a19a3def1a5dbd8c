"""The converter's public surface: what other packages import from ``ical_bridge.convert``."""

from __future__ import annotations

import ical_bridge.convert as convert


def test_every_listed_name_exists_and_the_list_is_sorted() -> None:
    assert convert.__all__ == sorted(convert.__all__)
    for name in convert.__all__:
        assert hasattr(convert, name), name
    assert {"convert_calendar", "export_calendar", "to_json", "ImportOptions"} <= set(
        convert.__all__
    )


def test_import_options_contract_defaults() -> None:
    from datetime import time, timedelta

    fields = convert.ImportOptions.__dataclass_fields__
    assert list(fields) == [
        "now", "default_tz", "strategy", "window", "all_day_time", "include_todos",
        "categories_to_spaces", "source_key", "split_cap", "pin_priority", "local_tz",
        "fast_path", "choices",
    ]  # fmt: skip
    options = convert.ImportOptions(now=__import__("datetime").datetime(2026, 1, 1))
    assert (options.strategy, options.window, options.all_day_time, options.split_cap) == (
        "auto", timedelta(days=90), time(0, 0), 7,
    )  # fmt: skip
    assert dict(options.categories_to_spaces) == {} and options.source_key == ""
    assert options.pin_priority is False  # MAPPING.md: optional, off by default
    assert options.local_tz is None  # pure: the CLI passes the system's zone in
