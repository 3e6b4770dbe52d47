# Source of 07_optimizer_race.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # 07 · The optimizer race
#
# A gradient tells you which way is downhill; an **optimizer** decides how far to go and
# how to use the history of earlier gradients. This notebook puts the six classic
# optimizers of Keras side by side — plain SGD, momentum, Nesterov momentum, Adagrad,
# RMSprop and Adam — first for a single step that we check by hand, then racing across
# loss surfaces, and finally shows what the learning rate does.
#
# The optimizers are `tapeviz.keras.optimizers`, with the same update rules and defaults
# as Keras 2 (`tf.keras.optimizers` in TensorFlow 2.0–2.10, `tf.keras.optimizers.legacy`
# today), so they print TensorFlow's numbers.

# %%
import numpy as np

import tapeviz as tf
from tapeviz import keras
from tapeviz.viz import surfaces

# %% [markdown]
# ## 1. Six update rules
#
# $w$ is a parameter, $g$ its gradient, $\eta$ the learning rate. The state each optimizer
# keeps per parameter is a *slot* (a variable with the parameter's shape).
#
# | optimizer | slots | one step |
# |---|---|---|
# | SGD | — | $w \leftarrow w - \eta g$ |
# | momentum ($\mu$) | velocity $m$ | $m \leftarrow \mu m - \eta g$, $\ w \leftarrow w + m$ |
# | Nesterov | velocity $m$ | $m \leftarrow \mu m - \eta g$, $\ w \leftarrow w + \mu m - \eta g$ |
# | Adagrad | accumulator $a$ (starts at 0.1) | $a \leftarrow a + g^2$, $\ w \leftarrow w - \eta g / (\sqrt{a} + \epsilon)$ |
# | RMSprop ($\rho$) | mean square $s$ | $s \leftarrow \rho s + (1-\rho) g^2$, $\ w \leftarrow w - \eta g / (\sqrt{s} + \epsilon)$ |
# | Adam ($\beta_1, \beta_2$) | $m$, $v$ | $m \leftarrow \beta_1 m + (1-\beta_1) g$, $\ v \leftarrow \beta_2 v + (1-\beta_2) g^2$, $\ w \leftarrow w - \eta_t\, m / (\sqrt{v} + \epsilon)$ |
#
# with Adam's bias-corrected step $\eta_t = \eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)$ at
# step $t = 1, 2, \dots$ Momentum remembers the *direction* of past gradients; Adagrad,
# RMSprop and Adam divide by a running *size* of the gradients, one coordinate at a time.
#
# ## 2. One step, by hand
#
# The surface is a long narrow valley, $L(x, y) = \tfrac12 x^2 + 5 y^2$, whose gradient
# is $(x, 10y)$. From $(-2.5, 1.5)$ the gradient is $(-2.5, 15)$: steep across the
# valley, gentle along it.

# %%
print(surfaces.quadratic_bowl, " start:", surfaces.quadratic_bowl.start)


def one_step(optimizer, start=(-2.5, 1.5)):
    """Where `optimizer` moves p after one step on the valley."""
    p = tf.Variable(start)
    with tf.GradientTape() as tape:
        loss = surfaces.quadratic_bowl(p)
    optimizer.apply_gradients([(tape.gradient(loss, p), p)])
    return p.numpy()


