# Source of 06_higher_order_and_jacobians.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 06 · Higher-order derivatives and Jacobians
#
# Notebooks 02–04 computed second derivatives by nesting two tapes. This notebook shows
# *why* that works — the outer tape records the inner tape's reverse sweep, which is the
# **graph of the gradient** — and then moves from scalars to vectors: Jacobians, their
# rows as vector-Jacobian products, batch Jacobians, and Hessians.

# %%
import numpy as np

import tapeviz as tf

# %% [markdown]
# ## 1. Nested tapes record the graph of the gradient
#
# $y = x^3$ at $x = 2$: $y' = 3x^2 = 12$ and $y'' = 6x = 12$.

# %%
x = tf.Variable(2.0, name="x")
with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        y = x ** 3
    dy_dx = inner.gradient(y, x)     # runs while `outer` is recording
d2y_dx2 = outer.gradient(dy_dx, x)
print(dy_dx, d2y_dx2)

# %% [markdown]
# When the inner tape runs its reverse sweep while another tape is recording, it computes
# each vector-Jacobian rule **with tapeviz operations** (for `pow`: $\bar x = \bar y \cdot 3
# \cdot x^{2}$), so the outer tape records them. Those operations carry a `group` in the
# record, naming the sweep they came from. The outer tape therefore holds two graphs: the
# forward graph of $y$ and, on top of it, the graph that computes $y'$ from $x$:

# %%
rec = outer.record()
for n in rec.nodes:
    what = n.op if n.kind == "op" else (n.name or "")
    print(f"#{n.id} {n.kind:8} {what:9} inputs={str(n.inputs):8} value={tf.graph.format_value(n.value):4} {n.group or ''}")

# %% [markdown]
# The outer sweep differentiates $y' = 3 \cdot x^2$ (nodes `#4` and `#6`), starting from
# `#6`; the forward graph of $y$ (node `#2`) is not on the way and is not visited:

# %%
for step in rec.sweep:
    print(step.formula)

# %% [markdown]
# The drawing puts the operations recorded during the inner sweep in a shaded group. The
# outer sweep's steps (numbered) all lie in or lead into that group:

# %%
tf.viz.graph(outer)

# %% [markdown]
# Step through the outer tape: the forward frames replay both the function and the
# recorded inner sweep; the backward frames differentiate $3x^2$ (interactive when the
# notebook runs).

# %%
# NBVAL_IGNORE_OUTPUT
player = tf.viz.SweepPlayer(outer)
player

# %%
print(player)
for frame in player.frames:
    print(f"{frame.phase:8} {frame.formula}")

# %% [markdown]
# Nothing stops at two: each extra tape adds one order. $y''' = 6$:

# %%
with tf.GradientTape() as t3:
    with tf.GradientTape() as t2:
        with tf.GradientTape() as t1:
            y = x ** 3
        d1 = t1.gradient(y, x)
    d2 = t2.gradient(d1, x)
d3 = t3.gradient(d2, x)
print(d1.numpy(), d2.numpy(), d3.numpy())

# %% [markdown]
# ## 2. Jacobians
#
# For a vector function $y = f(x)$, $x \in \mathbb{R}^n$, $y \in \mathbb{R}^m$, the
# Jacobian is the $m \times n$ matrix $J_{ij} = \partial y_i / \partial x_j$. Take
#
# $$f(x) = \big(x_0 x_1,\ x_1 x_2^2,\ x_0^2 + x_1^2 + x_2^2\big)$$
#
# at $x = (1, 2, 3)$.

# %%
x = tf.Variable([1.0, 2.0, 3.0], name="x")
with tf.GradientTape(persistent=True) as tape:
    y = tf.stack([x[0] * x[1], x[1] * x[2] ** 2, tf.reduce_sum(x ** 2)])
    rows = [y[i] for i in range(3)]   # slice inside the tape, so the slices are recorded
J = tape.jacobian(y, x)
print(J)

# %% [markdown]
# **Row $i$ is the gradient of $y_i$.** One reverse sweep per output:

# %%
for i, y_i in enumerate(rows):
    print(f"row {i}:", tape.gradient(y_i, x).numpy())

