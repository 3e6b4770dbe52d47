# Source of 04_custom_layers_numpy_vs_tape.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 04 · Custom layers: hand-written backward passes, the tape, and `custom_gradient`
#
# **The original article** is a question-and-answer thread (a Stack Overflow question,
# translated into Chinese). The question: in numpy one writes a layer's backward pass by
# hand — for a matmul layer, $Y = X W^\top$ forward and $dX = dY\, W$ backward. With
# TensorFlow, do we still have to derive gradient formulas?
#
# The answers say no: you write the forward pass with TensorFlow operations and the
# gradient tape derives the backward pass. They show it on
# $y = x^3 + x^2 + x + 5$ (first and second derivative at $x = 3$) and quote the custom
# training loop of the Keras guide. The second answer adds that you may also write the
# forward pass in numpy and wrap it in `tf.numpy_function`, "and TF will create the
# backpropagation for you".
#
# **That last claim is wrong.** `numpy_function` runs opaque numpy code: the tape cannot
# see inside it, so no gradient flows through it — `tape.gradient` returns `None`. This
# notebook shows what really happens, reproduces the question's numpy layer with its
# hand-written backward pass and checks it against the tape, and then shows the right tool
# for numpy code that needs a gradient: `custom_gradient`.

# %%
import numpy as np

import tapeviz as tf
from tapeviz import keras

# %% [markdown]
# ## 1. The tape derives the backward pass
#
# $y = x^3 + x^2 + x + 5$, so $y' = 3x^2 + 2x + 1 = 34$ and $y'' = 6x + 2 = 20$ at $x = 3$.

# %%
# some input
x = tf.Variable(3.0, trainable=True)
with tf.GradientTape() as tape:
    # some output
    y = x**3 + x**2 + x + 5
# compute gradient of y wrt x
print(tape.gradient(y, x).numpy())

# %%
tf.viz.graph(tape)

# %% [markdown]
# `x` feeds three operations (`x**3`, `x**2` and the sum), so three contributions meet in
# it. Step through the sweep and watch the adjoint table: $\partial y/\partial x = 1 + 6 +
# 27 = 34$ (interactive when the notebook runs).

# %%
# NBVAL_IGNORE_OUTPUT
player = tf.viz.SweepPlayer(tape)
player

# %%
print(player)
print(player.frames[-1].accumulation[0])

# %% [markdown]
# Higher derivatives come from nested tapes (notebook 06 shows how):

# %%
x = tf.Variable(3.0, trainable=True)
with tf.GradientTape() as tape1:
    with tf.GradientTape() as tape2:
        y = x**3 + x**2 + x + 5
    # first derivative
    order_1 = tape2.gradient(y, x)
# second derivative
order_2 = tape1.gradient(order_1, x)
print(order_2.numpy())

# %% [markdown]
# The reverse sweep of the first-derivative tape, rule by rule (`x` is used three times,
# so three contributions add up to $27 + 6 + 1 = 34$):

# %%
rec = tape2.record()
for step in rec.sweep:
    print(step.formula)

# %% [markdown]
# The outer tape `tape1` recorded both the cubic and the graph of its derivative
# $3x^2 + 2x + 1$ (the shaded group) and differentiated the latter:

# %%
tf.viz.graph(tape1)

# %% [markdown]
# ## 2. The question's numpy layer
#
# A matmul layer $Y = X W^\top$ with $X$ of shape (batch, in) and $W$ of shape (out, in).
# Given $dY = \partial L/\partial Y$ from the layer above, the chain rule gives
#
# $$dX = dY\, W, \qquad dW = dY^\top X .$$
#
# The question writes the forward and the input gradient; we add $dW$, which training
# needs. (The question writes into preallocated buffers with `out=`; plain assignments
# keep this short.)

# %%
class NumpyMatMul:
    """The question's layer: Y = X Wᵀ forward, dX = dY W backward (plus dW = dYᵀ X)."""

    def __init__(self, W):
        self.W = W

    def forward(self, X):
        self.X = X
        self.Y = np.matmul(self.X, self.W.T)
        return self.Y

    def backward(self, dY):
        """dY = dL/dY is the gradient of the loss L with respect to the output Y."""
        self.dY = dY
        self.dW = np.matmul(self.dY.T, self.X)
        self.dX = np.matmul(self.dY, self.W)
        return self.dX


# Small integers, so that every number below is exact in float32 on any machine.
rng = np.random.default_rng(0)
X_np = rng.integers(-3, 4, size=(4, 3)).astype(np.float32)   # a batch of 4 inputs with 3 features
W_np = rng.integers(-3, 4, size=(2, 3)).astype(np.float32)   # 3 features in, 2 out
dY_np = rng.integers(-3, 4, size=(4, 2)).astype(np.float32)  # what the layer above sends back

layer = NumpyMatMul(W_np)
Y_np = layer.forward(X_np)
dX_np = layer.backward(dY_np)
print("Y =\n", Y_np)
print("dX =\n", dX_np)
print("dW =\n", layer.dW)

# %% [markdown]
# ## 3. What `numpy_function` really does
#
# Following the second answer, wrap the numpy forward pass in `tf.numpy_function` and ask
# the tape for gradients:

# %%
X = tf.constant(X_np)
W = tf.Variable(W_np, name="W")

with tf.GradientTape() as tape:
    tape.watch(X)
    Y = tf.numpy_function(layer.forward, [X], tf.float32)
    L = tf.reduce_sum(Y * dY_np)  # a loss whose gradient with respect to Y is dY_np

print(Y.shape, L)
print(tape.gradient(L, [X, W]))

# %% [markdown]
# **`[None, None]`: no backpropagation is created.** The forward values are right, but the
# tape cannot look inside numpy code, so there is no path from `X` or `W` to the loss.
# The record shows it: the tape holds only the watched `X`. The `numpy_function` left no
# trace, and since `Y` did not come from a recorded operation, the tape did not even
# record the loss computed from it.

# %%
for node in tape.record().nodes:
    print(node.id, node.kind, node.op or node.name or "", node.shape, "watched" if node.watched else "")

# %%
tf.viz.graph(tape)

# %% [markdown]
# TensorFlow behaves the same way: the documentation of `tf.numpy_function` says that the
# operation is not differentiable. (Passing `W` itself instead of closing over it changes
# nothing: the values go into numpy, the gradient stops there.)
#
# ## 4. The hand-written backward pass, checked against the tape
#
# The right way to let the tape do the calculus is to write the forward pass with
# `tapeviz` (TensorFlow) operations. `output_gradients=dY` starts the reverse sweep with
# the upstream gradient $dY$ instead of ones, exactly like the question's `backward(dY)`.

# %%
with tf.GradientTape() as tape:
    tape.watch(X)
    Y = tf.matmul(X, W, transpose_b=True)  # Y = X Wᵀ

dX_tape, dW_tape = tape.gradient(Y, [X, W], output_gradients=tf.constant(dY_np))

print("forward  agrees:", np.allclose(Y.numpy(), Y_np))
print("dX agrees:", np.allclose(dX_tape.numpy(), layer.dX), " dW agrees:", np.allclose(dW_tape.numpy(), layer.dW))

# %%
tf.viz.graph(tape)

# %% [markdown]
# The `matmul` rule the tape applied is the one derived by hand: $dX = dY\,W$ (with
# `transpose_b=True`, the tape's $W$ is already our $W$) and $dW = dY^\top X$.
#
# ## 5. The right tool for numpy code: `custom_gradient`
#
# Sometimes the forward pass really must stay in numpy (a legacy routine, a library
# call). Then give the tape the backward pass yourself: `tf.custom_gradient` wraps a
# function that returns its output **and** a `grad_fn` that maps $dY$ to the gradients of
# the inputs. The forward can run through `numpy_function`; the backward is the
# question's hand-written formula.

# %%
@tf.custom_gradient
def numpy_matmul(X, W):
    """Y = X Wᵀ computed by numpy, with the hand-derived backward pass."""
    Y = tf.numpy_function(lambda x, w: np.matmul(x, w.T), [X, W], tf.float32)

    def grad_fn(dY):
        dX = tf.numpy_function(lambda dy, w: np.matmul(dy, w), [dY, W], tf.float32)
        dW = tf.numpy_function(lambda dy, x: np.matmul(dy.T, x), [dY, X], tf.float32)
        return dX, dW

    return Y, grad_fn


with tf.GradientTape() as tape:
    tape.watch(X)
    Y = numpy_matmul(X, W)
    L = tf.reduce_sum(Y * dY_np)

dX_custom, dW_custom = tape.gradient(L, [X, W])
print("dX agrees:", np.allclose(dX_custom.numpy(), dX_tape.numpy()), " dW agrees:", np.allclose(dW_custom.numpy(), dW_tape.numpy()))

# %% [markdown]
# Now the tape holds one `custom_gradient` node for the whole layer, and the sweep calls
# our `grad_fn` for it:

# %%
rec = tape.record()
for node in rec.nodes:
    print(node.id, node.kind, node.op or node.name or "", node.shape)

# %%
tf.viz.graph(tape)

# %% [markdown]
# A caveat: because this `grad_fn` is numpy code too, its own derivative is invisible —
# second derivatives through it would be `None`. Write `grad_fn` with `tf` operations
# (`tf.matmul(dY, W)`) when you need higher order.
#
# ## 6. A custom training loop
#
# The first answer quotes the training loop of the Keras guide "writing a training loop
# from scratch": a forward pass on a tape, the loss, `tape.gradient` with respect to the
# model's trainable weights, and `optimizer.apply_gradients`. Nothing in it is written by
# hand except the forward pass — the layers are built from operations the tape knows.
#
# We run it as quoted on a small dataset made on the spot (no download): three interleaved
# spirals in the plane, 100 points each, which a linear model cannot separate. Seeds are
# fixed, so every run trains the same model.

# %%
tf.random.set_seed(0)
x_train, y_train = tf.datasets.spirals(100, classes=3, seed=0)
train_dataset = tf.data.Dataset.from_tensor_slices((x_train, y_train)).shuffle(1024, seed=0).batch(32)

model = keras.Sequential([
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(32, activation="relu"),
    keras.layers.Dense(3),  # logits, one per class
])
optimizer = keras.optimizers.Adam(learning_rate=1e-2)
loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
print(x_train.shape, y_train.shape, "classes:", np.bincount(y_train))

# %% [markdown]
# The loop, as the answer quotes it (with its comments), inside a loop over epochs that
# reports the progress. (tapeviz sums the small matrix products of these layers in a
# fixed order, so the printed losses are the same on every computer.)

# %%
epochs = 40
for epoch in range(epochs):
    for step, (x_batch_train, y_batch_train) in enumerate(train_dataset):
        # Open a GradientTape to record the operations run
        # during the forward pass, which enables auto-differentiation.
        with tf.GradientTape() as tape:
            # Run the forward pass of the layer.
            # The operations that the layer applies
            # to its inputs are going to be recorded
            # on the GradientTape.
            logits = model(x_batch_train, training=True)  # Logits for this minibatch

            # Compute the loss value for this minibatch.
            loss_value = loss_fn(y_batch_train, logits)

        # Use the gradient tape to automatically retrieve
        # the gradients of the trainable variables with respect to the loss.
        grads = tape.gradient(loss_value, model.trainable_weights)

        # Run one step of gradient descent by updating
        # the value of the variables to minimize the loss.
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
    if epoch % 5 == 0 or epoch == epochs - 1:
        accuracy = np.mean(np.argmax(model(x_train).numpy(), axis=1) == y_train)
        print(f"epoch {epoch:2d}: loss of the last batch {float(loss_value):.4f}, training accuracy {accuracy:.1%}")

# %%
accuracy = np.mean(np.argmax(model(x_train).numpy(), axis=1) == y_train)
print("training accuracy above 95%:", accuracy > 0.95)
print("optimizer steps:", optimizer.iterations.numpy(), "=", epochs, "epochs ×", len(train_dataset), "batches")

# %% [markdown]
# The tape of the last batch, one box per layer (`collapse=True` folds each name scope —
# here each layer — into a box with its value and gradient):

# %%
tf.viz.graph(tape, collapse=True)

# %% [markdown]
# Unfolded, it is the same kind of graph as before: for each `Dense` layer a `matmul` with
# the kernel, an `add` of the bias (broadcast over the batch, so its gradient is summed
# over it) and a `relu`; then the cross-entropy of the logits and the mean over the batch.

# %%
tf.viz.graph(tape, rankdir="TB")

# %% [markdown]
# ### The race
#
# A real network has too many weights to draw its loss surface, so here is the same kind
# of training with only **two** weights: a linear classifier without bias for two
# overlapping clusters, with the same loss function. Four optimizers race from the same
# start to the minimum of the cross-entropy (interactive when the notebook runs).

# %%
# NBVAL_IGNORE_OUTPUT
x2, y2 = tf.datasets.blobs(50, centers=np.array([[1.0, 0.5], [-1.0, -0.5]]), std=1.5, seed=0)
X2, Y2 = tf.constant(x2), tf.constant(y2)


def two_weight_loss(p):
    z = tf.matmul(X2, tf.reshape(p, (2, 1)))            # score of class 0
    return loss_fn(Y2, tf.concat([z, -z], axis=1))      # logits (z, -z)


race = tf.viz.OptimizerRace(two_weight_loss, start=(-2.0, 2.0), optimizers={
    "SGD": keras.optimizers.SGD(0.5),
    "momentum": keras.optimizers.SGD(0.5, momentum=0.9),
    "RMSprop": keras.optimizers.RMSprop(0.05),
    "Adam": keras.optimizers.Adam(0.1),
}, steps=60, bounds=((-2.5, 2.5), (-2.5, 2.5)))
race

# %% [markdown]
# Where each optimizer ended, to one decimal. Why so few digits? RMSprop with a fixed
# learning rate never settles: near the minimum each step still has about the size of the
# learning rate, so it zig-zags across the valley (its $y$ still moves up or down by about
# 0.01 at every step). Where step 60 lands is decided by the last bits of the arithmetic,
# for example by how this computer's `exp` rounds, so a second decimal could differ
# between machines. The loss hardly changes along the zig-zag: it keeps three decimals.

# %%
for name, path in race.paths.items():
    print(f"{name:9} after 60 steps at ({path[-1, 0]:+.1f}, {path[-1, 1]:+.1f}), loss {race.losses[name][-1]:.3f}")

# %% [markdown]
# ## Exercises
#
# Complete the cell under each exercise and run it; the checker says whether the answer is
# right. Under each one, **Solution** opens a reference answer with a click (*Run All*
# does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — the backward pass of a dense layer
#
# Complete `dense_backward(X, W, b, dY)` for the numpy layer $Y = XW + b$ ($X$: batch × in,
# $W$: in × out, $b$: out): return `(dX, dW, db)`. The checker compares with the tape.