lr = 0.1
g = np.array([-2.5, 15.0])
by_hand = {
    "SGD": -lr * g,
    "momentum": -lr * g,                       # m = 0·μ − ηg: the first step is plain SGD
    "Nesterov": 0.9 * (-lr * g) - lr * g,      # w + μm − ηg
    "Adagrad": -lr * g / np.sqrt(0.1 + g**2),
    "RMSprop": -lr * g / np.sqrt(0.1 * g**2),  # s = (1 − ρ) g²
    "Adam": -lr * np.sqrt(1 - 0.999) / (1 - 0.9) * (0.1 * g) / np.sqrt(0.001 * g**2),
}
optimizers = {
    "SGD": keras.optimizers.SGD(lr),
    "momentum": keras.optimizers.SGD(lr, momentum=0.9),
    "Nesterov": keras.optimizers.SGD(lr, momentum=0.9, nesterov=True),
    "Adagrad": keras.optimizers.Adagrad(lr),
    "RMSprop": keras.optimizers.RMSprop(lr),
    "Adam": keras.optimizers.Adam(lr),
}
print(f"{'':9} {'step (dx, dy)':>18}   agrees with the formula")
for name, opt in optimizers.items():
    step = one_step(opt) - np.array([-2.5, 1.5])
    print(f"{name:9} ({step[0]:+.4f}, {step[1]:+.4f})   {np.allclose(step, by_hand[name], atol=1e-5)}")

# %% [markdown]
# SGD and momentum step $\eta g$: ten times further across the valley than along it.
# Adagrad, RMSprop and Adam divide each coordinate by the size of its own gradient, so their
# first step is (nearly) the same length in both directions: Adam's first step is exactly
# $\eta \cdot \operatorname{sign}(g)$, RMSprop's $\eta/\sqrt{1-\rho} \approx 3.16\,\eta$.
#
# ## 3. The race in the narrow valley
#
# `tf.viz.OptimizerRace` runs each optimizer for the given number of steps from the same
# start and animates the paths over the contours, with the loss against the step next to
# it. Press **Play**, or drag the slider. (The picture is interactive when the notebook
# runs; a saved notebook shows one still frame.)

# %%
# NBVAL_IGNORE_OUTPUT
race = tf.viz.OptimizerRace(surfaces.quadratic_bowl, optimizers={
    "SGD": keras.optimizers.SGD(0.01),
    "momentum": keras.optimizers.SGD(0.01, momentum=0.9),
    "Nesterov": keras.optimizers.SGD(0.01, momentum=0.9, nesterov=True),
    "Adagrad": keras.optimizers.Adagrad(0.5),
    "RMSprop": keras.optimizers.RMSprop(0.01),
    "Adam": keras.optimizers.Adam(0.1),
}, steps=100)
race

# %% [markdown]
# Where each one stands after 100 steps (the minimum is at $(0, 0)$):

# %%
def standings(race):
    for name, path in race.paths.items():
        x, y = path[-1]
        print(f"{name:10} at ({x:+.3f}, {y:+.3f})   loss {race.losses[name][-1]:.3g}")


standings(race)

# %% [markdown]
# Plain SGD with $\eta = 0.01$ crawls along the flat direction ($x$ shrinks by only 1 % per
# step). Momentum and Nesterov build up speed along the valley; Nesterov's look-ahead
# damps the zig-zag. Adagrad's large $\eta = 0.5$ suits this surface: its steps shrink as
# the squared gradients pile up. RMSprop's steps are about $\eta$ long per coordinate
# whatever the gradient (it divides by the gradient's running size): with $\eta = 0.01$
# it covers about one unit in 100 steps and is still on its way.
#
# ## 4. Rosenbrock's banana
#
# $L = (1-x)^2 + 100 (y - x^2)^2$ has its minimum at $(1, 1)$ at the end of a curved,
# very flat valley — a classic test. The learning rates are chosen so that nobody diverges.

# %%
# NBVAL_IGNORE_OUTPUT
banana = tf.viz.OptimizerRace(surfaces.rosenbrock, optimizers={
    "SGD": keras.optimizers.SGD(0.001),
    "momentum": keras.optimizers.SGD(0.001, momentum=0.9),
    "Nesterov": keras.optimizers.SGD(0.001, momentum=0.9, nesterov=True),
    "Adagrad": keras.optimizers.Adagrad(0.3),
    "RMSprop": keras.optimizers.RMSprop(0.002),
    "Adam": keras.optimizers.Adam(0.02),
}, steps=500)
banana

# %%
standings(banana)

