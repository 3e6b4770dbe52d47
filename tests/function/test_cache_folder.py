"""The folder of compiled code (issue 17): trusted only if it is the user's own, files that
repair themselves, and ``tv.function`` without numba or without a writable disk.

Each scenario runs in new Python processes, as a user's next session would: the first
builds a cache, the test damages or plants files, the next process must give the same
numbers, say what it refused or repaired (one :class:`CacheWarning`, naming the folder
or file), never run planted code, and leave a cache the process after it loads cleanly.

As root, "another user's folder" is made with ``chown 12345``; as any user, a folder
others can write to (mode 777, or below a folder others can write to) plays the attack.
"""

from __future__ import annotations

import json
import os
import pickle
import shutil
import stat
import subprocess
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz import _diskcache as diskcache

from .processes import REPO, run_python

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
IS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0
needs_jit = pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")
needs_owners = pytest.mark.skipif(not hasattr(os, "geteuid"), reason="no file owners")

# a new process: compile (or load) one function, report what happened as JSON
RUN = """
    import json, sys, warnings
    warnings.simplefilter("always")
    PREPARE
    import tapeviz as tv
    from tapeviz import _jit as numba_cache
    from tapeviz._diskcache import CacheWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")

        @tv.function
        def g(x):
            return tv.reduce_sum(x * x) + 1.0

        x = tv.constant([1.0, 2.0, 3.0])
        values = [float(g(x)), float(g(x * 2.0))]
    compiled = g.get_concrete_function(x)._compiled
    stats = compiled.dispatcher.stats if compiled is not None else None
    print(json.dumps({
        "values": values,
        "hits": sum(stats.cache_hits.values()) if stats else None,
        "misses": sum(stats.cache_misses.values()) if stats else None,
        "nrt": numba_cache.NRT_SOURCE,
        "cache_warnings": [str(w.message) for w in caught if w.category is CacheWarning],
        "other_warnings": [str(w.message) for w in caught if w.category is not CacheWarning],
    }))
"""
VALUES = [15.0, 57.0]  # 1 + 4 + 9 + 1, then 4 * 14 + 1


def run(env: dict[str, str], prepare: str = "") -> dict[str, Any]:
    """Run :data:`RUN` in a new process with ``env`` (and ``prepare`` run first)."""
    code = textwrap.dedent(RUN.replace("PREPARE", textwrap.indent(prepare, "    ").strip()))
    out = json.loads(run_python(code, env).strip().splitlines()[-1])
    assert out["values"] == VALUES
    assert out["other_warnings"] == []
    return out


def in_folder(folder: Any) -> dict[str, str]:
    return {"TAPEVIZ_CACHE_DIR": str(folder)}


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A cache folder that one process filled: module, numba's files, the NRT."""
    if JIT_DISABLED:
        pytest.skip("nothing is compiled")
    folder = str(tmp_path_factory.mktemp("pristine") / "cache")
    first = run(in_folder(folder))
    assert (first["misses"], first["nrt"], first["cache_warnings"]) == (1, "compiled", [])
    return folder


def copy_of(pristine: str, tmp_path: Any, name: str = "cache") -> str:
    folder = str(tmp_path / name)
    shutil.copytree(pristine, folder)
    return folder


def files_of(folder: str) -> dict[str, str]:
    """Each kind -> path of the generated module, numba's index and data file, the NRT."""
    pycache = os.path.join(folder, "__pycache__")
    (source,) = [f for f in os.listdir(folder) if f.endswith(".py")]
    (nrt,) = [f for f in os.listdir(folder) if f.startswith("nrt-") and f.endswith(".bin")]
    (index,) = [f for f in os.listdir(pycache) if f.endswith(".nbi")]
    (data,) = [f for f in os.listdir(pycache) if f.endswith(".nbc")]
    return {
        "source": os.path.join(folder, source),
        "index": os.path.join(pycache, index),
        "data": os.path.join(pycache, data),
        "nrt": os.path.join(folder, nrt),
    }


def snapshot(folder: str) -> dict[str, Any]:
    """Everything about a folder's tree that a process could change."""
    out: dict[str, Any] = {}
    for root, dirs, files in os.walk(folder):
        for name in [*dirs, *files]:
            path = os.path.join(root, name)
            st = os.lstat(path)
            content = b""
            if stat.S_ISREG(st.st_mode):
                with open(path, "rb") as fh:
                    content = fh.read()
            out[os.path.relpath(path, folder)] = (st.st_mode, st.st_uid, st.st_mtime_ns, content)
    return out