# %%
def check_dense_backward(fn):
    rng = np.random.default_rng(1)
    Xr, Wr = rng.normal(size=(5, 3)).astype(np.float32), rng.normal(size=(3, 2)).astype(np.float32)
    br, dYr = rng.normal(size=(2,)).astype(np.float32), rng.normal(size=(5, 2)).astype(np.float32)
    if fn(Xr, Wr, br, dYr) is None:
        print("Exercise 1: not done yet (dense_backward returns None).")
        return
    Xt, Wt, bt = tf.constant(Xr), tf.Variable(Wr), tf.Variable(br)
    with tf.GradientTape() as tape:
        tape.watch(Xt)
        Yt = tf.matmul(Xt, Wt) + bt
    expected = tape.gradient(Yt, [Xt, Wt, bt], output_gradients=tf.constant(dYr))
    for name, got, exp in zip(["dX", "dW", "db"], fn(Xr, Wr, br, dYr), expected):
        assert np.shape(got) == exp.shape, f"{name} must have shape {exp.shape}, got {np.shape(got)}"
        assert np.allclose(got, exp.numpy(), atol=1e-5), f"{name} disagrees with the tape"
    print("Exercise 1: correct!")


def dense_backward(X, W, b, dY):
    # YOUR CODE HERE
    return None


check_dense_backward(dense_backward)

# %% [solution]
def dense_backward(X, W, b, dY):
    # b was broadcast over the batch, so its gradient sums over the batch axis
    return dY @ W.T, X.T @ dY, dY.sum(axis=0)


check_dense_backward(dense_backward)

# %% [markdown]
# ### Exercise 2 — make a numpy function differentiable
#
# `np_softplus` computes $\log(1 + e^x)$ in numpy. Complete `softplus` with
# `tf.custom_gradient` so that the tape can differentiate it
# ($\frac{d}{dx}\log(1+e^x) = \sigma(x) = 1/(1+e^{-x})$).

# %%
def np_softplus(x):
    return np.log1p(np.exp(x)).astype(np.float32)


def check_softplus(fn):
    xs = tf.constant([-2.0, 0.0, 1.5])
    with tf.GradientTape() as tape:
        tape.watch(xs)
        ys = fn(xs)
    if ys is None:
        print("Exercise 2: not done yet (softplus returns None).")
        return
    assert np.allclose(ys.numpy(), np_softplus(xs.numpy())), "the forward values are wrong"
    got = tape.gradient(ys, xs)
    assert got is not None, "the gradient is None: numpy_function alone is not differentiable"
    assert np.allclose(got.numpy(), 1 / (1 + np.exp(-xs.numpy())), atol=1e-6), "the gradient is wrong"
    print("Exercise 2: correct!")


def softplus(x):
    # YOUR CODE HERE (decorate a function with @tf.custom_gradient)
    return None


check_softplus(softplus)

# %% [solution]
@tf.custom_gradient
def softplus(x):
    y = tf.numpy_function(np_softplus, [x], tf.float32)

    def grad_fn(dy):
        return dy * tf.sigmoid(x)

    return y, grad_fn


check_softplus(softplus)

# %% [markdown]
# ### Exercise 3 — a gradient check
#
# Hand-written backward passes need testing. Complete `numeric_derivative(f, x0, h)`:
# the central difference $\big(f(x_0 + h) - f(x_0 - h)\big) / 2h$ in float64. The checker
# compares it with the tape on the cubic of section 1.

# %%
def check_numeric(fn):
    cubic = lambda t: t**3 + t**2 + t + 5
    if fn(cubic, 3.0, 1e-4) is None:
        print("Exercise 3: not done yet (numeric_derivative returns None).")
        return
    for x0 in (-1.0, 0.0, 3.0):
        xv = tf.Variable(x0)
        with tf.GradientTape() as tape:
            yv = cubic(xv)
        exact = tape.gradient(yv, xv).numpy()
        approx = fn(cubic, x0, 1e-4)
        assert abs(approx - exact) < 1e-5 * max(1, abs(exact)), f"at {x0}: {approx} vs tape {exact}"
    print("Exercise 3: correct!")


def numeric_derivative(f, x0, h):
    # YOUR CODE HERE
    return None


check_numeric(numeric_derivative)

# %% [solution]
def numeric_derivative(f, x0, h):
    return (f(np.float64(x0) + h) - f(np.float64(x0) - h)) / (2 * h)


check_numeric(numeric_derivative)
