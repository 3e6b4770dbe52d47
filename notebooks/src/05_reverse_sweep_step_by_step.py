# Source of 05_reverse_sweep_step_by_step.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 05 · The reverse sweep, step by step
#
# This notebook opens the tape and follows the reverse sweep one operation at a time:
#
# 1. **the chain rule** on a chain of operations;
# 2. **fan-out**: a value used several times receives several contributions, which add up;
# 3. **broadcasting**: a gradient always has the shape of its source, so what was broadcast
#    forward is summed backward;
# 4. **every reason a gradient comes back `None`**, each with its fix;
#
# and ends with exercises in which you write a reverse sweep yourself.
#
# Everything here reads `tape.record()`: the tape's nodes in forward order and, after
# `gradient`, its `sweep` — one step per operation visited, with the *adjoint*
# $\bar v = \partial L/\partial v$ that came into the operation's output, the contribution
# sent to each input, and the rule as a formula with the numbers filled in.

# %%
import warnings

import numpy as np

import tapeviz as tf


def show_forward(rec):
    """The nodes of a record, in the order the tape recorded them."""
    for n in rec.nodes:
        what = n.op if n.kind == "op" else (n.name or "")
        args = ", ".join(f"#{i}" for i in n.inputs)
        print(f"#{n.id} {n.kind:8} {what:10} ({args:8}) = {tf.graph.format_value(n.value)}")


def show_sweep(rec):
    """Each reverse step: the formula, then the adjoints accumulated so far."""
    adjoints = {}
    for k, step in enumerate(rec.sweep, 1):
        for nid, c in step.contributions.items():
            adjoints[nid] = adjoints.get(nid, 0) + c
        so_far = ", ".join(f"#{i}: {tf.graph.format_value(a)}" for i, a in sorted(adjoints.items()))
        print(f"step {k} at #{step.node}: {step.formula}\n        adjoints so far: {so_far}")

# %% [markdown]
# ## 1. The chain rule
#
# $y = 3 \sin(x^2)$ at $x = 1.5$ is a chain of three operations,
# $x \to u = x^2 \to v = \sin u \to y = 3v$. The derivative is the product of the local
# derivatives, $\frac{dy}{dx} = 3 \cdot \cos(u) \cdot 2x$. Reverse mode multiplies them
# **from the output back**: start with $\bar y = 1$, then
# $\bar v = 3\,\bar y$, $\bar u = \cos(u)\,\bar v$, $\bar x = 2x\,\bar u$.

# %%
x = tf.Variable(1.5, name="x")
with tf.GradientTape() as tape:
    u = tf.square(x)
    v = tf.sin(u)
    y = 3.0 * v
dy_dx = tape.gradient(y, x)
print(f"tape:    {dy_dx.numpy():.6f}")
print(f"by hand: {3 * np.cos(1.5**2) * 2 * 1.5:.6f}")

# %% [markdown]
# The forward pass, as recorded: each operation's output gets a node (`t<id>` in the
# formulas); the constant 3 gets one too.

# %%
rec = tape.record()
show_forward(rec)

# %% [markdown]
# The reverse sweep visits the operations in the opposite order. Each step needs only the
# adjoint of its output and values saved on the forward pass ($u = 2.25$ for `sin`,
# $x = 1.5$ for `square`) — that is why the tape stores them.

# %%
show_sweep(rec)

# %% [markdown]
# The drawing numbers the operations in the order the sweep visited them and shows each
# value with its gradient:

# %%
tf.viz.graph(tape)

# %% [markdown]
# Forward mode would multiply the same local derivatives starting from $x$. For a
# *scalar* loss and many parameters, reverse mode wins: one sweep gives the gradient with
# respect to every parameter at once.
#
# ## 2. Fan-out: contributions add up
#
# When a value feeds several operations, each of them sends it a contribution, and its
# adjoint is their **sum** (the multivariable chain rule). Here $x$ feeds three:
# $y = x \sin x + e^{x}$, so
# $\frac{dy}{dx} = \underbrace{\sin x}_{\text{via } x\cdot} + \underbrace{x \cos x}_{\text{via }\sin} + \underbrace{e^x}_{\text{via }\exp}$.

