# Source of 02_gradienttape_and_optimizers.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 02 · `GradientTape` in depth, and optimizers
#
# **The original article** (a Chinese blog post, "TensorFlow 2.X — using
# `tf.GradientTape()` together with optimizers") walks through the two arguments of
# `tf.GradientTape` — `persistent` and `watch_accessed_variables` — on the function
#
# $$g(x_1, x_2) = (x_1 + 5)\,x_2^2 ,$$
#
# then shows what happens when `gradient` is called twice, how to watch constants, what a
# *list* of targets means, second derivatives with nested tapes, and finally gradient
# descent written by hand and with a Keras optimizer's `apply_gradients`.
#
# We run every example with `import tapeviz as tf` (and `from tapeviz import keras` where
# the article imports Keras from TensorFlow) and get the article's numbers, then look at
# what each tape recorded.

# %%
import numpy as np

import tapeviz as tf
from tapeviz import keras
from tapeviz.viz import surfaces

# %% [markdown]
# ## The function and its first derivatives
#
# By hand: $\partial g/\partial x_1 = x_2^2$ and $\partial g/\partial x_2 = 2 (x_1 + 5) x_2$,
# so at $(x_1, x_2) = (2, 3)$ we expect $9$ and $42$.

# %%
def g(x1, x2):
    return (x1 + 5) * (x2 ** 2)


x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)

with tf.GradientTape() as tape:
    z = g(x1, x2)

dz_x1 = tape.gradient(z, x1)
print(dz_x1)
print("\n")
# By default a tape can be used only once: a second call raises an error.
try:
    dz_x2 = tape.gradient(z, x2)
except RuntimeError as ex:
    print(ex)

# %% [markdown]
# The first gradient is $9$. The second call fails: a non-persistent tape frees what it
# recorded as soon as `gradient` has run. (The article shows the older TensorFlow wording
# of the message, "GradientTape.gradient can only be called once on non-persistent tapes";
# tapeviz uses today's wording and adds the fix.) Here is the error itself, uncaught (the
# cell is tagged `raises-exception`, so *Run All* shows the error and goes on):

# %% [raises-exception]
tape.gradient(z, x2)

# %% [markdown]
# The tape still shows what it recorded and the one sweep it ran — the gradient with
# respect to `x1` only, so the branch of `x2` carries no gradient:

# %%
tf.viz.graph(tape)

# %% [markdown]
# ## `persistent=True`: a tape you can ask several times
#
# A persistent tape keeps its record until it is deleted (`del tape`) — in TensorFlow
# that is the moment its resources are released.

# %%
with tf.GradientTape(persistent = True) as tape:
    z = g(x1, x2)

dz_x1 = tape.gradient(z, x1)
dz_x2 = tape.gradient(z, x2)
print(dz_x1, dz_x2)

del tape   # release the tape

# %% [markdown]
# Both partial derivatives at once: pass a list of sources, get a list of gradients.

# %%
with tf.GradientTape(persistent = True) as tape:
    z = g(x1, x2)

dz_x1x2 = tape.gradient(z, [x1, x2])

print(dz_x1x2)

# %% [markdown]
# (TensorFlow 1.x-era output in the article also shows an internal `id=61`; current
# TensorFlow and tapeviz leave it out.)
#
# ### What the tape saw
#
# The record of this persistent tape after its last `gradient` call: the nodes in forward
# order, then the reverse sweep. The `multiply` sends $x_2^2 = 9$ to the branch of $x_1$
# and $x_1 + 5 = 7$ to the branch of $x_2$; `pow` multiplies by $2x_2$.

# %%
rec = tape.record()
for node in rec.nodes:
    print(node.id, node.kind, node.op or node.name or "", "value =", tf.graph.format_value(node.value))
for step in rec.sweep:
    print(step.formula)

# %%
tf.viz.graph(tape)

# %% [markdown]
# Step through the forward pass and the reverse sweep (interactive when the notebook
# runs):

# %%
# NBVAL_IGNORE_OUTPUT
player = tf.viz.SweepPlayer(tape)
player

# %%
print(player)
print(player.frames[-1].formula)