# %% [markdown]
# And what does `tape.gradient(y, x)` give for a *vector* `y`? Not the Jacobian: the sweep
# starts from $\bar y = (1, 1, 1)$ and returns $\bar y^\top J$ — the column sums. In
# general a reverse sweep computes a **vector-Jacobian product** $v^\top J$ with the $v$
# given as `output_gradients`; a one-hot $v = e_i$ picks row $i$. That is how a Jacobian
# is built: one sweep per row.

# %%
print("1ᵀJ      :", tape.gradient(y, x).numpy(), "  column sums:", J.numpy().sum(axis=0))
print("e₁ᵀJ     :", tape.gradient(y, x, output_gradients=tf.constant([0.0, 1.0, 0.0])).numpy())
print("(1,0,2)ᵀJ:", tape.gradient(y, x, output_gradients=tf.constant([1.0, 0.0, 2.0])).numpy())
del tape

# %% [markdown]
# ## 3. Batch Jacobians
#
# A layer applied to a batch maps each example separately: example $b$'s outputs depend
# only on example $b$'s inputs, so the full Jacobian (batch × out × batch × in) is mostly
# zeros. `batch_jacobian` returns only the per-example blocks, batch × out × in.

# %%
xs = tf.constant([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]])   # a batch of 2 examples, 3 features
W = tf.constant([[1.0, 0.5], [0.0, -1.0], [2.0, 0.0]])  # 3 features -> 2 outputs
with tf.GradientTape(persistent=True) as tape:
    tape.watch(xs)
    ys = tf.square(tf.matmul(xs, W))
Jb = tape.batch_jacobian(ys, xs)
print(Jb.shape)
print(Jb)

# %% [markdown]
# Check: for $y = (x W)^2$ (squared elementwise), the block of example $b$ is
# $2\,(x_b W)_j\, W_{ij}$, i.e. $W^\top$ with row $j$ scaled by $2 (x_b W)_j$; and the
# full Jacobian's diagonal blocks are the same numbers:

# %%
lin = xs.numpy() @ W.numpy()
by_hand = np.stack([2 * lin[k][:, None] * W.numpy().T for k in range(2)])
print("batch_jacobian matches the formula:", np.allclose(Jb.numpy(), by_hand))
J_full = tape.jacobian(ys, xs)   # shape (2, 2, 2, 3)
print("full Jacobian shape:", J_full.shape, " diagonal blocks equal:",
      all(np.allclose(J_full.numpy()[k, :, k, :], Jb.numpy()[k]) for k in range(2)))
del tape

# %% [markdown]
# ## 4. Hessians: the Jacobian of the gradient
#
# For a scalar $f(x)$, the Hessian $H_{ij} = \partial^2 f / \partial x_i \partial x_j$ is
# the Jacobian of the gradient: an inner tape for the gradient, an outer tape for its
# Jacobian. For $f(x) = \sum_i x_i^3 + x_0 x_1$: $H = \operatorname{diag}(6x) +$ (1 in
# the two off-diagonal entries $(0,1)$ and $(1,0)$).

# %%
x = tf.Variable([1.0, 2.0, 3.0], name="x")
with tf.GradientTape() as outer:
    with tf.GradientTape() as inner:
        f = tf.reduce_sum(x ** 3) + x[0] * x[1]
    grad = inner.gradient(f, x)
H = outer.jacobian(grad, x)
print(grad)
print(H)

# %% [markdown]
# The outer tape: the function, then (shaded) the graph of its gradient, which `jacobian`
# differentiated once per component:

# %%
tf.viz.graph(outer)

# %% [markdown]
# ## Exercises
#
# Complete the cell under each exercise and run it; the checker says whether the answer is
# right. Under each one, **Solution** opens a reference answer with a click (*Run All*
# does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — Newton's method
#
# Newton's method minimises a function of one variable with both derivatives:
# $x \leftarrow x - f'(x)/f''(x)$. Complete `newton(f, x0, steps)` with nested tapes
# and return the final `x` as a Python float.