# %%
x = tf.Variable(2.0, name="x")
with tf.GradientTape() as tape:
    y = x * tf.sin(x) + tf.exp(x)
print(f"tape:    {tape.gradient(y, x).numpy():.6f}")
print(f"by hand: {np.sin(2.0) + 2.0 * np.cos(2.0) + np.exp(2.0):.6f}")

rec = tape.record()
show_forward(rec)
print()
show_sweep(rec)

# %% [markdown]
# Step through it: in the player's adjoint table, `x`'s row grows one term per step that
# reaches it (interactive when the notebook runs).

# %%
# NBVAL_IGNORE_OUTPUT
player = tf.viz.SweepPlayer(tape)
player

# %%
for frame in player.frames:
    if frame.phase == "backward":
        print(f"{frame.title:48} {frame.accumulation.get(0, '')}")

# %% [markdown]
# Node `#0` (`x`) receives three contributions, in the order the sweep meets the three
# operations that used it. Only their sum is the gradient:

# %%
x_id = rec.node_of(x).id
parts = [step.contributions[x_id] for step in rec.sweep if x_id in step.contributions]
print("contributions to x:", [tf.graph.format_value(p) for p in parts])
print("their sum:", tf.graph.format_value(sum(parts)), "  the gradient:", tf.graph.format_value(rec.gradients[x_id]))

# %% [markdown]
# This is also why an engine must finish *all* contributions to a node before passing its
# adjoint further back: the sweep walks the tape in reverse recording order, and every
# user of a value was recorded after the value itself.
#
# ## 3. Broadcasting: the gradient is summed back to the source's shape
#
# Adding a vector `b` of shape (3,) to a (4, 3) matrix uses each $b_j$ in four places
# (one per row) — fan-out again, so the four contributions add up: the gradient of `b` is
# the adjoint **summed over the broadcast axis**. Likewise a column `c` of shape (4, 1) is
# used in three places per row.

# %%
M = tf.constant(np.arange(12, dtype=np.float32).reshape(4, 3), name="M")
b = tf.Variable([1.0, 2.0, 3.0], name="b")
c = tf.Variable([[1.0], [2.0], [3.0], [4.0]], name="c")
with tf.GradientTape() as tape:
    y = tf.reduce_sum((M + b) * (M - c))
grad_b, grad_c = tape.gradient(y, [b, c])
print(grad_b)
print(grad_c)

# %% [markdown]
# In the drawing, the edges carry the shapes: `b` (3,) and `c` (4, 1) enter operations
# whose outputs are (4, 3), and their gradients come back with their own shapes.

# %%
tf.viz.graph(tape)

# %% [markdown]
# The sweep of `add` receives a (4, 3) adjoint and sends `b` its column sums; `subtract`
# sends `c` the negated row sums:

# %%
rec = tape.record()
for step in rec.sweep:
    print(step.formula)
    for nid, contribution in step.contributions.items():
        print(f"    to #{nid}: adjoint shape {np.shape(step.adjoint)} -> contribution shape {np.shape(contribution)}")

# %% [markdown]
# By hand: $\partial y/\partial b_j = \sum_i (M_{ij} - c_i)$ and
# $\partial y/\partial c_i = -\sum_j (M_{ij} + b_j)$:

# %%
Mn, bn, cn = M.numpy(), b.numpy(), c.numpy()
print((Mn - cn).sum(axis=0), -(Mn + bn).sum(axis=1, keepdims=True).ravel())

# %% [markdown]
# ## 4. Why is my gradient `None`?
#
# `tape.gradient` returns `None` for a source when **no recorded path** leads from the
# source to the target. Here is every way that happens, each with a broken and a fixed
# version.
#
# ### 4.1 A constant that was not watched
#
# Tapes watch trainable variables by themselves; other tensors only after `tape.watch`.

# %%
c0 = tf.constant(3.0)
with tf.GradientTape() as tape:
    y = c0 * c0
print("broken:", tape.gradient(y, c0))

with tf.GradientTape() as tape:
    tape.watch(c0)  # fix: watch it
    y = c0 * c0
print("fixed: ", tape.gradient(y, c0))

# %% [markdown]
# ### 4.2 A variable with `trainable=False`, or a tape with `watch_accessed_variables=False`

