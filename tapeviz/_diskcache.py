"""The folder of compiled code, used only if it is the user's own, and files that check
themselves.

``tv.function`` keeps generated modules and numba's machine code in a folder, and a later
process *runs* that machine code.  Whoever can write to the folder can therefore run code
as the user (on a shared JupyterHub: another student).  So a folder is used only if

* it belongs to the user and no other user may write to it (tapeviz creates it, and any
  missing folder above it, with mode 0o700), and
* every folder above it belongs to the user or to root and no other user may write to
  it either — except with the sticky bit, as ``/tmp`` has it, which keeps others from
  renaming the user's folder away.  (A folder writable by a group counts as private only
  when that group is the user's own "user private group", as Debian makes them: the
  user's primary group, with no other member and no other user's primary group.  A
  shared primary group such as ``users`` is other users.)

The folder is ``$TAPEVIZ_CACHE_DIR``, else ``$XDG_CACHE_HOME/tapeviz``, else
``~/.cache/tapeviz``.  If it cannot be used, compiled code goes to ``<tmp>/tapeviz-<uid>``
(if that passes the same checks), else to a private folder made for this process
(``tempfile.mkdtemp``, removed at exit), else it stays in memory.  One
:class:`CacheWarning` says which folder was refused, why, and what to do.

Files are *sealed* — a magic, the length and the SHA-256 of the payload — so that an
emptied, cut or overwritten file is noticed before anything is read from it: it is
reported by name in one :class:`CacheWarning`, removed, and its code compiled again.
(The seal finds damage; it is no defence against someone who can write to the folder:
the ownership checks above are.)
"""

from __future__ import annotations

import atexit
import contextlib
import glob
import hashlib
import os
import shutil
import stat
import tempfile
import threading
import warnings
from collections.abc import Sequence

__all__ = [
    "CacheWarning",
    "DamagedFile",
    "cache_dir",
    "folder_problem",
    "make_private",
    "seal",
    "unseal",
    "pack",
    "unpack",
    "read_bytes",
    "write_atomic",
    "describe",
    "discard",
    "warn_once",
    "code_digest",
]


class CacheWarning(UserWarning):
    """A cache folder or file of compiled code was not used (and why)."""


class DamagedFile(Exception):
    """A cache file whose content fails its checks; ``path`` names it."""

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


# --- folders ---------------------------------------------------------------------------------
_lock = threading.Lock()
_chosen: dict[tuple[str | None, ...], str | None] = {}
_warned: set[str] = set()


def warn_once(key: str, message: str) -> None:
    """Emit ``message`` as a CacheWarning, once per process for ``key``."""
    with _lock:
        if key in _warned:
            return
        _warned.add(key)
    warnings.warn(message, CacheWarning, stacklevel=3)


def _who(uid: int) -> str:
    try:
        import pwd

        return f"user {pwd.getpwuid(uid).pw_name!r} (uid {uid})"
    except (ImportError, KeyError):
        return f"uid {uid}"


def _checks_owners() -> bool:
    return hasattr(os, "geteuid")  # not on Windows: there the user's profile is private


def _group_is_mine_alone(gid: int) -> bool:
    """Whether ``gid`` is the user's private group: nobody else is in it."""
    if gid != os.getegid():
        return False
    try:
        import grp
        import pwd

        me = pwd.getpwuid(os.geteuid()).pw_name
        if any(member != me for member in grp.getgrgid(gid).gr_mem):
            return False
        return all(p.pw_gid != gid or p.pw_uid == os.geteuid() for p in pwd.getpwall())
    except (ImportError, KeyError):
        return False  # unknown group or user: not known to be private


def _writable_by_others(st: os.stat_result, *, sticky_ok: bool) -> bool:
    if sticky_ok and st.st_mode & stat.S_ISVTX:
        return False
    if st.st_mode & stat.S_IWOTH:
        return True
    return bool(st.st_mode & stat.S_IWGRP) and not _group_is_mine_alone(st.st_gid)