# %%
def check_newton(fn):
    quartic = lambda t: t**4 - 3 * t**2 + t
    if fn(quartic, 2.0, 1) is None:
        print("Exercise 1: not done yet (newton returns None).")
        return
    one = fn(quartic, 2.0, 1)
    expected_one = 2.0 - (4 * 8 - 12 + 1) / (12 * 4 - 6)  # one step by hand
    assert abs(one - expected_one) < 1e-5, f"one step from 2.0: got {one}, expected {expected_one}"
    x_min = fn(quartic, 2.0, 8)
    slope = 4 * x_min**3 - 6 * x_min + 1
    assert abs(slope) < 1e-4, f"after 8 steps f'(x) should be ~0, got {slope}"
    print("Exercise 1: correct! minimum near x =", round(x_min, 5))


def newton(f, x0, steps):
    x = tf.Variable(x0)
    # YOUR CODE HERE
    return None


check_newton(newton)

# %% [solution]
def newton(f, x0, steps):
    x = tf.Variable(x0)
    for _ in range(steps):
        with tf.GradientTape() as outer:
            with tf.GradientTape() as inner:
                y = f(x)
            d1 = inner.gradient(y, x)
        d2 = outer.gradient(d1, x)
        x.assign_sub(d1 / d2)
    return float(x.numpy())


check_newton(newton)

# %% [markdown]
# ### Exercise 2 — a Jacobian row by row
#
# Build the Jacobian of `fn_vec` at `x0` **without** `tape.jacobian`: one
# `tape.gradient(..., output_gradients=...)` call per row, with a one-hot vector.

# %%
def fn_vec(x):
    return tf.stack([x[0] * x[1] * x[2], tf.exp(x[0]) - x[2], x[1] ** 2])


def check_rows(fn):
    x0 = np.array([0.5, -1.0, 2.0], dtype=np.float32)
    if fn(x0) is None:
        print("Exercise 2: not done yet (jacobian_by_rows returns None).")
        return
    xv = tf.Variable(x0)
    with tf.GradientTape() as tape:
        yv = fn_vec(xv)
    expected = tape.jacobian(yv, xv).numpy()
    got = np.asarray(fn(x0))
    assert got.shape == (3, 3), f"expected a 3x3 array, got shape {got.shape}"
    assert np.allclose(got, expected, atol=1e-6), f"got\n{got}\nexpected\n{expected}"
    print("Exercise 2: correct!")


def jacobian_by_rows(x0):
    x = tf.Variable(x0)
    # YOUR CODE HERE (a persistent tape, then one gradient call per row)
    return None


check_rows(jacobian_by_rows)

# %% [solution]
def jacobian_by_rows(x0):
    x = tf.Variable(x0)
    with tf.GradientTape(persistent=True) as tape:
        y = fn_vec(x)
    rows = [tape.gradient(y, x, output_gradients=tf.one_hot(i, 3)).numpy() for i in range(3)]
    return np.stack(rows)


check_rows(jacobian_by_rows)

# %% [markdown]
# ### Exercise 3 — a Hessian-vector product without the Hessian
#
# For a large model the Hessian is too big to build, but $Hv$ costs just two sweeps:
# $Hv = \nabla_x \big(\nabla_x f(x) \cdot v\big)$ (the gradient of a scalar).
# Complete `hvp(f, x0, v)` that way — no `jacobian` call.

# %%
def check_hvp(fn):
    f = lambda t: tf.reduce_sum(t**3) + t[0] * t[1]
    x0 = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    v = np.array([1.0, -1.0, 0.5], dtype=np.float32)
    if fn(f, x0, v) is None:
        print("Exercise 3: not done yet (hvp returns None).")
        return
    H_exact = np.diag(6 * x0) + np.array([[0, 1, 0], [1, 0, 0], [0, 0, 0]])
    got = np.asarray(fn(f, x0, v))
    assert np.allclose(got, H_exact @ v), f"got {got}, expected H v = {H_exact @ v}"
    print("Exercise 3: correct! Hv =", got)


def hvp(f, x0, v):
    x = tf.Variable(x0)
    # YOUR CODE HERE
    return None


check_hvp(hvp)

# %% [solution]
def hvp(f, x0, v):
    x = tf.Variable(x0)
    with tf.GradientTape() as outer:
        with tf.GradientTape() as inner:
            y = f(x)
        g = inner.gradient(y, x)
        g_dot_v = tf.reduce_sum(g * v)   # a scalar, recorded by the outer tape
    return outer.gradient(g_dot_v, x).numpy()


check_hvp(hvp)
