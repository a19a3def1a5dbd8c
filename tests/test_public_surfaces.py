"""Every package's public surface: a sorted, complete ``__all__`` and documented public names."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest


def _isort_style(item: str) -> tuple[int, str]:
    """CONSTANTS, then Classes, then functions (the order ruff's RUF022 keeps)."""
    return (0 if item.isupper() else 1 if item[0].isupper() else 2, item)


PACKAGES = ["convert", "daemon", "feeds", "ingest", "store", "sync", "tickward"]


@pytest.mark.parametrize("name", PACKAGES)
def test_every_listed_name_exists_and_the_list_is_sorted(name: str) -> None:
    package = importlib.import_module(f"ical_bridge.{name}")
    listed = package.__all__
    assert listed == sorted(listed, key=_isort_style), "sort it with ruff's RUF022"
    for item in listed:
        assert hasattr(package, item), f"{name}.{item}"


@pytest.mark.parametrize("name", PACKAGES)
def test_every_module_declares_all_and_documents_its_public_names(name: str) -> None:
    package = importlib.import_module(f"ical_bridge.{name}")
    for info in pkgutil.iter_modules(package.__path__):
        module = importlib.import_module(f"ical_bridge.{name}.{info.name}")
        assert isinstance(getattr(module, "__all__", None), list), info.name
        for item in module.__all__:
            value = getattr(module, item)
            if inspect.isclass(value) or inspect.isfunction(value):
                assert value.__doc__, f"{name}.{info.name}.{item} has no docstring"
