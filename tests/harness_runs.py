"""`harness ARGS...` in a real process, as a user runs it (layer: tests)."""

import subprocess
import sys


def harness(*argv, timeout: float = 300) -> subprocess.CompletedProcess:
    """The finished process (text stdout/stderr); raises TimeoutExpired past `timeout` s."""
    return subprocess.run([sys.executable, "-m", "harness", *argv], capture_output=True,
                          text=True, timeout=timeout)
