"""Shared pytest configuration for the tapeviz test suite."""

import os
from collections.abc import Iterator

import pytest
from hypothesis import HealthCheck, settings

# deadline=None: the first call of a numba kernel compiles it, which takes far longer than
# hypothesis' default 200 ms deadline. Pick another profile with HYPOTHESIS_PROFILE=dev.
settings.register_profile(
    "ci",
    deadline=None,
    max_examples=50,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.register_profile("dev", deadline=None, max_examples=10)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

# tv.function compiles on the first call in tests (TAPEVIZ_TIERED=0), so that a test of
# compiled code runs compiled code, in this process and in the processes tests start; the
# tests of tiered execution (tests/function/test_tiered.py) switch it on themselves.
os.environ.setdefault("TAPEVIZ_TIERED", "0")


@pytest.fixture(autouse=True)
def _english_pictures() -> Iterator[None]:
    """Every test starts with tapeviz's pictures in English, whatever a test before chose."""
    from tapeviz.viz import messages

    messages.set_language("en")
    yield
    messages.set_language("en")
