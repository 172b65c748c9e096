"""A memo for one unit of work: look a thing up once per batch, not per item.

A worker that handles a group of items in one transaction (the HL7 processor
handles up to 20 messages per commit) reads the same rows for each item: the
service account it acts as, an organization's supervisors. `memo_scope()` opens
a memo for the group; `memoized(key, factory)` returns the value computed the
first time in that scope. Outside a scope nothing is remembered, so a service
called from a request or a test behaves exactly as before.

Keep a scope inside one transaction, and clear it (`memo_clear`) when a
savepoint rolls back: a value created in the rolled-back part (a service account
made on first use, say) no longer exists in the database.
"""

from collections.abc import Callable, Hashable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import TypeVar

T = TypeVar("T")

_memo: ContextVar[dict | None] = ContextVar("calaim_memo", default=None)


@contextmanager
def memo_scope() -> Iterator[None]:
    """Remember `memoized` values until the block ends."""
    token = _memo.set({})
    try:
        yield
    finally:
        _memo.reset(token)


def memoized(key: Hashable, factory: Callable[[], T]) -> T:
    """The value of `key` in the current scope, computed by `factory` once; with
    no scope open, `factory()` every time."""
    memo = _memo.get()
    if memo is None:
        return factory()
    try:
        return memo[key]
    except KeyError:
        value = memo[key] = factory()
        return value


def memo_clear() -> None:
    """Forget everything remembered in the current scope (after a rollback)."""
    memo = _memo.get()
    if memo is not None:
        memo.clear()
