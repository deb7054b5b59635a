"""Values computed once per argument objects, found by identity instead of equality.

``functools.lru_cache`` finds its entry by hashing and comparing the arguments on every call. A
model's ~90 feature specs, each with its structured wording (``features.definitions.wording``),
cost 75-130 µs of CPU to hash that way: more than the rest of a one-entity request's per-model
work, and paid per entity where a request reads a model fact per entity. The service passes the
very same model-held objects on every request, so ``IdentityMemo`` finds them by ``id``; each entry
holds its argument objects, so an ``id`` cannot be reused by another object while its entry lives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

V = TypeVar("V")


class IdentityMemo(Generic[V]):
    """``compute(*args)`` remembered for the very objects ``args`` (positional only).

    Takes ``compute`` (a pure function of its arguments' values) and ``size``, the entries kept
    before all are dropped (one per model and task is the intended use: a handful). Arguments
    equal to earlier ones but other objects are a miss: ``compute`` runs again (wrap it in
    ``lru_cache`` too when equal copies are common). Raises whatever ``compute`` raises, and
    remembers nothing then. Safe under threads: a race computes the value twice, never wrongly.
    """

    def __init__(self, compute: Callable[..., V], *, size: int) -> None:
        self._compute = compute
        self._size = size
        self._entries: dict[tuple[int, ...], tuple[tuple[object, ...], V]] = {}

    def __call__(self, *args: object) -> V:
        key = tuple(map(id, args))
        known = self._entries.get(key)
        if known is not None and all(a is b for a, b in zip(known[0], args, strict=True)):
            return known[1]
        value = self._compute(*args)
        if len(self._entries) >= self._size:
            self._entries.clear()
        self._entries[key] = (args, value)
        return value