# %% [markdown]
# ## Constants are not watched
#
# A tape watches trainable variables automatically. Constants are data, so a tape does
# not follow them unless it is told to with `tape.watch(...)`; without it their gradients
# are `None`.

# %%
# without watch
x1 = tf.constant(2.0)
x2 = tf.constant(3.0)
with tf.GradientTape() as tape:
    z = g(x1, x2)

dz_x1x2 = tape.gradient(z, [x1, x2])

print(dz_x1x2)
print("\n")

# with watch
x1 = tf.constant(2.0)
x2 = tf.constant(3.0)
with tf.GradientTape() as tape:
    tape.watch(x1)
    tape.watch(x2)
    z = g(x1, x2)

dz_x1x2 = tape.gradient(z, [x1, x2])

print(dz_x1x2)

# %% [markdown]
# In the drawing the watched constants (green) are sources with gradients, like
# variables; the unwatched constants 5 and 2 (grey) are not:

# %%
tf.viz.graph(tape)

# %%
del(tape)

# %% [markdown]
# ### `watch_accessed_variables=False`
#
# The article describes the second argument but does not run it. With
# `watch_accessed_variables=False` the tape watches *nothing* by itself — not even
# variables — and you choose what to follow with `watch`:

# %%
v1 = tf.Variable(2.0, name="v1")
v2 = tf.Variable(3.0, name="v2")
with tf.GradientTape(watch_accessed_variables=False) as tape:
    tape.watch(v1)
    z = g(v1, v2)
print(tape.watched_variables())
print(tape.gradient(z, [v1, v2]))

# %% [markdown]
# ## A list of targets: the gradients add up
#
# `tape.gradient([z1, z2], x)` does **not** give two gradients: it differentiates the sum
# $z_1 + z_2 = 3x + x^2$, whose derivative at $x = 5$ is $3 + 2 \cdot 5 = 13$.

# %%
x = tf.Variable(5.0)

with tf.GradientTape() as tape:
    z1 = 3 * x
    z2 = x ** 2

tape.gradient([z1, z2], x)  # the gradients of the targets are summed

# %% [markdown]
# Both targets are marked in the drawing; each sends a seed of 1 back, and the two
# contributions meet in `x`:

# %%
tf.viz.graph(tape)

# %% [markdown]
# ## Second derivatives: nested tapes
#
# The inner tape records $g$; its `gradient` runs *inside* the outer tape's context, so the
# outer tape records the operations of that reverse sweep too. The outer tape can then
# differentiate the first derivatives:
#
# * $\partial^2 g / \partial x_1^2$: $\partial g/\partial x_1 = x_2^2$ does not depend on
#   $x_1$ at all, so the gradient is **unconnected** and comes back as `None`;
# * $\partial^2 g / \partial x_1 \partial x_2 = 2 x_2 = 6$ (both ways round);
# * $\partial^2 g / \partial x_2^2 = 2 (x_1 + 5) = 14$.
#
# `out_grads_1` asks for each first derivative separately (the rows of the Hessian);
# `out_grads_2` passes the *list* `inner_grads` as the target, so again the targets are
# summed: $(\texttt{None} + 6,\ 6 + 14) = (6, 20)$, a `None` counting as zero.

# %%
x1 = tf.Variable(2.0)
x2 = tf.Variable(3.0)
with tf.GradientTape(persistent=True ) as  out_tape:
    with  tf.GradientTape(persistent=True ) as  inner_tape:
        z = g(x1,x2)
    inner_grads = inner_tape.gradient(z, [x1, x2])
# second derivatives one by one: d2z/dx1dx1, d2z/dx1dx2, d2z/dx2dx1, d2z/dx2dx2
out_grads_1 = [out_tape.gradient(inner_grad, [x1, x2]) for inner_grad in inner_grads]

# a list target: the rows are added up, (d2z/dx1dx1 + d2z/dx2dx1, d2z/dx1dx2 + d2z/dx2dx2)
out_grads_2 = out_tape.gradient(inner_grads, [x1, x2])

print(out_grads_1)
print("\n")
print(out_grads_2)

# %% [markdown]
# The outer tape recorded the forward graph of $g$ **and** the operations that the inner
# tape's reverse sweep ran to compute `inner_grads` — the *graph of the gradient* (the
# shaded group). Its last sweep, for `out_grads_2`, runs through that group back to
# `x1` and `x2`. Notebook 06 explains this in detail.

