"""Many tickward accounts in one deployment: one ``Bridge`` per account, side by side.

``[tickward]`` is the ``default`` account; ``[[accounts]]`` add named ones, and
each ``[[feeds]]``/``[[exports]]`` entry picks one with ``account = "name"``.
tickward's rate limit is per user, so each account gets its own client (one
``Pacer``, shared by everything that talks for that account), its own ``/sync``
snapshot, its own pass lock and its own scheduler jobs: an account answering
429s or not at all only ever delays its own feeds. Feed state is per feed (names
are unique across accounts); the small key/value state (snapshot, ETag,
maintenance time) is kept under an ``account:<name>:`` prefix for named accounts,
while the default account keeps the unprefixed keys an existing state already has.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from datetime import timedelta
from typing import Any

import httpx

from ical_bridge.clock import Clock, SystemClock
from ical_bridge.config import DEFAULT_ACCOUNT, AccountConfig, BridgeConfig, TickwardConfig
from ical_bridge.daemon.bridge import Bridge, prune_claim
from ical_bridge.daemon.runner import PassResult
from ical_bridge.errors import ConfigError
from ical_bridge.metrics import PASS_DURATION, PASSES
from ical_bridge.store import StateStore
from ical_bridge.tickward import TickwardClient

__all__ = [
    "CURRENT_ACCOUNT",
    "HISTORY_LENGTH",
    "AccountBridge",
    "Fleet",
    "account_key",
    "account_targets",
    "scoped_store",
]

log = logging.getLogger("ical_bridge.daemon")

CURRENT_ACCOUNT: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "ical_bridge_account", default=None
)
HISTORY_LENGTH = 12  # recent passes kept per feed for the status page
_QUIET = ("waiting", "noop")


def account_targets(config: BridgeConfig) -> dict[str, TickwardConfig]:
    """Every account some enabled feed or export uses: name → where its timers live."""
    named: dict[str, TickwardConfig] = {a.name: a for a in config.accounts}
    used = [f.account for f in config.feeds if f.enabled] + [e.account for e in config.exports]
    targets: dict[str, TickwardConfig] = {}
    for name in [DEFAULT_ACCOUNT, *named]:  # config order, the default first
        if name in used:
            targets[name] = config.tickward if name == DEFAULT_ACCOUNT else named[name]
    if not targets:
        targets[DEFAULT_ACCOUNT] = config.tickward
    return targets


def account_key(target: TickwardConfig, name: str) -> str | None:
    """A named account's API key from its environment variable (never from the file)."""
    if not isinstance(target, AccountConfig) or target.local is not None:
        return None
    key = target.api_key()
    if key is None:
        raise ConfigError(
            f"account {name!r}: the environment variable {target.api_key_env} (api_key_env) "
            "is not set"
        )
    return key


class _ScopedStore(StateStore):
    """The same database as ``base``; only the key/value entries get a prefix."""

    def __init__(self, base: StateStore, prefix: str) -> None:
        self.__dict__.update(base.__dict__)
        self._kv_prefix = prefix

    def kv_get(self, key: str) -> str | None:
        """The value of ``key`` in this account's namespace."""
        return super().kv_get(self._kv_prefix + key)

    def kv_set(self, key: str, value: str) -> None:
        """Set ``key`` in this account's namespace."""
        super().kv_set(self._kv_prefix + key, value)

    def kv_delete(self, key: str) -> None:
        """Remove ``key`` from this account's namespace."""
        super().kv_delete(self._kv_prefix + key)

    def close(self) -> None:
        """A view does not close the shared database."""


def scoped_store(store: StateStore, account: str) -> StateStore:
    """``store`` as one account sees it (the default account sees it unchanged)."""
    return store if account == DEFAULT_ACCOUNT else _ScopedStore(store, f"account:{account}:")


