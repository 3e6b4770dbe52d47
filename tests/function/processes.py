"""Running Python code in a new process (what a user's next session does: a first call
whose machine code comes from the cache directory)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def run_python(code: str, env: dict[str, str]) -> str:
    """Run dedented ``code`` with this interpreter in the repository, ``env`` added to this
    process's environment; assert it succeeded and return what it printed."""
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env={**os.environ, **env},
        cwd=REPO,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout
