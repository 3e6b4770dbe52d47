# Source of 08_function_and_numba.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 08 · `tf.function` and numba: tracing, loops, speed
#
# Everything so far ran *eagerly*: each operation executed as Python reached it, and a
# tape recorded it on the way. That is easy to follow and slow: every `+` goes through
# Python. `@tf.function` takes another route. The first call **traces** the function: it
# runs the Python code once on symbolic tensors and records every operation — including
# the reverse sweeps of tapes inside and the optimizer updates — into one program. Later
# calls run that program without Python. tapeviz translates the program to Python source
# and compiles it with [numba](https://numba.pydata.org/) (`numba.njit`), so it runs as
# machine code.
#
# This notebook shows what a trace records, when a function is traced again, why
# `tf.range` matters for loops, and measures the speed-up live.

# %%
import sys
import time

import numpy as np

import tapeviz as tf
from tapeviz import keras

# %% [markdown]
# ## 1. Tracing happens once per signature
#
# A Python `print` runs only while the function is traced (it is Python, not part of the
# program); `tf.print` is an operation of the program, so it runs on every call.
# (`tf.print` writes to stderr by default, as in TensorFlow; here it writes to stdout so
# that both kinds of lines appear in the order they happen.)

# %%
@tf.function
def f(x):
    print("tracing f with", x)
    tf.print("running f with x =", x, output_stream=sys.stdout)
    return x * x + 3.0 * x


print(f(tf.constant(2.0)))
print(f(tf.constant(5.0)))

# %% [markdown]
# The second call reused the trace: same *signature* (a float32 scalar). A tensor of
# another shape or dtype is a new signature, so the function is traced again:

# %%
print(f(tf.constant([1.0, 2.0])))
print("traced", f.experimental_get_tracing_count(), "times")

# %% [markdown]
# Python values (numbers, strings, `None`) are part of the signature *by value*: the
# trace treats them as constants. Here the Python loop over `range(n - 1)` is unrolled
# into `n - 1` multiplications, once for each `n`:

# %%
@tf.function
def power(x, n):
    y = x
    for _ in range(n - 1):
        y = y * x
    return y


print(power(tf.constant(2.0), 3), power(tf.constant(2.0), 4), power(tf.constant(3.0), 3))
print("traced", power.experimental_get_tracing_count(), "times (n=3 and n=4)")

# %% [markdown]
# ## 2. What the trace recorded
#
# `get_concrete_function(...)` returns the trace for a signature. Its `program` is a list
# of equations, one per operation, on numbered values `t1, t2, ...` with their dtype and
# shape (`f32[]` is a float32 scalar):

# %%
concrete = f.get_concrete_function(tf.constant(2.0))
print(concrete)
print(concrete.program)

# %% [markdown]
# `concrete.record()` turns the trace into the same kind of record a tape produces, so
# `tf.viz.graph` draws it. Values unknown at trace time show as `nan`:

# %%
tf.viz.graph(concrete.record())

# %% [markdown]
# ## 3. Control flow: autograph turns an `if` on a tensor into `tf.cond`
#
# While tracing, a tensor has no value yet, so Python alone cannot branch on it. As in
# TensorFlow, `tf.function` first rewrites the function's own `if`, `while` and `for`
# statements (this is called *autograph*): a condition that is a tensor becomes `tf.cond`
# or `tf.while_loop`, and both branches are traced into the program as a real `if`/`else`
# that the compiled code decides at run time. A condition on Python values stays Python.

# %%
@tf.function
def relu_with_if(x):
    if x > 0:
        return x
    return tf.zeros_like(x)


print(relu_with_if(tf.constant(2.0)), relu_with_if(tf.constant(-1.0)))
print(relu_with_if.get_concrete_function(tf.constant(2.0)).program)

# %% [markdown]
# In the drawing each branch is a box inside the `tf.cond` box; a `merge` takes the value of
# the branch that ran:

# %%
tf.viz.graph(relu_with_if.get_concrete_function(tf.constant(2.0)).record())

# %% [markdown]
# With `autograph=False` the `if` stays plain Python, and Python cannot decide (the cell is
# tagged `raises-exception`: *Run All* shows the error and goes on):

# %% [raises-exception]
@tf.function(autograph=False)
def relu_without_autograph(x):
    if x > 0:
        return x
    return tf.zeros_like(x)


relu_without_autograph(tf.constant(2.0))

# %% [markdown]
# To choose values elementwise, `tf.where` is simpler still: it becomes one operation of
# the program.

# %%
@tf.function
def relu_with_where(x):
    return tf.where(x > 0, x, tf.zeros_like(x))


print(relu_with_where(tf.constant([2.0, -1.0, 0.5])))

# %% [markdown]
# ## 4. Loops: `tf.range` versus `range`
#
# A Python `for _ in range(100)` inside a `tf.function` runs while tracing, so the program
# contains 100 copies of the body. `for _ in tf.range(100)` becomes a loop *in* the
# program, whose body is traced once. Both give the same numbers:

# %%
x = tf.Variable(0.0, name="x")


@tf.function
def descend_range(lr):
    for _ in tf.range(100):
        with tf.GradientTape() as tape:
            y = (x - 3.0) ** 2
        x.assign_sub(lr * tape.gradient(y, x))
    return y


@tf.function
def descend_unrolled(lr):
    for _ in range(100):
        with tf.GradientTape() as tape:
            y = (x - 3.0) ** 2
        x.assign_sub(lr * tape.gradient(y, x))
    return y


descend_range(0.1)
x_range = x.numpy()
x.assign(0.0)
descend_unrolled(0.1)
print("x after tf.range loop:", x_range, "  after unrolled loop:", x.numpy())
print(descend_range.get_concrete_function(0.1))
print(descend_unrolled.get_concrete_function(0.1))

# %% [markdown]
# Eight equations against 502: the unrolled program is 60 times longer, so it takes
# longer to trace and much longer to compile — and the cost grows with the number of
# steps, while the `tf.range` program stays the same size. Here is the whole `tf.range`
# program: the loop body holds the forward pass $(x-3)^2$, its reverse sweep (simplified
# to $2(x - 3)$) and the update of `x`.

# %%
print(descend_range.get_concrete_function(0.1).program)

# %%
tf.viz.graph(descend_range.get_concrete_function(0.1).record())

# %% [markdown]
# ## 5. The speed-up, measured live
#
# A least-squares fit by gradient descent: 256 examples with 8 features, 1000 SGD steps.
# Once eagerly (each operation through Python, recorded on a tape), once as a
# `tf.function` with a `tf.range` loop (one compiled call).

# %%
rng = np.random.default_rng(0)
X_data = rng.normal(size=(256, 8)).astype(np.float32)
w_true = rng.normal(size=(8, 1)).astype(np.float32)
# tf.matmul rather than numpy's @: numpy hands products to BLAS, whose kernel (and so the
# last bit) depends on the CPU; tapeviz adds small products up in one fixed order
y_data = tf.matmul(X_data, w_true).numpy() + 0.1 * rng.normal(size=(256, 1)).astype(np.float32)
X, Y = tf.constant(X_data), tf.constant(y_data)
w = tf.Variable(np.zeros((8, 1), np.float32), name="w")
opt = keras.optimizers.SGD(0.1)


def train_eager(steps):
    for _ in range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(X, w) - Y))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
    return loss


@tf.function
def train_compiled(steps):
    for _ in tf.range(steps):
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(tf.square(tf.matmul(X, w) - Y))
        opt.apply_gradients([(tape.gradient(loss, w), w)])
    return loss

# %% [markdown]
# The timings below are measured now, on this machine, so they differ from run to run
# (the notebook tests do not compare them). The first compiled call includes tracing and
# numba's compilation; numba caches the machine code on disk, so a later session that
# traces the same program skips most of that.

# %%
# NBVAL_IGNORE_OUTPUT
def timed(fn, *args):
    start = time.perf_counter()
    result = fn(*args)
    return result, time.perf_counter() - start


w.assign(np.zeros((8, 1), np.float32))
loss_eager, t_eager = timed(train_eager, 1000)
w_eager = w.numpy()

w.assign(np.zeros((8, 1), np.float32))
loss_first, t_first = timed(train_compiled, 1000)  # traces and compiles

w.assign(np.zeros((8, 1), np.float32))
loss_compiled, t_compiled = timed(train_compiled, 1000)  # runs the compiled code
w_compiled = w.numpy()

print(f"eager:                          {t_eager * 1000:8.1f} ms")
print(f"compiled, first call (+compile): {t_first * 1000:8.1f} ms")
print(f"compiled, next calls:           {t_compiled * 1000:8.1f} ms   ({t_eager / t_compiled:.0f}× faster than eager)")

# %% [markdown]
# Both did the same arithmetic in float32 (the matrix products may add up in a different
# order, so the last bits can differ):

# %%
print("same final loss:", np.isclose(float(loss_eager), float(loss_compiled), rtol=1e-5),
      " same weights:", np.allclose(w_eager, w_compiled, rtol=1e-5, atol=1e-6))
print("loss after 1000 steps:", round(float(loss_compiled), 4))
print("the compiled loop is faster:", t_compiled < t_eager)

# %% [markdown]
# ## Exercises
#
# Complete the cell under each exercise and run it; the checker says whether the answer is
# right. Under each one, **Solution** opens a reference answer with a click (*Run All*
# does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — a compiled loop
#
# Write `make_descent(v)`: it returns a `tf.function` that runs `steps` steps of gradient
# descent $v \leftarrow v - 0.1 \cdot \frac{d}{dv}(v - 3)^2$ on the variable `v`, with a
# **`tf.range`** loop. The checker compares with eager steps and looks at the program size.

# %%
def check_descent(make):
    v = tf.Variable(0.0)
    fn = make(v)
    if fn is None:
        print("Exercise 1: not done yet (make_descent returns None).")
        return
    fn(50)
    expected = tf.Variable(0.0)
    for _ in range(50):
        with tf.GradientTape() as tape:
            y = (expected - 3.0) ** 2
        expected.assign_sub(0.1 * tape.gradient(y, expected))
    assert np.isclose(v.numpy(), expected.numpy()), f"v = {v.numpy()}, eager steps give {expected.numpy()}"
    size = fn.get_concrete_function(50).program.num_eqns()
    assert size < 30, f"the program has {size} equations: is the loop a tf.range loop?"
    print("Exercise 1: correct! v =", v.numpy(), "with", size, "equations")


def make_descent(v):
    # YOUR CODE HERE: define a @tf.function taking `steps` and return it
    return None


check_descent(make_descent)

# %% [solution]
def make_descent(v):
    @tf.function
    def descend(steps):
        for _ in tf.range(steps):
            with tf.GradientTape() as tape:
                y = (v - 3.0) ** 2
            v.assign_sub(0.1 * tape.gradient(y, v))

    return descend


check_descent(make_descent)

# %% [markdown]
# ### Exercise 2 — how many traces?
#
# `g` below would be called with these six argument pairs. How many times would it be
# traced? Set `traces` to your answer.

# %%
def scale_by(x, scale):
    return x * scale


g = tf.function(scale_by)
calls = [
    (tf.constant(1.0), 2.0),
    (tf.constant(5.0), 2.0),
    (tf.constant([1.0, 2.0]), 2.0),
    (tf.constant(1.0), 3.0),
    (tf.constant(7.0), 3.0),
    (tf.constant(1.0, dtype=tf.float64), 2.0),
]


def check_traces(answer):
    if answer is None:
        print("Exercise 2: not done yet (set traces).")
        return
    fresh = tf.function(scale_by)  # a new tf.function: no traces yet
    for x_, s_ in calls:
        fresh(x_, s_)
    count = fresh.experimental_get_tracing_count()
    assert answer == count, "not quite: a trace is keyed by the shapes and dtypes of tensors and the values of Python arguments"
    print("Exercise 2: correct!", count, "traces")


traces = None  # YOUR ANSWER HERE
check_traces(traces)

# %% [solution]
# float32 scalar & 2.0 (new), same again (reused), float32 vector & 2.0 (new),
# float32 scalar & 3.0 (new), same again (reused), float64 scalar & 2.0 (new).
check_traces(4)

# %% [markdown]
# ### Exercise 3 — Python side effects
#
# `log` is a Python list. How many entries does it hold after the three calls below? Set
# `entries` to your answer.

# %%
log = []


@tf.function
def h(x):
    log.append("called")
    return x + 1.0


for value in (1.0, 2.0, 3.0):
    h(tf.constant(value))


def check_entries(answer):
    if answer is None:
        print("Exercise 3: not done yet (set entries).")
        return
    assert answer == len(log), "Python code inside a tf.function runs only while tracing"
    print("Exercise 3: correct!", len(log), "entry: the list grew during the one trace only")


entries = None  # YOUR ANSWER HERE
check_entries(entries)

# %% [solution]
# One trace (same signature every time), so the Python append ran once.
check_entries(1)