class AccountBridge(Bridge):
    """A ``Bridge`` over one account's feeds that records metrics and recent passes."""

    def __init__(
        self,
        account: str,
        config: BridgeConfig,
        store: StateStore,
        client: TickwardClient,
        *,
        history: dict[str, deque[tuple[Any, PassResult]]] | None = None,
        **options: Any,
    ) -> None:
        own = config.model_copy(
            update={"feeds": [f for f in config.feeds if f.account == account]}
        )
        super().__init__(own, scoped_store(store, account), client, **options)
        self.account = account
        # Accounts prune side by side: sharing one claim would skip all but one of them.
        self.prune_claim = prune_claim(account)
        self.history = history if history is not None else {}

    async def run_feed(self, name: str, *, force: bool = False) -> PassResult | None:
        """One pass for feed ``name`` (see ``Bridge.run_feed``), counted in the metrics."""
        token = CURRENT_ACCOUNT.set(self.account)
        try:
            result = await super().run_feed(name, force=force)
        finally:
            CURRENT_ACCOUNT.reset(token)
        if result is not None:
            self._record([result])
        return result

    async def run_all(self, *, force: bool = False) -> list[PassResult]:
        """One pass over this account's feeds (see ``Bridge.run_all``)."""
        token = CURRENT_ACCOUNT.set(self.account)
        try:
            results = await super().run_all(force=force)
        finally:
            CURRENT_ACCOUNT.reset(token)
        self._record(results)
        return results

    async def maintain(self, *, if_older_than: timedelta | None = None) -> list[PassResult]:
        """The maintenance re-plan of this account's feeds (see ``Bridge.maintain``)."""
        token = CURRENT_ACCOUNT.set(self.account)
        try:
            results = await super().maintain(if_older_than=if_older_than)
        finally:
            CURRENT_ACCOUNT.reset(token)
        self._record(results)
        return results

    def _record(self, results: Iterable[PassResult]) -> None:
        now = self.clock.now()
        for result in results:
            PASSES.labels(self.account, result.outcome).inc()
            if result.outcome in _QUIET:
                continue
            PASS_DURATION.labels(self.account).observe(result.ms / 1000)
            self.history.setdefault(result.feed, deque(maxlen=HISTORY_LENGTH)).append(
                (now, result)
            )


class Fleet:
    """Every account's ``AccountBridge``; passes of different accounts run concurrently."""

    def __init__(
        self,
        config: BridgeConfig,
        store: StateStore,
        clients: dict[str, TickwardClient],
        *,
        clock: Clock | None = None,
        fetch_transport: httpx.AsyncBaseTransport | None = None,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
        **options: Any,
    ) -> None:
        self.config = config
        self.store = store
        self.clients = clients
        # each client's transport (network or embedded app), for readiness probes
        self.transports = dict(transports or {})
        self.clock: Clock = clock or SystemClock()
        self.history: dict[str, deque[tuple[Any, PassResult]]] = {}
        self.bridges: dict[str, AccountBridge] = {
            name: AccountBridge(
                name, config, store, client, clock=self.clock, history=self.history,
                fetch_transport=fetch_transport, **options,
            )
            for name, client in clients.items()
        }

    @property
    def all(self) -> Sequence[AccountBridge]:
        """The bridges, default account first, then in config order."""
        return list(self.bridges.values())

    def bridge_of(self, feed: str) -> AccountBridge | None:
        """The bridge that syncs feed ``feed``."""
        return next((b for b in self.bridges.values() if feed in b.specs), None)

    async def run_all(self, *, force: bool = False) -> list[PassResult]:
        """One pass over every feed of every account, accounts side by side (config order)."""
        return await self._each(lambda b: b.run_all(force=force))

    async def maintain(self, *, if_older_than: timedelta | None = None) -> list[PassResult]:
        """Maintenance of every account, side by side."""
        return await self._each(lambda b: b.maintain(if_older_than=if_older_than))

    async def _each(self, call: Callable[[AccountBridge], Any]) -> list[PassResult]:
        per_account = await asyncio.gather(*(call(b) for b in self.bridges.values()))
        done = {r.feed: r for results in per_account for r in results}
        order = [f.name for f in self.config.feeds]
        return [done[name] for name in order if name in done]
