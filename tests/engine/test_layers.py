"""The layers are one-way: the engine never imports the compiler (``tapeviz.compiler``), eager
use never loads it (nor numba, but for eager float32 transcendentals used long enough to
pay for their compiled loops), only the tape flips a tape's recording switch, and the
compiler drives an optimizer through its protected protocol, not its fields."""

from __future__ import annotations

import ast
import os
import subprocess
import sys

import numpy as np

import tapeviz

PACKAGE = os.path.dirname(os.path.abspath(tapeviz.__file__))
COMPILER = os.path.join(PACKAGE, "compiler")


def _modules(folder: str) -> list[str]:
    out = []
    for root, _, files in os.walk(folder):
        out += [os.path.join(root, f) for f in files if f.endswith(".py")]
    return sorted(out)


def _read(path: str) -> str:
    with open(path, encoding="utf-8") as f:
        return f.read()


def _imports(path: str) -> list[str]:
    """Every module ``path`` imports (anywhere, function-local imports included), absolute."""
    package = os.path.relpath(os.path.dirname(path), os.path.dirname(PACKAGE)).split(os.sep)
    tree = ast.parse(_read(path), path)
    names = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join([*base, node.module] if node.module else base)
            names.append(mod)
            names += [f"{mod}.{a.name}" for a in node.names]  # `from . import compiler`
    return names


def test_no_engine_module_imports_the_compiler() -> None:
    engine = [p for p in _modules(PACKAGE) if not p.startswith(COMPILER + os.sep)]
    assert len(engine) > 40  # (the walk found the package)
    offenders = {
        os.path.relpath(p, PACKAGE): [
            m for m in _imports(p) if m == "tapeviz.compiler" or m.startswith("tapeviz.compiler.")
        ]
        for p in engine
    }
    assert {p: ms for p, ms in offenders.items() if ms} == {}


def test_the_import_walk_sees_relative_imports() -> None:
    """The import walk resolves relative imports (else the test above would pass vacuously)."""
    names = _imports(os.path.join(COMPILER, "jit.py"))
    assert "tapeviz.compiler.fpenv" in names  # (from .fpenv import ...)
    assert "tapeviz.compiler.codegen" in names


def test_eager_use_never_loads_the_compiler() -> None:
    code = """
import sys
import tapeviz as tf
x = tf.Variable([1.0, 2.0])
with tf.GradientTape() as tape:
    y = tf.reduce_sum(tf.sin(x) * x + 2.0 * x)
g = tape.gradient(y, x)
with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        z = x * x * x
    dz = inner.gradient(z, x)
d2 = outer.gradient(dz, x)
opt = tf.keras.optimizers.Adam(0.1)
opt.apply_gradients([(g, x)])
print(*g.numpy().tolist(), *d2.numpy().tolist())
# a short eager session loads no numba either: eager float32 transcendentals load their
# compiled loops only after LOAD_AFTER seconds in their numpy versions
loaded = [m for m in sys.modules if m.startswith("tapeviz.compiler") or m == "numba"]
assert not loaded, loaded
"""
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, timeout=300
    )
    assert out.returncode == 0, out.stderr
    g0, g1, h0, h1 = map(float, out.stdout.split())
    x = np.array([1.0, 2.0], np.float32)
    # d/dx (sin x · x + 2x) = cos x · x + sin x + 2; d²/dx² x³ = 6x
    np.testing.assert_allclose([g0, g1], np.cos(x) * x + np.sin(x) + 2, rtol=1e-6)
    assert [h0, h1] == [6.0, 12.0]


def test_eager_compiled_loops_load_numba_but_never_the_compiler() -> None:
    """A loop of eager float32 transcendentals loads numba's compiled loops (out of the
    caller's way, as by default) and keeps giving the same bits; the compiler stays out."""
    code = """
import sys
import numpy as np
import tapeviz as tf
from tapeviz import _eigen_f32
x = tf.constant(np.linspace(-30.0, 30.0, 1001, dtype=np.float32))
first = [tf.sin(x).numpy(), tf.math.log(tf.exp(x)).numpy(), tf.sigmoid(tf.tanh(x)).numpy()]
assert "numba" not in sys.modules and not _eigen_f32.LOOPS
while not _eigen_f32._load["started"]:  # the numpy versions, until LOAD_AFTER is spent
    tf.cos(x)
assert _eigen_f32.load_compiled(wait=True)  # (loaded by a thread, compiled by a helper)
again = [tf.sin(x).numpy(), tf.math.log(tf.exp(x)).numpy(), tf.sigmoid(tf.tanh(x)).numpy()]
for a, b in zip(first, again):
    assert np.array_equal(a.view(np.int32), b.view(np.int32))
loaded = [m for m in sys.modules if m.startswith("tapeviz.compiler")]
assert "numba" in sys.modules and not loaded, loaded
print(sorted(_eigen_f32.LOOPS))
"""
    env = {**os.environ, "TAPEVIZ_TIERED": "1"}
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
        env=env,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == str(["cos", "exp", "log", "pow", "sigmoid", "sin", "tanh"])


def test_only_the_tape_flips_recording() -> None:
    """``_recording`` is set by tape.py alone (its context managers); others only read it."""
    writers = []
    for path in _modules(PACKAGE):
        tree = ast.parse(_read(path), path)
        for node in ast.walk(tree):
            targets = []
            if isinstance(node, ast.Assign):
                targets = node.targets
            elif isinstance(node, ast.AugAssign | ast.AnnAssign):
                targets = [node.target]
            for t in targets:
                if isinstance(t, ast.Attribute) and t.attr == "_recording":
                    writers.append(os.path.relpath(path, PACKAGE))
    assert set(writers) == {"tape.py"}


def test_the_compiler_uses_the_optimizer_protocol_only() -> None:
    """compiler/optimizers.py calls the optimizer's protected methods, reads no field."""
    protocol = {
        "_check_pairs",
        "_step_counter",
        "_slots_of",
        "_clips",
        "_clip",
        "_coefficients",
        "_update",
        "_hyper_setting",
        "_momentum_cache",
    }
    path = os.path.join(COMPILER, "optimizers.py")
    tree = ast.parse(_read(path), path)
    used = {
        node.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and isinstance(node.value, ast.Name)
        and node.value.id == "opt"
        and node.attr.startswith("_")
    }
    assert used and used <= protocol, used - protocol
    from tapeviz.keras.optimizers import Nadam, Optimizer

    for name in protocol:
        assert hasattr(Optimizer, name), name
        doc = Optimizer.__doc__ or ""
        assert name in doc, f"{name} is not in Optimizer's documented protocol"
    assert Nadam(0.1)._momentum_cache is None  # (made with the slots)
