"""Fixtures of the engine tests."""

from __future__ import annotations

import warnings
from typing import Any

import pytest


@pytest.fixture
def no_warnings() -> Any:
    """Any warning raised inside the test fails it."""
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        yield
