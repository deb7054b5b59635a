"""``IdentityMemo``: a value per argument objects, found by identity, never by equality."""

from __future__ import annotations

import pytest

from features.identity_memo import IdentityMemo


def test_the_same_objects_are_computed_once_and_equal_copies_again() -> None:
    calls: list[tuple[object, ...]] = []

    def compute(*args: object) -> int:
        calls.append(args)
        return len(calls)

    memo = IdentityMemo(compute, size=4)
    specs, other = ("a", "b"), ("c",)
    assert memo(specs, other) == 1
    assert memo(specs, other) == 1  # found by identity
    copy = tuple(list(specs))
    assert copy == specs and copy is not specs
    assert memo(copy, other) == 2  # equal, but another object: computed again
    assert len(calls) == 2


def test_entries_past_the_size_are_dropped_and_a_failure_is_not_remembered() -> None:
    runs = 0

    def compute(key: object) -> object:
        nonlocal runs
        runs += 1
        if key == "bad":
            raise ValueError("bad key")
        return key

    memo = IdentityMemo(compute, size=2)
    first, second, third = object(), object(), object()
    memo(first), memo(second), memo(third)  # the third clears the two before it
    memo(third)
    assert runs == 3
    memo(first)
    assert runs == 4
    for _ in range(2):
        with pytest.raises(ValueError, match="bad key"):
            memo("bad")
    assert runs == 6
