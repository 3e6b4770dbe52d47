# Source of 01_autodiff_basics.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 01 · Automatic differentiation: the basics
#
# **The original article** (a Chinese TensorFlow study note, "basics — automatic
# differentiation", after the official TensorFlow guide) introduces `tf.GradientTape`:
# every operation run inside `with tf.GradientTape() as tape:` is written down on a *tape*,
# and `tape.gradient(target, sources)` walks that record backwards (reverse-mode
# differentiation) to get the derivatives. It shows two examples:
#
# 1. the derivative of $y = x^2$ at $x = 3$;
# 2. the partial derivatives of the least-squares loss
#    $L(w, b) = \lVert Xw + b - y \rVert^2$ with respect to a weight vector $w$ and a bias $b$.
#
# Here we run the article's code unchanged except for its import line: `tapeviz` speaks
# the same API, so `import tapeviz as tf` is all it takes. Tensors print with a `tv.`
# prefix so you can always tell which library produced a number. Then we open the tape
# and look at what it recorded.

# %%
import numpy as np

import tapeviz as tf

# %% [markdown]
# ## 1. The derivative of $y = x^2$ at $x = 3$
#
# `x` is a `Variable`: a tensor whose value can change (model parameters are variables).
# A trainable variable that is read inside the tape's context is *watched* automatically,
# so the tape knows we may ask for gradients with respect to it.

# %%
x = tf.Variable(initial_value=3.)
with tf.GradientTape() as tape:  # every operation inside this block is recorded
    y = tf.square(x)
y_grad = tape.gradient(y, x)  # dy/dx
print(y, y_grad)

# %% [markdown]
# The same numbers as the article: $y = 9$ and $\frac{dy}{dx} = 2x = 6$.
#
# ### What the tape saw
#
# `tape.record()` returns a read-only copy of the tape: its `nodes` in the order they were
# recorded (sources first, then one node per operation) and, after `gradient`, the `sweep`:
# one step per operation that the reverse sweep visited, with the rule it applied written
# out with the numbers filled in.

# %%
rec = tape.record()
for node in rec.nodes:
    print(node.id, node.kind, node.op or node.name or "", "value =", tf.graph.format_value(node.value))
for step in rec.sweep:
    print(step.formula)

# %% [markdown]
# One operation, one step: the sweep starts with $\partial L/\partial y = 1$ (here the
# "loss" $L$ is $y$ itself) and multiplies it by the local derivative of `square`, $2x$.
#
# The same record, drawn: `tf.viz.graph(tape)` shows the variable (blue), the operation
# (a circle, numbered in the order the reverse sweep visited it) and its output, each value
# box with its value and, after the sweep, its gradient. The legend explains every shape
# and colour used in these drawings.

# %%
tf.viz.graph(tape)

# %%
tf.viz.legend()

# %% [markdown]
# ## 2. Partial derivatives of a least-squares loss
#
# Now $L(w, b) = \sum_i \big((Xw + b - y)_i\big)^2$ with
# $X = \begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix}$, $y = \begin{pmatrix}1\\ 2\end{pmatrix}$,
# $w = \begin{pmatrix}1\\ 2\end{pmatrix}$, $b = 1$. `X` and `y` are constants (data), `w`
# and `b` variables (parameters). Passing a list of sources gives a list of gradients.

# %%
X = tf.constant([[1., 2.], [3., 4.]])
y = tf.constant([[1.], [2.]])
w = tf.Variable(initial_value=[[1.], [2.]])
b = tf.Variable(initial_value=1.)
with tf.GradientTape() as tape:
    L = tf.reduce_sum(tf.square(tf.matmul(X, w) + b - y))
w_grad, b_grad = tape.gradient(L, [w, b])  # partial derivatives of L(w, b) w.r.t. w and b
print(L, w_grad, b_grad)

# %% [markdown]
# Again the article's numbers: $L = 125$, $\partial L/\partial w = (70, 100)^\top$,
# $\partial L/\partial b = 30$. Note that each gradient has the shape of its variable:
# `w_grad` is $2 \times 1$ like `w`, `b_grad` a scalar like `b`.
#
# ### Checking by hand
#
# With the residual $r = Xw + b - y$ the chain rule gives
# $\partial L/\partial w = 2 X^\top r$ and $\partial L/\partial b = 2 \sum_i r_i$
# (the bias was *broadcast* to both rows, so its gradient sums over them).

# %%
Xn, yn, wn, bn = X.numpy(), y.numpy(), w.numpy(), b.numpy()
r = Xn @ wn + bn - yn
print("r =", r.ravel())
print("2 Xᵀ r =", (2 * Xn.T @ r).ravel(), " 2 Σ r =", 2 * r.sum())

# %% [markdown]
# ### The reverse sweep, step by step
#
# The tape recorded five operations: `matmul`, `add` (the bias), `subtract` (the
# targets), `square` and `reduce_sum`. The sweep visits them in reverse order; each step
# receives the adjoint $\partial L/\partial(\text{output})$ and sends a contribution to each
# input. Operation outputs are labelled `t<id>`, constants `c<id>`.

# %%
rec = tape.record()
for node in rec.nodes:
    print(f"{node.id}: {node.kind:8} {node.op or node.name or '':10} shape={node.shape}")
print()
for step in rec.sweep:
    print(step.formula)

# %% [markdown]
# Read it from the top: `reduce_sum` copies the incoming 1 to every summed element;
# `square` multiplies by $2r = (10, 20)^\top$; `subtract` and `add` pass the adjoint
# through (the bias's share is summed back to a scalar: $10 + 20 = 30$); `matmul` finally
# multiplies by $X^\top$: $X^\top (10, 20)^\top = (70, 100)^\top$. Both variables are
# called `Variable` (the article gives them no name), so the record tells them apart by
# node number: `Variable#1` is $w$, `Variable#3` is $b$.
#
# The graph of this tape, with the shapes on the edges and the sweep order on the
# operations (1 = visited first):

