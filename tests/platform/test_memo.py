"""calaim.memo: a value computed once per unit of work, never outside one."""

from calaim.memo import memo_clear, memo_scope, memoized


def test_outside_a_scope_nothing_is_remembered():
    calls = []
    assert memoized("k", lambda: calls.append(1) or len(calls)) == 1
    assert memoized("k", lambda: calls.append(1) or len(calls)) == 2


def test_inside_a_scope_once_per_key_until_cleared_or_closed():
    calls = []

    def count():
        calls.append(1)
        return len(calls)

    with memo_scope():
        assert [memoized("a", count), memoized("a", count)] == [1, 1]
        assert memoized("b", count) == 2
        memo_clear()
        assert memoized("a", count) == 3
        with memo_scope():  # a nested scope starts empty and ends with its block
            assert memoized("a", count) == 4
        assert memoized("a", count) == 3
    assert memoized("a", count) == 5
