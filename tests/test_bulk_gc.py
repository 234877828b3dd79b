"""medins.bulk.without_cyclic_gc: the collector is paused while a visit batch runs and resumes
after the last of nested or concurrent calls, also when the call raises."""

import gc

import pytest

from medins.bulk import without_cyclic_gc


def test_the_collector_is_paused_during_the_call_and_resumes_after_the_outermost():
    seen = []

    @without_cyclic_gc
    def inner():
        seen.append(("inner", gc.isenabled()))

    @without_cyclic_gc
    def outer():
        seen.append(("outer", gc.isenabled()))
        inner()
        seen.append(("outer after inner", gc.isenabled()))
        raise ValueError("a refused batch")

    assert gc.isenabled()
    with pytest.raises(ValueError):
        outer()
    assert seen == [("outer", False), ("inner", False), ("outer after inner", False)]
    assert gc.isenabled()


def test_a_collector_already_disabled_stays_disabled():
    gc.disable()
    try:
        without_cyclic_gc(lambda: None)()
        assert not gc.isenabled()
    finally:
        gc.enable()