# %%
tf.viz.graph(out_tape)

# %%
del out_tape
del inner_tape
#
# ## Gradient descent by hand
#
# Minimise $z = 3x^2 + 2x - 1$: repeat $x \leftarrow x - \eta\, \frac{dz}{dx}$ with
# learning rate $\eta = 0.1$. The minimum is at $x = -1/3$.

# %%
x = tf.Variable(0.0)
learning_rate = 0.1

for _ in range(100):
    with tf.GradientTape() as tape:
        z = 3. * x ** 2 + 2. * x - 1
    dz_x = tape.gradient(z, x)
    x.assign_sub(learning_rate * dz_x)
print(x)

# %% [markdown]
# `-0.3333333`, as in the article: $-1/3$ to float32 precision. (Recent TensorFlow
# versions print the same float32 number as `-0.3333333134651184`, its exact value
# written out in double precision.)
#
# Every step multiplies the distance to the minimum by $1 - 6\eta = 0.4$, so the first
# steps already land close:

# %%
x = tf.Variable(0.0)
for step in range(6):
    with tf.GradientTape() as tape:
        z = 3. * x ** 2 + 2. * x - 1
    dz_x = tape.gradient(z, x)
    print(f"step {step}: x = {x.numpy():+.7f}   dz/dx = {dz_x.numpy():+.7f}")
    x.assign_sub(learning_rate * dz_x)

# %% [markdown]
# Each iteration records a fresh tape; here is the last one:

# %%
tf.viz.graph(tape)

# %% [markdown]
# ## Gradient descent with an optimizer
#
# A Keras optimizer does the update for us: `apply_gradients` takes a list of
# `(gradient, variable)` pairs. The article writes `SGD(lr = learning_rate)`; `lr` is the
# old name of `learning_rate`, still accepted with a deprecation warning.

# %%
x = tf.Variable(0.0)
learning_rate = 0.1

# choose the optimizer
optimizer = keras.optimizers.SGD(lr = learning_rate)

for _ in range(100):
    with tf.GradientTape() as tape:
        z = 3. * x ** 2 + 2. * x - 1
    dz_x = tape.gradient(z, x)
    optimizer.apply_gradients([(dz_x, x)])  # note: a list of (gradient, variable) tuples

print(x)

# %% [markdown]
# The same number as the hand-written loop: SGD without momentum *is* $x \leftarrow x -
# \eta\, \frac{dz}{dx}$. The optimizer also counts its steps:

# %%
print(optimizer.iterations.numpy(), "steps;", optimizer.get_config())

# %% [markdown]
# ### The race
#
# `tf.viz.OptimizerRace` runs optimizers side by side on the same loss and animates them.
# Here the article's SGD ($\eta = 0.1$) races SGD with momentum and Adam on
# $z = 3x^2 + 2x - 1$, a one-dimensional loss, drawn as a curve with each optimizer's
# points on it. (Interactive when the notebook runs; notebook 07 races all six classic
# optimizers.)

# %%
# NBVAL_IGNORE_OUTPUT
parabola = surfaces.quadratic_1d(3.0, 2.0, -1.0)
race = tf.viz.OptimizerRace(parabola, start=(0.0, 0.0), optimizers={
    "SGD (the article)": keras.optimizers.SGD(0.1),
    "momentum 0.5": keras.optimizers.SGD(0.1, momentum=0.5),
    "Adam": keras.optimizers.Adam(0.1),
}, steps=30)
race

# %%
for name, path in race.paths.items():
    print(f"x after 5 steps: {path[5, 0]:+.4f}   after 30: {path[30, 0]:+.4f}   {name}")

# %% [markdown]
# ## Exercises
#
# Complete the cell under each exercise and run it: the checker tells you whether the
# answer is right. Under each one, **Solution** opens a reference answer with a click
# (*Run All* does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — the Hessian of $g$
#
# Complete `hessian_of_g(a, b)`: it returns the $2\times2$ numpy array
# $\big[\partial^2 g/\partial x_i \partial x_j\big]$ at $(x_1, x_2) = (a, b)$, using nested
# tapes. Unconnected second derivatives must come out as `0`, not `None` (look at the
# `unconnected_gradients=` argument of `gradient`).

