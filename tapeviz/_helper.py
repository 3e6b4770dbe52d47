"""Helper processes that compile into the cache folder out of the caller's way.

Compiling with numba takes hundreds of milliseconds, and numba holds the GIL while it
compiles, so a thread would stop the caller's Python for most of that time; a helper
process only shares the processor, at a lower priority.  What it compiles goes to the
checked cache folder (:func:`tapeviz._diskcache.cache_dir`) through the same code as in
the caller, so the folder's checks and the sealed files hold for what it writes; the
caller then loads the machine code from there.  Used by ``tv.function``'s tiered
execution (:mod:`tapeviz.compiler.tiered`) and by eager code's compiled float32
transcendentals (:mod:`tapeviz._eigen_f32`).  This module imports no numba.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
from typing import Any

__all__ = ["ENV", "enabled", "HELPER_NICE", "helper_niceness", "start"]

ENV = "TAPEVIZ_TIERED"


def enabled() -> bool:
    """Whether compiling happens out of the caller's way (``TAPEVIZ_TIERED``, default on):
    new ``tv.function`` traces run on the interpreter until their machine code is ready,
    eager float32 transcendentals on their numpy versions until their loops are loaded.
    ``0``: the caller compiles (or loads) and waits."""
    return os.environ.get(ENV, "1").strip().lower() not in ("0", "false", "no", "off")


# the helper runs at a lower priority from its start (Python's own start-up, its imports and
# numba's compilation): on a busy machine the caller's calls keep their processor.  The
# parent lowers it as soon as it exists; the helper makes sure of it itself (where the
# parent could not), before its imports.
HELPER_NICE = 10  # added to the caller's niceness (at most 19)


def helper_niceness() -> int:
    """The niceness of a helper started by this process."""
    own = os.getpriority(os.PRIO_PROCESS, 0) if hasattr(os, "getpriority") else 0
    return min(19, own + HELPER_NICE)


def _lower_priority(pid: int, niceness: int) -> None:
    """Give process ``pid`` (a helper just started) this ``niceness``."""
    if hasattr(os, "setpriority"):
        with contextlib.suppress(OSError):
            os.setpriority(os.PRIO_PROCESS, pid, niceness)


_MAIN = (
    "import os, runpy, sys\n"
    "if hasattr(os, 'getpriority'):\n"
    "    if os.getpriority(os.PRIO_PROCESS, 0) < int(sys.argv[1]):\n"
    "        os.setpriority(os.PRIO_PROCESS, 0, int(sys.argv[1]))\n"
    "runpy.run_module(sys.argv[2], run_name='__main__')\n"
)


def start(module: str, folder: str, **pipes: int) -> subprocess.Popen[bytes]:
    """Run the tapeviz module ``module`` as a program in a helper process (this Python,
    this tapeviz, compiled code kept in ``folder``) at a lower priority; ``pipes`` go to
    :class:`subprocess.Popen` (``stdin=subprocess.PIPE``...).  Raises OSError if the
    process cannot be started."""
    env = dict(os.environ)
    env["TAPEVIZ_CACHE_DIR"] = folder
    package_root = os.path.dirname(os.path.dirname(__file__))
    env["PYTHONPATH"] = os.pathsep.join([package_root, *filter(None, [env.get("PYTHONPATH")])])
    niceness = helper_niceness()
    options: dict[str, Any] = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    options.update(pipes)
    proc: subprocess.Popen[bytes] = subprocess.Popen(
        [sys.executable, "-c", _MAIN, str(niceness), module], env=env, close_fds=True, **options
    )
    _lower_priority(proc.pid, niceness)
    return proc