# %%
tf.viz.graph(tape)

# %% [markdown]
# ### Step through it
#
# `tf.viz.SweepPlayer` replays the tape: first the forward pass, one operation at a time,
# then the reverse sweep, highlighting the operation whose rule is applied, the formula
# with its numbers, and the table of adjoints accumulated so far. Use **Play**, the step
# buttons or the slider. (The player is interactive when the notebook runs; a saved
# notebook shows its first frame.)

# %%
# NBVAL_IGNORE_OUTPUT
player = tf.viz.SweepPlayer(tape)
player

# %% [markdown]
# The player's frames are plain data too; the last one holds every gradient:

# %%
print(player)
last = player.frames[-1]
print(last.title)
for line in last.accumulation.values():
    print("  ", line)

# %% [markdown]
# ## Exercises
#
# Each exercise has a cell for you to complete and a checker. Run the cell: the checker
# says whether your answer is right. Under it, **Solution** opens a reference answer when
# you click it; *Run All* does not run it. Copy its code into a new cell and run that to
# see the checker accept it.
#
# ### Exercise 1 — a cubic
#
# Complete `cube_slope(x0)` so that it returns $\frac{d}{dx}x^3$ at `x0`, **computed with a
# `GradientTape`** (return the gradient tensor).

# %%
def check_cube_slope(fn):
    """Checks fn(x0) == 3 x0² for a few points, and that it used a tape (returns a tensor)."""
    if fn(1.0) is None:
        print("Exercise 1: not done yet (cube_slope returns None).")
        return
    for x0 in (-2.0, 0.5, 3.0):
        got = fn(x0)
        assert isinstance(got, tf.Tensor), "return the tensor that tape.gradient gives you"
        assert np.isclose(got.numpy(), 3 * x0**2), f"at x0={x0}: got {got.numpy()}, expected {3 * x0**2}"
    print("Exercise 1: correct!")


def cube_slope(x0):
    x = tf.Variable(x0)
    # YOUR CODE HERE: record x**3 on a tape and return its gradient with respect to x
    return None


check_cube_slope(cube_slope)

# %% [solution]
def cube_slope(x0):
    x = tf.Variable(x0)
    with tf.GradientTape() as tape:
        y = x**3
    return tape.gradient(y, x)


check_cube_slope(cube_slope)

# %% [markdown]
# ### Exercise 2 — the least-squares gradient by hand
#
# Write `lsq_grads(X, y, w, b)` in **plain numpy**: it returns `(dL_dw, dL_db)` for
# $L = \sum (Xw + b - y)^2$. The checker compares your formula with the tape on random data.

# %%
def check_lsq_grads(fn):
    rng = np.random.default_rng(0)
    Xr = rng.normal(size=(5, 3)).astype(np.float32)
    yr = rng.normal(size=(5, 1)).astype(np.float32)
    wr = rng.normal(size=(3, 1)).astype(np.float32)
    br = np.float32(0.5)
    if fn(Xr, yr, wr, br) is None:
        print("Exercise 2: not done yet (lsq_grads returns None).")
        return
    w_var, b_var = tf.Variable(wr), tf.Variable(br)
    with tf.GradientTape() as tape:
        loss = tf.reduce_sum(tf.square(tf.matmul(tf.constant(Xr), w_var) + b_var - yr))
    expected_w, expected_b = tape.gradient(loss, [w_var, b_var])
    got_w, got_b = fn(Xr, yr, wr, br)
    assert np.shape(got_w) == (3, 1), f"dL_dw must have w's shape (3, 1), got {np.shape(got_w)}"
    assert np.shape(got_b) == (), f"dL_db must be a scalar like b, got shape {np.shape(got_b)}"
    assert np.allclose(got_w, expected_w.numpy(), rtol=1e-4), "dL_dw disagrees with the tape"
    assert np.allclose(got_b, expected_b.numpy(), rtol=1e-4), "dL_db disagrees with the tape"
    print("Exercise 2: correct!")


def lsq_grads(X, y, w, b):
    # YOUR CODE HERE: residual r = X @ w + b - y, then the two gradients
    return None


check_lsq_grads(lsq_grads)

# %% [solution]
def lsq_grads(X, y, w, b):
    r = X @ w + b - y
    return 2 * X.T @ r, 2 * r.sum()


check_lsq_grads(lsq_grads)

# %% [markdown]
# ### Exercise 3 — which sources get a gradient?
#
# In the cell below, `c` is a constant and `v` a variable created with `trainable=False`.
# Predict what `tape.gradient(z, [a, c, v])` returns for each source: set each entry of
# `prediction` to `True` (a tensor comes back) or `False` (`None` comes back).

# %%
a = tf.Variable(1.0)
c = tf.constant(2.0)
v = tf.Variable(3.0, trainable=False)
with tf.GradientTape() as tape:
    z = a * c * v
actual = {name: g is not None for name, g in zip("acv", tape.gradient(z, [a, c, v]))}


def check_prediction(pred):
    if None in pred.values():
        print("Exercise 3: not done yet (fill in True/False for each source).")
        return
    for name in "acv":
        assert pred[name] == actual[name], f"look again at {name!r}: which tensors does a tape watch?"
    print("Exercise 3: correct!")


prediction = {"a": None, "c": None, "v": None}  # YOUR ANSWER HERE
check_prediction(prediction)

# %% [solution]
# Only trainable variables are watched automatically: a constant (or a variable created
# with trainable=False) needs tape.watch(...) to get a gradient.
check_prediction({"a": True, "c": False, "v": False})