# %%
def check_hessian(fn):
    if fn(2.0, 3.0) is None:
        print("Exercise 1: not done yet (hessian_of_g returns None).")
        return
    for a_, b_ in [(2.0, 3.0), (-1.0, 0.5), (0.0, -2.0)]:
        expected = np.array([[0.0, 2 * b_], [2 * b_, 2 * (a_ + 5)]])
        got = np.asarray(fn(a_, b_), dtype=float)
        assert got.shape == (2, 2), f"return a 2x2 array, got shape {got.shape}"
        assert np.allclose(got, expected), f"at ({a_}, {b_}): got\n{got}\nexpected\n{expected}"
    print("Exercise 1: correct!")


def hessian_of_g(a, b):
    x1, x2 = tf.Variable(a), tf.Variable(b)
    # YOUR CODE HERE
    return None


check_hessian(hessian_of_g)

# %% [solution]
def hessian_of_g(a, b):
    x1, x2 = tf.Variable(a), tf.Variable(b)
    with tf.GradientTape(persistent=True) as outer:
        with tf.GradientTape() as inner:
            z = g(x1, x2)
        first = inner.gradient(z, [x1, x2])
    rows = [
        outer.gradient(d, [x1, x2], unconnected_gradients=tf.UnconnectedGradients.ZERO)
        for d in first
    ]
    return np.array([[h.numpy() for h in row] for row in rows])


check_hessian(hessian_of_g)

# %% [markdown]
# ### Exercise 2 — how fast does gradient descent converge?
#
# For $z = 3x^2 + 2x - 1$ starting from $x = 0$, write `steps_needed(lr)`: run the update
# of the hand-written loop above with learning rate `lr` and return the number of steps
# after which $|x + 1/3| < 10^{-4}$ for the first time (at most 1000 steps; return 1000
# if it never gets there).

# %%
def check_steps(fn):
    if fn(0.1) is None:
        print("Exercise 2: not done yet (steps_needed returns None).")
        return
    # distance to the minimum shrinks by |1 - 6 lr| per step
    for lr in (0.1, 0.05, 0.3):
        expected = next(n for n in range(1, 1001) if abs(1 - 6 * lr) ** n / 3 < 1e-4)
        got = fn(lr)
        assert abs(got - expected) <= 1, f"lr={lr}: you counted {got} steps, expected about {expected}"
    assert fn(0.34) == 1000, "with lr=0.34, |1 - 6 lr| > 1: the iteration diverges"
    print("Exercise 2: correct!")


def steps_needed(lr):
    x = tf.Variable(0.0)
    # YOUR CODE HERE
    return None


check_steps(steps_needed)

# %% [solution]
def steps_needed(lr):
    x = tf.Variable(0.0)
    for n in range(1, 1001):
        with tf.GradientTape() as tape:
            z = 3.0 * x**2 + 2.0 * x - 1
        x.assign_sub(lr * tape.gradient(z, x))
        if abs(x.numpy() + 1 / 3) < 1e-4:
            return n
    return 1000


check_steps(steps_needed)

# %% [markdown]
# ### Exercise 3 — one tape, one call
#
# Without `persistent=True`, compute **both** $\partial g/\partial x_1$ and
# $\partial g/\partial x_2$ for constants `c1`, `c2` with a single tape and a single
# `gradient` call. Return the two gradients as a list.

# %%
def check_both(fn):
    c1, c2 = tf.constant(2.0), tf.constant(3.0)
    if fn(c1, c2) is None:
        print("Exercise 3: not done yet (both_grads returns None).")
        return
    got = fn(c1, c2)
    assert None not in got, "a gradient is None: did you watch the constants?"
    assert [float(t.numpy()) for t in got] == [9.0, 42.0], f"got {got}"
    print("Exercise 3: correct!")


def both_grads(c1, c2):
    # YOUR CODE HERE
    return None


check_both(both_grads)

# %% [solution]
def both_grads(c1, c2):
    with tf.GradientTape() as tape:
        tape.watch([c1, c2])
        z = g(c1, c2)
    return tape.gradient(z, [c1, c2])


check_both(both_grads)