# --- 2. damaged files are named, removed and compiled again ----------------------------------
DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "emptied": lambda data: b"",
    "cut": lambda data: data[: len(data) // 2],
    "garbage": lambda data: bytes((7 * i + 3) % 256 for i in range(len(data))),
    "one byte changed": lambda data: data[:-40] + bytes([data[-40] ^ 0x10]) + data[-39:],
}


@needs_jit
@pytest.mark.parametrize("way", list(DAMAGE))
@pytest.mark.parametrize("kind", ["source", "index", "data", "nrt"])
def test_a_damaged_cache_file_is_named_removed_and_compiled_again(
    pristine: str, tmp_path: Any, kind: str, way: str
) -> None:
    folder = copy_of(pristine, tmp_path)
    path = files_of(folder)[kind]
    with open(path, "rb") as fh:
        data = fh.read()
    with open(path, "wb") as fh:
        fh.write(DAMAGE[way](data))

    repaired = run(in_folder(folder))
    (warning,) = repaired["cache_warnings"]
    assert path in warning and "damaged" in warning and "compiled again" in warning
    if kind == "nrt":  # the memory manager compiled again; the function still loads
        assert (repaired["nrt"], repaired["hits"], repaired["misses"]) == ("compiled", 1, 0)
    else:
        assert repaired["misses"] == 1  # compiled again (and saved)
    # the next process finds a whole cache again
    again = run(in_folder(folder))
    assert (again["hits"], again["misses"], again["nrt"], again["cache_warnings"]) == (
        1,
        0,
        "cache",
        [],
    )
    assert files_of(folder).keys() == files_of(pristine).keys()


def rewrite_nrt(folder: str, change: Callable[[list[bytes]], list[bytes]]) -> str:
    """Replace the parts (key, name, object code, bitcode) of the NRT's file, sealed."""
    path = files_of(folder)["nrt"]
    with open(path, "rb") as fh:
        parts = diskcache.unpack(diskcache.unseal(fh.read(), path), 4, path)
    with open(path, "wb") as fh:
        fh.write(diskcache.seal(diskcache.pack(change(parts))))
    return path


@needs_jit
def test_an_nrt_file_of_another_numba_is_compiled_again_without_a_warning(
    pristine: str, tmp_path: Any
) -> None:
    """A whole file under another key (another numba or machine) is not damage."""
    folder = copy_of(pristine, tmp_path)
    rewrite_nrt(folder, lambda parts: [b"('0.1', (1, 0))", *parts[1:]])
    out = run(in_folder(folder))
    assert (out["nrt"], out["cache_warnings"]) == ("compiled", [])
    assert run(in_folder(folder))["nrt"] == "cache"


@needs_jit
def test_sealed_bytes_that_are_not_machine_code_are_reported_and_compiled_again(
    pristine: str, tmp_path: Any
) -> None:
    """The checksum holds but LLVM refuses the content: damaged as well."""
    folder = copy_of(pristine, tmp_path)
    path = rewrite_nrt(folder, lambda parts: [parts[0], b"nrt", b"not an object", b"no code"])
    out = run(in_folder(folder))
    assert out["nrt"] == "compiled" and len(out["cache_warnings"]) == 1
    assert path in out["cache_warnings"][0]
    assert run(in_folder(folder))["nrt"] == "cache"