# %%
frozen = tf.Variable(3.0, trainable=False)
with tf.GradientTape() as tape:
    y = frozen ** 2
print("broken:", tape.gradient(y, frozen))

w = tf.Variable(3.0)
with tf.GradientTape(watch_accessed_variables=False) as tape:
    y = w ** 2
print("broken:", tape.gradient(y, w))

with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch([frozen, w])  # fix: watch explicitly (or create the variable trainable)
    y = frozen ** 2 + w ** 2
print("fixed: ", tape.gradient(y, [frozen, w]))

# %% [markdown]
# ### 4.3 The computation happened outside the tape
#
# A tape records only what runs inside its `with` block. Here `h` was computed before
# the tape started: the tape sees `h` as a constant that does not depend on `w`.

# %%
w = tf.Variable(3.0)
h = w * 2.0                 # recorded by nobody
with tf.GradientTape() as tape:
    y = h ** 2
print("broken:", tape.gradient(y, w))

broken_tape = tape
with tf.GradientTape() as tape:
    h = w * 2.0             # fix: compute every step from the source inside the tape
    y = h ** 2
print("fixed: ", tape.gradient(y, w))

# %% [markdown]
# The broken tape recorded nothing at all: `h ** 2` had no watched input, so there was
# nothing worth recording (a tape skips operations that no watched tensor reaches, as in
# TensorFlow). The fixed tape starts from `w`:

# %%
print("operations on the broken tape:", sum(n.kind == "op" for n in broken_tape.record().nodes))
tf.viz.graph(tape, title="fixed: h computed on the tape")

# %% [markdown]
# ### 4.4 The value left for numpy
#
# `.numpy()` (or `tf.numpy_function`, see notebook 04) hands out a plain array: what is
# computed from it is invisible to the tape. tapeviz dispatches numpy functions applied
# *directly to tensors* (`np.sin(w)`) to its own operations, so those stay on the tape.

# %%
w = tf.Variable(0.0)
with tf.GradientTape() as tape:
    y = tf.constant(np.sin(w.numpy()))   # numpy on a plain array: a dead end
print("broken:", tape.gradient(y, w))

with tf.GradientTape() as tape:
    y = np.sin(w)                       # fix: tf.sin(w), or numpy on the tensor itself
print("fixed: ", tape.gradient(y, w), type(y).__name__)

# %% [markdown]
# ### 4.5 A variable replaced by a tensor
#
# `w = w + 1` does not change the variable: it makes the *name* `w` point to a new tensor
# that no tape is watching. Update variables in place with `assign`, `assign_add`,
# `assign_sub`.

# %%
w = tf.Variable(3.0)
w = w + 1.0                   # w is now a Tensor, not a Variable
with tf.GradientTape() as tape:
    y = w ** 2
print("broken:", tape.gradient(y, w), " type:", type(w).__name__)

w = tf.Variable(3.0)
w.assign_add(1.0)             # fix: update in place
with tf.GradientTape() as tape:
    y = w ** 2
print("fixed: ", tape.gradient(y, w), " type:", type(w).__name__)

# %% [markdown]
# ### 4.6 The target does not depend on the source
#
# Sometimes `None` is the right answer: the source is simply not used (an unconnected
# gradient, like $\partial^2 g/\partial x_1^2$ in notebook 02). If you prefer zeros, say so
# with `unconnected_gradients`.

# %%
w, unused = tf.Variable(3.0), tf.Variable(1.0)
with tf.GradientTape(persistent=True) as tape:
    y = w ** 2
print("None: ", tape.gradient(y, unused))
print("zeros:", tape.gradient(y, unused, unconnected_gradients=tf.UnconnectedGradients.ZERO))
del tape

# %% [markdown]
# ### 4.7 Integers
#
# Gradients are defined for floating-point values only. Watching an integer tensor warns
# and gives `None`; cast to a float type first.

# %%
n = tf.constant(3)  # int32
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    with tf.GradientTape() as tape:
        tape.watch(n)
        y = n * n
print("broken:", tape.gradient(y, n), "| warning:", caught[0].message)

n = tf.cast(tf.constant(3), tf.float32)  # fix: a float tensor
with tf.GradientTape() as tape:
    tape.watch(n)
    y = n * n