# %% [markdown]
# With these settings only the momentum methods reach the minimum in 500 steps; the
# adaptive methods follow the valley floor but slowly. Change the learning rates in the
# race's table (when the notebook runs) and watch the paths change.
#
# ## 5. The learning rate
#
# On $\tfrac12 x^2 + 5y^2$ one SGD step multiplies $x$ by $1 - \eta$ and $y$ by
# $1 - 10\eta$. The steep direction decides stability: $|1 - 10\eta| < 1$, i.e.
# $\eta < 2/10 = 0.2$; just above it, SGD diverges. Below it, the slower of the two
# factors sets the pace: larger $\eta$ helps the flat direction until the steep one starts
# to oscillate (the best compromise, $|1-\eta| = |1-10\eta|$, is $\eta = 2/11 \approx 0.18$).

# %%
def sgd_losses(lr, steps=(0, 10, 50, 100)):
    p = tf.Variable(surfaces.quadratic_bowl.start)
    opt = keras.optimizers.SGD(lr)
    out = {}
    for k in range(max(steps) + 1):
        with tf.GradientTape() as tape:
            loss = surfaces.quadratic_bowl(p)
        if k in steps:
            out[k] = float(loss.numpy())
        opt.apply_gradients([(tape.gradient(loss, p), p)])
    return out


print(f"{'lr':>5} " + "".join(f"{'loss @' + str(k):>13}" for k in (0, 10, 50, 100)))
for lr in (0.01, 0.05, 0.1, 0.19, 0.21):
    print(f"{lr:5} " + "".join(f"{v:13.4g}" for v in sgd_losses(lr).values()))

# %% [markdown]
# The same story, animated: five copies of SGD that differ only in $\eta$.

# %%
# NBVAL_IGNORE_OUTPUT
lr_race = tf.viz.OptimizerRace(
    surfaces.quadratic_bowl,
    optimizers={f"lr={lr}": keras.optimizers.SGD(lr) for lr in (0.01, 0.05, 0.1, 0.19, 0.21)},
    steps=40,
)
lr_race

# %% [markdown]
# For Adam the learning rate means something else: its steps are about $\eta$ long
# whatever the size of the gradient, so $\eta$ is roughly the distance travelled per step.
# On the third document's parabola $x^2 - 2x + 1$ from $x = 0$ (distance 1 to the minimum):

# %%
def adam_steps_to_minimum(lr, tol=1e-2, max_steps=5000):
    x = tf.Variable(0.0)
    opt = keras.optimizers.Adam(lr)
    for k in range(1, max_steps + 1):
        opt.minimize(lambda: x**2 - 2.0 * x + 1.0, [x])
        if abs(x.numpy() - 1.0) < tol:
            return k
    return None


for lr in (0.001, 0.01, 0.1):
    print(f"Adam lr={lr}: |x − 1| < 0.01 after {adam_steps_to_minimum(lr)} steps")

# %% [markdown]
# ## Exercises
#
# Complete the cell under each exercise and run it; the checker says whether the answer is
# right. Under each one, **Solution** opens a reference answer with a click (*Run All*
# does not run it; copy it into a cell to try it).
#
# ### Exercise 1 — momentum in numpy
#
# Write `momentum_path(grad, p0, lr, mu, steps)`: Keras's momentum rule in plain numpy
# (see the table in section 1), returning the positions after each step as an array of
# shape `(steps, 2)`. `grad(p)` gives the gradient at `p`. The checker compares with
# `keras.optimizers.SGD(lr, momentum=mu)`.

# %%
def check_momentum(fn):
    grad = lambda p: np.array([p[0], 10 * p[1]], dtype=np.float32)  # the valley's gradient
    if fn(grad, (-2.5, 1.5), 0.01, 0.9, 3) is None:
        print("Exercise 1: not done yet (momentum_path returns None).")
        return
    p = tf.Variable([-2.5, 1.5])
    opt = keras.optimizers.SGD(0.01, momentum=0.9)
    expected = []
    for _ in range(20):
        with tf.GradientTape() as tape:
            loss = surfaces.quadratic_bowl(p)
        opt.apply_gradients([(tape.gradient(loss, p), p)])
        expected.append(p.numpy())
    got = np.asarray(fn(grad, (-2.5, 1.5), 0.01, 0.9, 20))
    assert got.shape == (20, 2), f"expected shape (20, 2), got {got.shape}"
    assert np.allclose(got, expected, atol=1e-5), "the path differs from Keras's momentum"
    print("Exercise 1: correct!")


