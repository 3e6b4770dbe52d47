"""The first call of a cached ``tv.function`` in a new process (issue 19): the program's
machine code is loaded without importing tapeviz's kernels, gives the numbers of the
process that compiled it, and is compiled again when anything its code came from changed.

Each scenario runs in new Python processes, as a user's next session would."""

from __future__ import annotations

import json
import os
import re
import textwrap
from typing import Any

import numpy as np
import pytest

import tapeviz as tv
from tapeviz.compiler import fpenv

from .processes import REPO, run_python

JIT_DISABLED = os.environ.get("NUMBA_DISABLE_JIT", "0") not in ("", "0")
needs_jit = pytest.mark.skipif(JIT_DISABLED, reason="nothing is compiled")

# the document's Adam loop (libm's powf, the kernel `select`) and an array program (a
# reduction kernel, the memory manager): their results, exactly, and what was imported
RUN = """
    import json, sys
    import numpy as np
    PREPARE
    import tapeviz as tv

    x = tv.Variable(0.0, name="x")
    opt = tv.keras.optimizers.Adam(learning_rate=0.01)

    def adam_loop(x, opt):
        @tv.function
        def adam():
            for _ in tv.range(200):
                with tv.GradientTape() as tape:
                    y = x**2 - 2.0 * x + 1.0
                opt.apply_gradients([(tape.gradient(y, x), x)])
            return x**2 - 2.0 * x + 1.0

        return adam

    adam = adam_loop(x, opt)

    @tv.function
    def arrays(a):
        return tv.reduce_sum(a * a, axis=1), tv.exp(-a)

    a = tv.constant(np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4))
    values = [float(adam()).hex(), float(x.numpy()).hex()]
    s, e = arrays(a)
    values += [v.hex() for v in s.numpy().astype(float)]
    values += [v.hex() for v in e.numpy().ravel().astype(float)]
    stats = [
        f.get_concrete_function(*args)._compiled.dispatcher.stats
        for f, args in ((adam, ()), (arrays, (a,)))
    ]
    out = {
        "values": values,
        "hits": sum(sum(s.cache_hits.values()) for s in stats),
        "misses": sum(sum(s.cache_misses.values()) for s in stats),
        "kernels imported": sorted(
            m for m in ("tapeviz.compiler.kernels", "tapeviz._eigen_jit") if m in sys.modules
        ),
    }
    AFTER
    print(json.dumps(out))
"""


def run(folder: Any, prepare: str = "", after: str = "") -> dict[str, Any]:
    code = textwrap.dedent(RUN)
    code = code.replace("PREPARE", textwrap.indent(textwrap.dedent(prepare), "").strip())
    code = code.replace("AFTER", textwrap.dedent(after).strip())
    env = {"TAPEVIZ_CACHE_DIR": str(folder), "TAPEVIZ_TIERED": "0"}
    return json.loads(run_python(code, env).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, Any]]:
    """A cache folder filled by one process, and what that process computed."""
    if JIT_DISABLED:
        pytest.skip("nothing is compiled")
    folder = str(tmp_path_factory.mktemp("first-call") / "cache")
    first = run(folder)
    assert first["misses"] == 2 and first["hits"] == 0
    return folder, first


@needs_jit
def test_a_cached_program_loads_without_the_kernels_and_gives_the_same_bits(
    compiled: tuple[str, dict[str, Any]],
) -> None:
    folder, first = compiled
    later = run(folder)
    assert later["values"] == first["values"]
    assert (later["hits"], later["misses"]) == (2, 0)
    assert later["kernels imported"] == []


@needs_jit
def test_kernels_imported_after_a_cached_load_compile_and_run_as_usual(
    compiled: tuple[str, dict[str, Any]],
) -> None:
    """The kernels' environments made for the loaded code (without their module) serve the
    kernels once they are imported: a new program that calls the same kernels compiles and
    runs, and so do the kernels called from Python."""
    folder, first = compiled
    after = """
        from tapeviz.compiler import kernels as K
        assert K.select(True, np.float32(1.5), np.float32(2.5)) == 1.5

        @tv.function
        def other(a):
            return tv.reduce_sum(a * a, axis=1) + 1.0, tv.exp(-a) * 2.0

        s2, e2 = other(a)
        out["other"] = [v.hex() for v in s2.numpy().astype(float)]
        out["other"] += [v.hex() for v in e2.numpy().ravel().astype(float)]
        z = tv.Variable(0.0)
        adam2 = adam_loop(z, tv.keras.optimizers.Adam(learning_rate=0.01))
        adam2()
        out["adam2"] = float(z.numpy()).hex()
    """
    later = run(folder, after=after)
    assert later["values"] == first["values"]
    assert later["kernels imported"] == []  # (when the first calls ran)
    a = np.linspace(-2, 2, 12, dtype=np.float32).reshape(3, 4)
    s, e = first["values"][2:5], first["values"][5:]
    # the new program: the sums plus one, the exponentials doubled (exact in float32)
    assert later["other"][:3] == [(float.fromhex(v) + 1.0).hex() for v in s]
    assert later["other"][3:] == [(float.fromhex(v) * 2.0).hex() for v in e]
    assert float.fromhex(s[0]) == float(np.sum(a[0] * a[0], dtype=np.float32))
    # the same Adam loop on another Variable: the x of the first one
    assert later["adam2"] == first["values"][1]