print("fixed: ", tape.gradient(y, n))

# %% [markdown]
# ### 4.8 A step that is not differentiable
#
# `argmax`, comparisons and casts to integers have no useful derivative (they are
# piecewise constant), so the path through them carries no gradient. The fix is a smooth
# stand-in: `softmax` instead of a hard `argmax`, a sigmoid instead of a step.

# %%
scores = tf.Variable([1.0, 3.0, 2.0])
with tf.GradientTape() as tape:
    best = tf.cast(tf.argmax(scores), tf.float32)       # a hard choice
print("broken:", tape.gradient(best, scores))

with tf.GradientTape() as tape:
    soft_best = tf.reduce_sum(tf.nn.softmax(scores) * tf.constant([0.0, 1.0, 2.0]))  # expected index
print("fixed: ", np.round(tape.gradient(soft_best, scores).numpy(), 4))

# %% [markdown]
# ### 4.9 `stop_gradient` (on purpose)
#
# `tf.stop_gradient(v)` passes the value and blocks the gradient: the tape treats it as a
# constant. Useful for targets that must not move (e.g. in reinforcement learning).

# %%
w = tf.Variable(3.0)
with tf.GradientTape() as tape:
    y = tf.stop_gradient(w) * w   # only the second factor carries a gradient
print("d/dw [stop(w)·w] =", tape.gradient(y, w), " (not 2w = 6)")

# %% [markdown]
# | symptom | cause | fix |
# |---|---|---|
# | `None` for a constant | not watched | `tape.watch(c)` |
# | `None` for a variable | `trainable=False` / `watch_accessed_variables=False` | watch it explicitly |
# | `None` although the code "uses" the source | computed before the `with` block | compute inside the tape |
# | `None` after numpy | `.numpy()`, `numpy_function` | tapeviz ops, or `custom_gradient` |
# | `None`, and the "variable" is a `Tensor` | `v = v + 1` | `v.assign_add(1)` |
# | `None` and a warning | integer dtype | `tf.cast(..., tf.float32)` |
# | `None` through `argmax`, `cast`, `>` | not differentiable | a smooth surrogate |
# | `None`, source really unused | unconnected | `unconnected_gradients=ZERO` if you want 0 |
#
# ## Exercises
#
# Complete the cell under each exercise and run it; the checker says whether the answer is
# right. Under each one, **Solution** opens a reference answer with a click (*Run All*
# does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — write a reverse sweep
#
# Below, a tape is a plain Python list of `(op, inputs, output)` entries, and `sweep`
# walks it backwards exactly like tapeviz does. Fill in the vector-Jacobian rules for
# `"mul"` and `"sin"` in `vjp`: each takes the output's adjoint `g` and the input values
# and returns one contribution per input.

# %%
def forward(entries, values):
    """Runs the entries in order; `values` maps names to numbers."""
    fns = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "sin": np.sin}
    for op, ins, out in entries:
        values[out] = fns[op](*[values[i] for i in ins])
    return values


def sweep(entries, values, vjp, target):
    """The reverse sweep: adjoints start at 1 on the target and flow back."""
    adjoint = {target: 1.0}
    for op, ins, out in reversed(entries):
        g = adjoint.get(out, 0.0)
        for name, contribution in zip(ins, vjp[op](g, *[values[i] for i in ins])):
            adjoint[name] = adjoint.get(name, 0.0) + contribution  # fan-out: add up
    return adjoint


# y = sin(x * w) * x + w
entries = [("mul", ("x", "w"), "a"), ("sin", ("a",), "b"), ("mul", ("b", "x"), "c"), ("add", ("c", "w"), "y")]