def momentum_path(grad, p0, lr, mu, steps):
    p = np.array(p0, dtype=np.float32)
    # YOUR CODE HERE
    return None


check_momentum(momentum_path)

# %% [solution]
def momentum_path(grad, p0, lr, mu, steps):
    p = np.array(p0, dtype=np.float32)
    m = np.zeros_like(p)
    path = []
    for _ in range(steps):
        m = mu * m - lr * grad(p)
        p = p + m
        path.append(p)
    return np.array(path)


check_momentum(momentum_path)

# %% [markdown]
# ### Exercise 2 — Adam's first step
#
# With the default $\beta_1 = 0.9$, $\beta_2 = 0.999$, what is Adam's first step for a
# gradient `g` (a numpy vector) and learning rate `lr`? Write `adam_first_step(g, lr)`
# returning the change of the parameter (ignore $\epsilon$).

# %%
def check_adam_first(fn):
    g = np.array([-3.0, 0.5, 40.0], dtype=np.float32)
    if fn(g, 0.1) is None:
        print("Exercise 2: not done yet (adam_first_step returns None).")
        return
    w = tf.Variable([1.0, 1.0, 1.0])
    keras.optimizers.Adam(0.1).apply_gradients([(tf.constant(g), w)])
    expected = w.numpy() - 1.0
    got = np.asarray(fn(g, 0.1))
    assert np.allclose(got, expected, atol=1e-4), f"got {got}, Keras moved by {expected}"
    print("Exercise 2: correct! The first step is", got)


def adam_first_step(g, lr):
    # YOUR CODE HERE
    return None


check_adam_first(adam_first_step)

# %% [solution]
def adam_first_step(g, lr):
    # m = 0.1 g, v = 0.001 g², eta_1 = lr·sqrt(0.001)/0.1: the step is -lr·sign(g)
    return -lr * np.sign(g)


check_adam_first(adam_first_step)

# %% [markdown]
# ### Exercise 3 — the largest stable learning rate
#
# SGD minimises $L(p) = \tfrac12 p^\top A p$ with $A = \begin{pmatrix}3 & 1\\ 1 & 3\end{pmatrix}$.
# What is the largest learning rate for which it converges from any start? Set
# `lr_max` to your answer (a number); the checker runs SGD just below and just above it.
# (Hint: one step multiplies $p$ by $I - \eta A$.)

# %%
A = np.array([[3.0, 1.0], [1.0, 3.0]], dtype=np.float32)


def check_lr_max(lr_max):
    if lr_max is None:
        print("Exercise 3: not done yet (set lr_max).")
        return

    def final_loss(lr):
        p = tf.Variable([1.0, -0.5])
        opt = keras.optimizers.SGD(lr)
        for _ in range(300):
            with tf.GradientTape() as tape:
                loss = 0.5 * tf.reduce_sum(p * tf.reshape(tf.matmul(tf.constant(A), tf.reshape(p, (2, 1))), (2,)))
            opt.apply_gradients([(tape.gradient(loss, p), p)])
        return float(loss.numpy())

    assert final_loss(0.97 * lr_max) < 1e-3, "just below your lr_max SGD should converge"
    assert final_loss(1.03 * lr_max) > 1.0, "just above your lr_max SGD should diverge"
    print("Exercise 3: correct! lr_max =", lr_max)


lr_max = None  # YOUR ANSWER HERE
check_lr_max(lr_max)

# %% [solution]
# The eigenvalues of A are 2 and 4; SGD is stable while |1 − 4η| < 1, i.e. η < 2/4.
check_lr_max(2 / np.linalg.eigvalsh(A).max())
