"""Compiled code goes to a cache directory shared by the test session (and kept between
runs, so numba's cache makes later runs fast): ``.pytest_cache/tapeviz`` in the repository,
or, if tapeviz would refuse that folder (a checkout that another user owns, or a read-only
one), a private temporary one."""

from __future__ import annotations

import os

import pytest

from tapeviz._diskcache import folder_problem


@pytest.fixture(autouse=True, scope="session")
def _tapeviz_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    if "TAPEVIZ_CACHE_DIR" not in os.environ:
        root = os.path.join(os.path.dirname(__file__), "..", "..", ".pytest_cache", "tapeviz")
        root = os.path.abspath(root)
        try:
            os.makedirs(root, mode=0o700, exist_ok=True)
            usable = folder_problem(root) is None
        except OSError:  # a read-only checkout
            usable = False
        if not usable:
            root = str(tmp_path_factory.mktemp("tapeviz-cache"))
        os.environ["TAPEVIZ_CACHE_DIR"] = root