@needs_jit
def test_changed_kernel_sources_compile_the_program_again(
    compiled: tuple[str, dict[str, Any]], tmp_path: Any
) -> None:
    """Cached code holds the kernels' machine code: a tapeviz whose kernel sources differ
    (here: their digest) compiles it again rather than run the old code."""
    import shutil

    folder = str(tmp_path / "cache")
    shutil.copytree(compiled[0], folder)
    prepare = """
        from tapeviz import _diskcache
        _diskcache._code_digest = "another tapeviz"
    """
    changed = run(folder, prepare=prepare)
    assert changed["values"] == compiled[1]["values"]
    assert (changed["hits"], changed["misses"]) == (0, 2)
    # the kernels' own cached code is keyed by the same digest: compiled again too
    again = run(folder, prepare=prepare)
    assert (again["hits"], again["misses"]) == (2, 0)


def test_the_kernel_sources_digest_covers_the_modules_numba_compiles() -> None:
    """Every tapeviz module that defines numba code (numba decorators, intrinsics) is in
    the digest that keys cached machine code (with the numpy modules whose functions
    tapeviz._eigen_jit compiles)."""
    from tapeviz import _diskcache

    numba_code = re.compile(
        r"^\s*@(jit|inline_jit|fastjit|intrinsic|cached_njit|register_jitable|numba\.njit)\b"
        r"|^from numba\.extending import .*\boverload\b",
        re.M,
    )
    root = os.path.join(REPO, "tapeviz")
    found = set()
    for base, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                path = os.path.join(base, name)
                with open(path, encoding="utf-8") as fh:
                    if numba_code.search(fh.read()):
                        found.add(os.path.relpath(path, root).replace(os.sep, "/"))
    assert found, "the pattern finds nothing: it is out of date"
    assert found <= set(_diskcache.CODE_MODULES), found - set(_diskcache.CODE_MODULES)
    for name in _diskcache.CODE_MODULES:
        assert os.path.exists(os.path.join(root, name)), name


def test_external_symbols_are_registered_in_one_module() -> None:
    """Cached code that calls a C function by a name LLVM does not know crashes the process
    when it is linked: tapeviz._symbols registers them all before any cached code loads."""
    root = os.path.join(REPO, "tapeviz")
    registering = set()
    for base, _, files in os.walk(root):
        for name in files:
            if name.endswith(".py"):
                with open(os.path.join(base, name), encoding="utf-8") as fh:
                    if "add_symbol(" in fh.read():
                        registering.add(name)
    # (tapeviz._jit registers numba's own C helpers for its memory manager)
    assert registering == {"_symbols.py", "_jit.py"}


@needs_jit
@pytest.mark.skipif(not fpenv.FLUSHES_SUBNORMALS, reason="x86-64 only")
def test_switch_subnormals_sets_and_restores_only_ftz_and_daz() -> None:
    sub = np.float32(1e-40)

    def kept() -> bool:  # (compared as bits: under DAZ a comparison reads it as zero)
        return int(np.multiply(sub, np.float32(1.0)).view(np.int32)) == int(sub.view(np.int32))

    old = fpenv.switch_subnormals(0x8040)
    try:
        assert not kept()  # numpy under FTZ/DAZ
        assert fpenv.switch_subnormals(0) & 0x8040 == 0x8040  # returns the register as it was
        assert kept()
    finally:
        fpenv.switch_subnormals(old)
    assert kept() and old & 0x8040 == 0


@needs_jit
@pytest.mark.skipif(not fpenv.FLUSHES_SUBNORMALS, reason="x86-64 only")
def test_compiled_code_keeps_subnormals_when_the_benchmark_switches_flushing_off() -> None:
    from tapeviz.compiler import jit

    @tv.function
    def scaled(x: tv.Tensor) -> tv.Tensor:
        return x * 1.0

    sub = tv.constant(np.float32(1e-40))
    assert float(scaled(sub)) == 0.0  # flushed, as TensorFlow
    jit.FLUSH_SUBNORMALS = 0
    try:
        assert scaled(sub).numpy().view(np.int32) == np.float32(1e-40).view(np.int32)
    finally:
        jit.FLUSH_SUBNORMALS = 0x8040
    assert float(scaled(sub)) == 0.0


def _dead_code_after_return() -> int:
    return 1
    print("never")  # (no bytecode: the source must still reach this line)


def test_autograph_reads_a_functions_source_as_inspect_does() -> None:
    """The source autograph reads of a function (without the tokenizer: a few ms of a new process's
    first call) is inspect's, for every function of tapeviz and of this folder; where it
    cannot tell where the function ends, it leaves it to inspect."""
    import inspect
    import sys
    import types

    from tapeviz.compiler.autograph import _source_lines

    if sys.version_info < (3, 11):
        pytest.skip("no co_positions: inspect's way")
    checked = 0
    for base in (os.path.join(REPO, "tapeviz"), os.path.dirname(__file__)):
        for folder, _, files in os.walk(base):
            for name in files:
                if not name.endswith(".py"):
                    continue
                path = os.path.join(folder, name)
                with open(path, encoding="utf-8") as fh:
                    codes = [compile(fh.read(), path, "exec")]
                while codes:
                    for k in codes.pop().co_consts:
                        if isinstance(k, types.CodeType):
                            codes.append(k)
                            if k.co_flags & inspect.CO_NEWLOCALS and k.co_name[0] != "<":
                                fast = _source_lines(k)
                                if fast is not None:
                                    assert fast == inspect.getsource(k), (path, k.co_name)
                                    checked += 1
    assert checked > 1000
    assert _source_lines(_dead_code_after_return.__code__) is None
    assert "never" in inspect.getsource(_dead_code_after_return)