def check_vjp(vjp):
    if vjp.get("mul") is None or vjp.get("sin") is None:
        print("Exercise 1: not done yet (fill in vjp['mul'] and vjp['sin']).")
        return
    xv, wv = tf.Variable(0.7, dtype=tf.float64), tf.Variable(-1.3, dtype=tf.float64)
    with tf.GradientTape() as tape:
        yv = tf.sin(xv * wv) * xv + wv
    gx, gw = tape.gradient(yv, [xv, wv])
    values = forward(entries, {"x": 0.7, "w": -1.3})
    adjoint = sweep(entries, values, vjp, "y")
    assert np.isclose(values["y"], yv.numpy()), "the forward pass changed?"
    assert np.isclose(adjoint["x"], gx.numpy()), f"dy/dx: yours {adjoint['x']}, tape {gx.numpy()}"
    assert np.isclose(adjoint["w"], gw.numpy()), f"dy/dw: yours {adjoint['w']}, tape {gw.numpy()}"
    print("Exercise 1: correct! dy/dx =", round(adjoint["x"], 6), " dy/dw =", round(adjoint["w"], 6))


vjp = {
    "add": lambda g, a, b: (g, g),  # d(a+b)/da = 1, d(a+b)/db = 1
    "mul": None,  # YOUR CODE HERE: lambda g, a, b: (..., ...)
    "sin": None,  # YOUR CODE HERE: lambda g, a: (...,)
}
check_vjp(vjp)

# %% [solution]
vjp = {
    "add": lambda g, a, b: (g, g),
    "mul": lambda g, a, b: (g * b, g * a),  # d(ab)/da = b, d(ab)/db = a
    "sin": lambda g, a: (g * np.cos(a),),  # d sin(a)/da = cos(a)
}
check_vjp(vjp)

# %% [markdown]
# ### Exercise 2 — undo broadcasting
#
# Write `unbroadcast(g, shape)`: given the adjoint `g` of a broadcast result, return the
# gradient for a source of shape `shape` (sum over the axes that broadcasting added or
# stretched, keep the source's shape).

# %%
def check_unbroadcast(fn):
    if fn(np.ones((2, 3)), (3,)) is None:
        print("Exercise 2: not done yet (unbroadcast returns None).")
        return
    rng = np.random.default_rng(0)
    for big, small in [((4, 3), (3,)), ((4, 3), (4, 1)), ((2, 4, 3), (4, 3)), ((2, 4, 3), (1, 4, 1)), ((4, 3), ())]:
        src = tf.Variable(rng.normal(size=small).astype(np.float32))
        g = rng.normal(size=big).astype(np.float32)
        with tf.GradientTape() as tape:
            out = tf.zeros(big) + src
        expected = tape.gradient(out, src, output_gradients=tf.constant(g)).numpy()
        got = np.asarray(fn(g, small))
        assert got.shape == tuple(small), f"{big} -> {small}: got shape {got.shape}"
        assert np.allclose(got, expected, atol=1e-5), f"{big} -> {small}: wrong values"
    print("Exercise 2: correct!")


def unbroadcast(g, shape):
    # YOUR CODE HERE
    return None


check_unbroadcast(unbroadcast)

# %% [solution]
def unbroadcast(g, shape):
    extra = g.ndim - len(shape)
    g = g.sum(axis=tuple(range(extra)))  # axes added in front
    stretched = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(axis=stretched, keepdims=True).reshape(shape)


check_unbroadcast(unbroadcast)

# %% [markdown]
# ### Exercise 3 — find the `None`
#
# `train` is supposed to fit $w$ so that $w \cdot 3 = 6$, but it crashes: the gradient is
# `None` from the second step on. Copy it into `train_fixed` and fix it (one line).

# %%
def train(steps=50):
    w = tf.Variable(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = (w * 3.0 - 6.0) ** 2
        grad = tape.gradient(loss, w)
        w = w - 0.01 * grad
    return w


def check_train(fn):
    if fn() is None:
        print("Exercise 3: not done yet (train_fixed returns None).")
        return
    w = fn()
    assert isinstance(w, tf.Variable), "return the variable itself: update it in place"
    assert abs(w.numpy() - 2.0) < 1e-3, f"w = {w.numpy()}, expected about 2"
    print("Exercise 3: correct! w =", w.numpy())


def train_fixed(steps=50):
    # YOUR CODE HERE
    return None


check_train(train_fixed)

# %% [solution]
def train_fixed(steps=50):
    w = tf.Variable(0.0)
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = (w * 3.0 - 6.0) ** 2
        grad = tape.gradient(loss, w)
        w.assign_sub(0.01 * grad)  # was: w = w - 0.01 * grad (replaced the variable)
    return w


check_train(train_fixed)
