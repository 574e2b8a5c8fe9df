"""Fixtures shared by the tests that drive `harness run` in a real process (layer: tests).

`store` is a fresh result store per test; after the test (passed, failed or timed out)
every cluster that store recorded is swept, so a killed run leaves nothing behind.
The `harness` helper itself is tests/harness_runs.py.
"""

import pytest

from harness_runs import harness


@pytest.fixture
def store(tmp_path):
    path = tmp_path / "store"
    try:
        yield path
    finally:  # the runner tears down; this catches a run killed by the timeout
        harness("cluster", "down", "--all", "--store", str(path), timeout=120)