def folder_problem(path: str) -> str | None:
    """Why the existing folder ``path`` must not hold compiled code (None: it may).

    ``path`` and each folder above it are checked as the module docstring says; symbolic
    links are resolved first, so the folders checked are the ones written to."""
    real = os.path.realpath(path)
    try:
        st = os.stat(real)
    except OSError as e:
        return f"it cannot be read ({e.strerror})"
    if not stat.S_ISDIR(st.st_mode):
        return "it is not a folder"
    if not _checks_owners():
        return None
    me = os.geteuid()
    if st.st_uid != me:
        return f"it belongs to {_who(st.st_uid)}, not to you ({_who(me)})"
    if _writable_by_others(st, sticky_ok=False):
        return f"other users can write to it (mode {stat.S_IMODE(st.st_mode):o})"
    above = os.path.dirname(real)
    while True:
        st = os.stat(above)
        if st.st_uid not in (me, 0):
            return f"the folder {above} above it belongs to {_who(st.st_uid)}"
        if _writable_by_others(st, sticky_ok=True):
            mode = stat.S_IMODE(st.st_mode)
            return f"other users can write to the folder {above} above it (mode {mode:o})"
        parent = os.path.dirname(above)
        if parent == above:
            return None
        above = parent


def make_private(path: str) -> None:
    """Create ``path`` and the missing folders above it with mode 0o700."""
    missing = []
    p = path
    while not os.path.exists(p):
        missing.append(p)
        parent = os.path.dirname(p)
        if parent == p:
            break
        p = parent
    for p in reversed(missing):
        with contextlib.suppress(FileExistsError):  # (made by another process meanwhile)
            os.mkdir(p, 0o700)


def _usable(path: str) -> tuple[str | None, str]:
    """(the real path of ``path`` made ready for compiled code, "") or (None, why not)."""
    path = os.path.abspath(path)
    try:
        make_private(path)
        real = os.path.realpath(path)
        problem = folder_problem(real)
        if problem is None:
            pycache = os.path.join(real, "__pycache__")  # numba's files
            make_private(pycache)
            problem = folder_problem(pycache)
            if problem is not None:
                problem = f"its __pycache__ folder is not private: {problem}"
        if problem is None and not os.access(real, os.W_OK | os.X_OK):
            problem = "you cannot write to it"
    except OSError as e:
        return None, f"it cannot be created ({e.strerror or e})"
    return (real, "") if problem is None else (None, problem)


def _configured() -> str:
    d = os.environ.get("TAPEVIZ_CACHE_DIR")
    if d:
        return os.path.expanduser(d)
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "tapeviz")


def cache_dir() -> str | None:
    """The folder of compiled code (see the module docstring), or None: keep it in memory.

    Decided once per process (and again if the variables it depends on change)."""
    env = os.environ
    key = (
        env.get("TAPEVIZ_CACHE_DIR"),
        env.get("XDG_CACHE_HOME"),
        env.get("HOME"),
        env.get("TMPDIR"),
        tempfile.tempdir,
    )
    try:
        return _chosen[key]
    except KeyError:
        pass
    with _lock:
        if key in _chosen:
            return _chosen[key]
    wanted = _configured()
    chosen, problem = _usable(wanted)
    if chosen is None:
        chosen, where = _fallback(wanted)
        warn_once(
            f"folder {wanted}",
            f"tapeviz: compiled code is not kept in {wanted}: {problem}. {where} To keep "
            "compiled code between sessions, set TAPEVIZ_CACHE_DIR to a folder of your own "
            "that only you can write to (mkdir -m 700 <folder>).",
        )
    with _lock:
        _chosen[key] = chosen
    return chosen


def _fallback(refused: str) -> tuple[str | None, str]:
    """A folder for when the configured one is refused, and a sentence saying where."""
    try:
        tmp = tempfile.gettempdir()
    except OSError as e:  # "No usable temporary directory found"
        return None, f"No temporary folder is usable either ({e}), so code is compiled in memory."
    if _checks_owners():
        shared = os.path.join(tmp, f"tapeviz-{os.geteuid()}")
        if os.path.abspath(shared) != os.path.abspath(refused):
            real, _ = _usable(shared)
            if real is not None:
                return real, f"It goes to {real} instead."
    try:
        private = tempfile.mkdtemp(prefix="tapeviz-")
        os.mkdir(os.path.join(private, "__pycache__"), 0o700)
    except OSError as e:
        return None, (
            f"No private temporary folder can be made either ({e.strerror or e}), so code "
            "is compiled in memory, again in every new process."
        )
    atexit.register(shutil.rmtree, private, ignore_errors=True)
    return private, f"It goes to {private}, a private folder removed when Python exits."


# tapeviz's modules whose functions numba compiles into other functions' machine code
CODE_MODULES = (
    "compiler/kernels.py",
    "compiler/fpenv.py",
    "_eigen_jit.py",
    "_eigen_f32.py",
    "_eigen_pow.py",
    "_symbols.py",
    "_mxcsr.py",
)
_code_digest: str | None = None