# --- 1. a folder someone else can write to is never used -------------------------------------
class _Planted:
    """A pickle that runs code when loaded: what an attacker would put in numba's files."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> Any:
        return (exec, (f"with open({self.marker!r}, 'w') as f: f.write('planted code ran')",))


def plant(folder: str, marker: str, source: bool = False) -> None:
    """Turn a copy of a real cache into an attacker's: numba's index and data files run code
    when loaded (sealed like tapeviz's own files: the seal is a checksum, not a defence);
    the module keeps its genuine text (which anyone can generate), or with ``source`` gets
    code appended."""
    found = files_of(folder)
    evil = pickle.dumps(_Planted(marker))
    for kind in ("index", "data"):
        with open(found[kind], "wb") as fh:
            fh.write(diskcache.seal(evil))
    if source:
        with open(found["source"], "a") as fh:
            fh.write(f"\nwith open({marker!r}, 'w') as f:\n    f.write('planted code ran')\n")
    # the machine code tapeviz kept before issue 17 (a pickle under a predictable name)
    with open(found["nrt"][: -len(".bin")] + ".pkl", "wb") as fh:
        fh.write(evil)


def take_over(folder: str, how: str) -> None:
    if how == "another user's":
        for root, dirs, files in os.walk(folder):
            for name in [*dirs, *files]:
                os.chown(os.path.join(root, name), 12345, 12345)
        os.chown(folder, 12345, 12345)
    elif how == "world-writable":
        os.chmod(folder, 0o777)
    elif how == "world-writable __pycache__":
        os.chmod(os.path.join(folder, "__pycache__"), 0o777)
    else:  # below a folder anyone may write to (and rename entries in)
        os.chmod(os.path.dirname(folder), 0o777)


TAKEOVERS = [
    pytest.param(
        "another user's",
        marks=pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root"),
    ),
    "world-writable",
    "world-writable __pycache__",
    "below a world-writable folder",
]
WHY = {
    "another user's": "belongs to uid 12345",
    "world-writable": "other users can write to it (mode 777)",
    "world-writable __pycache__": "its __pycache__ folder is not private",
    "below a world-writable folder": "other users can write to the folder",
}


@needs_jit
@needs_owners
@pytest.mark.parametrize("how", TAKEOVERS)
def test_a_planted_cache_folder_is_refused_with_one_warning(
    pristine: str, tmp_path: Any, how: str
) -> None:
    marker = str(tmp_path / "planted-code-ran")
    folder = copy_of(pristine, tmp_path / "shared", "cache")
    plant(folder, marker)
    take_over(folder, how)
    before = snapshot(folder)
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    out = run({**in_folder(folder), "TMPDIR": str(tmp)})
    assert not os.path.exists(marker)
    (warning,) = out["cache_warnings"]
    assert f"not kept in {folder}: " in warning and WHY[how] in warning
    assert "TAPEVIZ_CACHE_DIR" in warning  # what to do about it
    assert snapshot(folder) == before  # nothing read from it ran, nothing written to it
    elsewhere = tmp / f"tapeviz-{os.geteuid()}"
    assert f"It goes to {elsewhere} instead." in warning
    assert out["misses"] == 1 and len(files_of(str(elsewhere))) == 4


@needs_jit
def test_the_same_planted_files_in_a_folder_that_passes_the_checks_would_run(
    pristine: str, tmp_path: Any
) -> None:
    """Why the folder checks matter: numba's files are pickles, and a sealed planted one is
    loaded from a folder that passes (here the user's own)."""
    marker = str(tmp_path / "planted-code-ran")
    folder = copy_of(pristine, tmp_path)
    plant(folder, marker)
    out = run(in_folder(folder))
    assert os.path.exists(marker)
    assert out["misses"] == 1 and len(out["cache_warnings"]) == 1  # (then: not machine code)


@needs_jit
def test_planted_module_text_never_runs(pristine: str, tmp_path: Any) -> None:
    """A module is compiled from the text generated in the process, never from its file: a
    changed file is damaged (and numba's files beside it are not read)."""
    marker = str(tmp_path / "planted-code-ran")
    folder = copy_of(pristine, tmp_path)
    plant(folder, marker, source=True)
    out = run(in_folder(folder))
    assert not os.path.exists(marker)
    (warning,) = out["cache_warnings"]
    assert f"{files_of(folder)['source']} is damaged" in warning
    assert out["misses"] == 1


@needs_jit
@needs_owners
@pytest.mark.parametrize("how", TAKEOVERS[:2])
def test_a_planted_tmp_folder_is_refused_when_home_is_unusable(
    pristine: str, tmp_path: Any, how: Any
) -> None:
    """The fallback ``<tmp>/tapeviz-<uid>`` (a predictable name) planted by someone else:
    compiled code goes to a private folder of this process, removed at exit."""
    marker = str(tmp_path / "planted-code-ran")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    planted = copy_of(pristine, tmp, f"tapeviz-{os.geteuid()}")
    plant(planted, marker)
    take_over(planted, how)
    before = snapshot(planted)
    not_a_folder = tmp_path / "file"
    not_a_folder.write_text("")
    env = {
        "TAPEVIZ_CACHE_DIR": "",
        "XDG_CACHE_HOME": "",
        "HOME": str(not_a_folder / "home"),  # ~/.cache/tapeviz cannot be created
        "TMPDIR": str(tmp),
    }
    out = run(env)
    assert not os.path.exists(marker)
    assert snapshot(planted) == before
    (warning,) = out["cache_warnings"]
    assert f"not kept in {not_a_folder}/home/.cache/tapeviz: it cannot be created" in warning
    assert "a private folder removed when Python exits" in warning
    assert os.listdir(tmp) == [f"tapeviz-{os.geteuid()}"]  # the private one is gone


@needs_jit
@needs_owners
def test_a_fallback_tmp_folder_of_ones_own_keeps_code_between_processes(tmp_path: Any) -> None:
    """An unusable home with a usable temporary folder: code is kept in <tmp>/tapeviz-<uid>
    (created 0o700), and the next process loads it from there."""
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {"TAPEVIZ_CACHE_DIR": str(tmp_path / "missing" / "x"), "TMPDIR": str(tmp)}
    (tmp_path / "missing").write_text("a file, not a folder")
    first, second = run(env), run(env)
    folder = tmp / f"tapeviz-{os.geteuid()}"
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert f"It goes to {folder} instead." in first["cache_warnings"][0]
    assert (first["misses"], second["hits"], second["nrt"]) == (1, 1, "cache")
    assert len(second["cache_warnings"]) == 1  # each process says it once


@needs_owners
def test_folder_checks(tmp_path: Any) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    assert diskcache.folder_problem(str(mine)) is None
    os.chmod(mine, 0o707)
    assert "other users can write to it (mode 707)" in str(diskcache.folder_problem(str(mine)))
    os.chmod(mine, 0o700)
    os.chmod(tmp_path, 0o777)  # anyone could rename `mine` away and put theirs in its place
    problem = str(diskcache.folder_problem(str(mine)))
    assert f"other users can write to the folder {tmp_path} above it (mode 777)" in problem
    os.chmod(tmp_path, 0o1777)  # sticky, like /tmp: only the owner may rename
    assert diskcache.folder_problem(str(mine)) is None
    os.chmod(tmp_path, 0o700)
    link = tmp_path / "link"
    link.symlink_to(mine)  # a link is followed, and its target checked
    assert diskcache.folder_problem(str(link)) is None
    (tmp_path / "f").write_text("")
    assert diskcache.folder_problem(str(tmp_path / "f")) == "it is not a folder"


@needs_owners
def test_a_group_writable_folder_is_private_only_in_a_group_of_one(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Group write is fine in the user's private group; a shared primary group (``users``,
    gid 100 on many hubs) holds other students, so it counts as others."""
    import grp
    import pwd

    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    os.chmod(tmp_path, 0o700)
    os.chmod(mine, 0o770)
    gid = os.stat(mine).st_gid
    me = pwd.getpwuid(os.geteuid())
    alone = grp.struct_group(("mine", "x", gid, []))
    shared = grp.struct_group(("users", "x", gid, [me.pw_name, "bob"]))
    bob = pwd.struct_passwd(("bob", "x", 12345, gid, "", "/home/bob", "/bin/sh"))
    monkeypatch.setattr(os, "getegid", lambda: gid)
    monkeypatch.setattr(grp, "getgrgid", lambda g: alone)
    monkeypatch.setattr(pwd, "getpwall", lambda: [me])
    assert diskcache.folder_problem(str(mine)) is None
    monkeypatch.setattr(grp, "getgrgid", lambda g: shared)
    assert "other users can write to it (mode 770)" in str(diskcache.folder_problem(str(mine)))
    monkeypatch.setattr(grp, "getgrgid", lambda g: alone)
    monkeypatch.setattr(pwd, "getpwall", lambda: [me, bob])  # bob's primary group is it too
    assert "other users can write to it (mode 770)" in str(diskcache.folder_problem(str(mine)))


@pytest.mark.skipif(not IS_ROOT, reason="chown to another user needs root")
def test_folder_checks_of_owners(tmp_path: Any) -> None:
    theirs = tmp_path / "theirs"
    theirs.mkdir(mode=0o700)
    os.chown(theirs, 12345, 12345)
    assert "it belongs to uid 12345, not to you" in str(diskcache.folder_problem(str(theirs)))
    mine = theirs / "mine"
    mine.mkdir(mode=0o700)  # root's folder inside another user's: they can swap it
    assert f"the folder {theirs} above it belongs to uid 12345" in str(
        diskcache.folder_problem(str(mine))
    )


KERNEL = """
    import json, warnings
    import numpy as np
    from tapeviz.compiler import kernels as K
    from tapeviz._diskcache import CacheWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = K.softmax_rows(np.array([[1.0, 2.0, 3.0]], np.float32))
    ref = K.ref_softmax_rows(np.array([[1.0, 2.0, 3.0]], np.float32))
    print(json.dumps([
        float(np.abs(out - ref).max()),
        sum(K.softmax_rows.stats.cache_hits.values()),
        [str(w.message) for w in caught if w.category is CacheWarning],
    ]))
"""


@needs_jit
@needs_owners
def test_kernels_are_cached_in_the_checked_folder_only(tmp_path: Any) -> None:
    """The numba kernels of tapeviz itself use the same cache: never numba's places (here a planted,
    world-writable NUMBA_CACHE_DIR), never beside the installed package; sealed files."""
    numba_dir = tmp_path / "numba-cache"
    numba_dir.mkdir()
    os.chmod(numba_dir, 0o777)
    folder = tmp_path / "cache"
    env = {**in_folder(folder), "NUMBA_CACHE_DIR": str(numba_dir)}
    first = json.loads(run_python(KERNEL, env))
    second = json.loads(run_python(KERNEL, env))
    assert first[0] < 1e-6 and first[1:] == [0, []] and second[1:] == [1, []]
    assert os.listdir(numba_dir) == []
    kernel_files = [
        os.path.join(root, f)
        for root, _, files in os.walk(folder / "modules")
        for f in files
        if f.startswith("kernels.softmax_rows-") and f.endswith(".nbc")
    ]
    (data,) = kernel_files
    with open(data, "r+b") as fh:
        fh.truncate(100)  # cut
    repaired = json.loads(run_python(KERNEL, env))
    assert repaired[1] == 0 and len(repaired[2]) == 1 and data in repaired[2][0]
    assert json.loads(run_python(KERNEL, env))[1:] == [1, []]


# --- 3. no writable disk, no numba ------------------------------------------------------------
@needs_jit
def test_nothing_writable_compiles_in_memory_with_one_warning(tmp_path: Any) -> None:
    """No cache folder, no home, no temporary folder: code is compiled in memory."""
    if IS_ROOT:  # (root writes anywhere: places below a file cannot be created by anyone)
        blocker = tmp_path / "file"
        blocker.write_text("")
        unwritable = [str(blocker / "a"), str(blocker / "b")]
    else:
        unwritable = []
        for name in ("a", "b"):
            (tmp_path / name).mkdir(mode=0o500)
            unwritable.append(str(tmp_path / name))
    # tempfile finds no usable folder among its candidates: "No usable temporary directory"
    prepare = f"""
        import tempfile
        tempfile._candidate_tempdir_list = lambda: {unwritable!r}
        tempfile.tempdir = None
        """
    env = {
        "TAPEVIZ_CACHE_DIR": os.path.join(unwritable[0], "cache"),
        "HOME": unwritable[1],
        "TMPDIR": unwritable[1],
    }
    before = snapshot(str(tmp_path))
    out = run(env, textwrap.dedent(prepare))
    (warning,) = out["cache_warnings"]
    assert "No temporary folder is usable either" in warning and "compiled in memory" in warning
    assert (out["hits"], out["misses"]) == (0, 1)
    assert snapshot(str(tmp_path)) == before


NO_NUMBA = """
    import sys, warnings
    sys.modules["numba"] = None  # `import numba` raises ImportError
    import numpy as np
    import tapeviz as tv

    x = tv.Variable(0.0)
    opt = tv.keras.optimizers.SGD(learning_rate=0.1)

    @tv.function
    def descend(n):
        for _ in tv.range(n):
            with tv.GradientTape() as tape:
                y = (x - 3.0) ** 2
            opt.apply_gradients([(tape.gradient(y, x), x)])
        return y

    @tv.function
    def f(a):
        return tv.reduce_sum(tv.exp(a) * a)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        y = descend(tv.constant(50))
        descend(tv.constant(50))
        s = f(tv.constant([0.5, 1.5]))
    xs = np.float32(0.0)
    for _ in range(100):
        xs = xs - np.float32(0.1) * (np.float32(2.0) * (xs - np.float32(3.0)))
    a = np.array([0.5, 1.5], np.float32)
    print(x.numpy() == xs, float(s) == float(np.sum(np.exp(a) * a)))
    print(len(caught), caught[0].category.__name__, str(caught[0].message))
    print(sys.modules.get("numba"), "tapeviz.compiler.kernels" in sys.modules)
"""


def test_without_numba_functions_run_on_the_interpreter_with_one_warning() -> None:
    exact, warning, imported = run_python(NO_NUMBA, {"NUMBA_DISABLE_JIT": "0"}).strip().splitlines()
    assert exact == "True True"
    assert warning.startswith("1 RuntimeWarning tv.function: numba cannot be imported")
    assert "ModuleNotFoundError" in warning and "pip install numba" in warning
    assert imported == "None False"


# --- 8. probes that held: processes compiling into one cache at once -------------------------
CONCURRENT = """
    import json, sys, warnings
    warnings.simplefilter("error", Warning)  # any cache warning fails the process
    import numpy as np
    import tapeviz as tv

    w = tv.Variable(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)

    @tv.function
    def train(x, n):
        for _ in tv.range(n):
            with tv.GradientTape() as tape:
                loss = tv.reduce_mean(tv.tanh(x @ w) ** 2)
            opt.apply_gradients([(tape.gradient(loss, w), w)])
        return loss

    @tv.function
    def h(v):
        return tv.reduce_max(tv.nn.softmax(v * 3.0))

    x = tv.constant(np.arange(6, dtype=np.float32).reshape(2, 3) / 6.0)
    loss = float(train(x, tv.constant(25)))
    peak = float(h(tv.constant([0.1, 0.7, 0.2])))
    d = train.get_concrete_function(x, tv.constant(25))._compiled.dispatcher
    print(json.dumps([loss, w.numpy().tolist(), peak, sum(d.stats.cache_hits.values())]))
"""


@needs_jit
def test_four_processes_compiling_into_one_cache_at_once(tmp_path: Any) -> None:
    env = {**os.environ, "TAPEVIZ_CACHE_DIR": str(tmp_path / "cache")}
    code = textwrap.dedent(CONCURRENT)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    # the same numbers from every process, and from the one that loads what they saved
    later = json.loads(run_python(CONCURRENT, {"TAPEVIZ_CACHE_DIR": str(tmp_path / "cache")}))
    assert later[3] == 1  # loaded, not compiled
    for r in results:
        assert r[:3] == later[:3]
    # and they are the eager numbers
    w = tv.Variable(np.linspace(-1.0, 1.0, 12, dtype=np.float32).reshape(3, 4))
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)
    x = tv.constant(np.arange(6, dtype=np.float32).reshape(2, 3) / 6.0)
    for _ in range(25):
        with tv.GradientTape() as tape:
            loss = tv.reduce_mean(tv.tanh(x @ w) ** 2)
        opt.apply_gradients([(tape.gradient(loss, w), w)])
    np.testing.assert_allclose(later[0], float(loss), rtol=1e-6)
    np.testing.assert_allclose(later[1], w.numpy(), rtol=1e-6, atol=1e-7)
    peak = tv.reduce_max(tv.nn.softmax(tv.constant([0.1, 0.7, 0.2]) * 3.0))
    np.testing.assert_allclose(later[2], float(peak), rtol=1e-6)


def test_kernel_caches_are_set_up_when_numba_first_uses_them() -> None:
    """Importing the kernels makes ~70 dispatchers; each one's cache (its folder, index name
    and source stamp) is set up only when numba loads or compiles that kernel."""
    from tapeviz import _diskcache as diskcache
    from tapeviz import _jit as numba_cache
    from tapeviz.compiler import kernels as K

    if not hasattr(K.select, "py_func") or not numba_cache.FAST_LOAD or not diskcache.cache_dir():
        pytest.skip("nothing compiled (NUMBA_DISABLE_JIT), or no cache folder / numba internals")
    lazy = [
        d
        for d in vars(K).values()
        if hasattr(d, "py_func") and isinstance(d._cache, numba_cache._LazyCache)
    ]
    assert len(lazy) > 30  # (the rest were used by earlier tests of this process)

    @numba_cache.cached_njit(error_model="numpy")
    def twice(x: Any) -> Any:
        return x * 2

    assert isinstance(twice._cache, numba_cache._LazyCache)
    assert twice(np.float32(3.0)) == 6.0
    assert isinstance(twice._cache, numba_cache._FastLoadCache)
    assert twice.stats.cache_path.startswith(diskcache.cache_dir())