def code_digest() -> str:
    """A hash of :data:`CODE_MODULES`' sources: cached machine code that may contain their
    code is compiled again when one of them changes (read once per process)."""
    global _code_digest
    if _code_digest is None:
        h = hashlib.sha256()
        here = os.path.dirname(os.path.abspath(__file__))
        for name in CODE_MODULES:
            with open(os.path.join(here, name), "rb") as fh:
                data = fh.read()
            h.update(name.encode() + len(data).to_bytes(8, "little") + data)
        _code_digest = h.hexdigest()[:16]
    return _code_digest


# --- sealed files ----------------------------------------------------------------------------
_MAGIC = b"tapeviz-sealed-1\n"
_HEAD = len(_MAGIC) + 8 + 32


def seal(payload: bytes) -> bytes:
    """``payload`` behind a magic, its length and its SHA-256."""
    return _MAGIC + len(payload).to_bytes(8, "little") + hashlib.sha256(payload).digest() + payload


def unseal(data: bytes, path: str) -> bytes:
    """The payload of sealed ``data`` read from ``path``; :class:`DamagedFile` if it fails
    a check (empty, cut, not a sealed file, or its content changed)."""
    if not data:
        raise DamagedFile(path, "the file is empty")
    if not data.startswith(_MAGIC):
        raise DamagedFile(path, "it is not a tapeviz cache file (unknown header)")
    size = int.from_bytes(data[len(_MAGIC) : len(_MAGIC) + 8], "little")
    payload = data[_HEAD:]
    if len(payload) != size:
        raise DamagedFile(path, f"it holds {len(payload)} of its {size} bytes (cut short?)")
    if hashlib.sha256(payload).digest() != data[len(_MAGIC) + 8 : _HEAD]:
        raise DamagedFile(path, "its checksum does not match its content")
    return payload


def pack(parts: Sequence[bytes]) -> bytes:
    """Byte strings, each behind its length: a plain format that nothing executes."""
    return b"".join(len(p).to_bytes(8, "little") + p for p in parts)


def unpack(payload: bytes, n: int, path: str) -> list[bytes]:
    """The ``n`` byte strings of :func:`pack` (:class:`DamagedFile` if they do not fit)."""
    parts, pos = [], 0
    for _ in range(n):
        size = int.from_bytes(payload[pos : pos + 8], "little")
        part = payload[pos + 8 : pos + 8 + size]
        if pos + 8 > len(payload) or len(part) != size:
            raise DamagedFile(path, "its parts do not add up")
        parts.append(part)
        pos += 8 + size
    if pos != len(payload):
        raise DamagedFile(path, "its parts do not add up")
    return parts


def read_bytes(path: str) -> bytes | None:
    """The content of ``path``, or None if there is no such file."""
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except FileNotFoundError:
        return None


def write_atomic(path: str, data: bytes) -> None:
    """Write ``path`` whole or not at all (a private temporary file, then a rename)."""
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def describe(exc: BaseException) -> str:
    """An exception as a reason: ``EOFError: Ran out of input``."""
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def discard(path: str, reason: str) -> None:
    """Report the damaged cache file ``path`` (once) and remove it."""
    warn_once(
        f"damaged {path}",
        f"tapeviz: the compiled-code cache file {path} is damaged ({reason}); it was removed "
        "and its code is compiled again.",
    )
    with contextlib.suppress(OSError):  # (another process may have removed it)
        os.remove(path)


def module_file(folder: str, module: str, source: str) -> str | None:
    """The path of the generated module ``module`` (text ``source``) in ``folder``, written
    if missing or damaged; None if it cannot be written (then it lives in memory only)."""
    path = os.path.join(folder, module + ".py")
    text = source.encode("utf-8")
    try:
        held = read_bytes(path)
        if held == text:
            return path
        if held is not None:
            reason = f"{len(held)} bytes that are not the generated code ({len(text)} bytes)"
            discard(path, reason)
            # its machine code too: whatever damaged the text may have reached it
            for stale in glob.glob(os.path.join(folder, "__pycache__", module + ".*.nb[ic]")):
                os.remove(stale)
        write_atomic(path, text)
    except OSError as e:
        warn_once(
            f"write {folder}",
            f"tapeviz: cannot write compiled code to {folder} ({describe(e)}); "
            "it is compiled in memory.",
        )
        return None
    return path
