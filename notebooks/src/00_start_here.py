# Source of 00_start_here.ipynb (built by notebooks/_build.py; edit here, then rebuild).

# %% [markdown]
# # tapeviz notebooks — start here
#
# *中文版：[从这里开始](zh/00_start_here.ipynb)*
#
# **tapeviz** is a small automatic-differentiation engine that speaks TensorFlow 2's
# language: code from a TensorFlow textbook runs after changing one line,
# `import tensorflow as tf` → `import tapeviz as tf`. What it adds is a **tape you can
# see**: the graph each `GradientTape` recorded, the reverse sweep step by step with the
# rule each step applied, and optimizers racing across a loss surface.
#
# The first four notebooks each take one reference text about TensorFlow's gradient tape
# (Chinese tutorials and a Q&A thread) and run *every* example in it, printing the same
# numbers; the next four teach what happens inside.
#
# | notebook | what you will find |
# |---|---|
# | [01 · Automatic differentiation: the basics](01_autodiff_basics.ipynb) | $x^2$ and a least-squares loss: the first gradients, and the tape that produced them |
# | [02 · `GradientTape` in depth, and optimizers](02_gradienttape_and_optimizers.ipynb) | `persistent`, `watch`, list targets, second derivatives, gradient descent by hand and with SGD |
# | [03 · The mechanism, optimizers and `tf.function`](03_autodiff_mechanism.ipynb) | derivatives of a parabola; SGD and Adam with `apply_gradients`, `minimize` and a compiled loop |
# | [04 · Custom layers: numpy backward vs the tape](04_custom_layers_numpy_vs_tape.ipynb) | why `numpy_function` has no gradient, a hand-written backward checked against the tape, `custom_gradient`, a training loop |
# | [05 · The reverse sweep, step by step](05_reverse_sweep_step_by_step.ipynb) | the chain rule, fan-out, broadcasting, and every reason a gradient comes back `None` |
# | [06 · Higher order and Jacobians](06_higher_order_and_jacobians.ipynb) | nested tapes record the graph of the gradient; Jacobian rows, batch Jacobians, Hessians |
# | [07 · The optimizer race](07_optimizer_race.ipynb) | SGD, momentum, Nesterov, Adam, RMSprop and Adagrad on one loss surface; the learning rate |
# | [08 · `tf.function` and numba](08_function_and_numba.ipynb) | what tracing records, a `tf.range` loop vs an unrolled one, the compiled speed-up |
#
# **How to use them.** Run each notebook from the top (*Run → Run All Cells*); it runs to
# the end, past the cells that show an error on purpose. Every notebook ends with
# exercises: complete the function in the exercise cell and run it — a checker says
# whether your answer is right (after *Run All* each one says "not done yet"). Under each
# exercise, **Solution** opens a reference answer with one click; *Run All* does not run
# it: copy it into a cell to try it.
#
# Apart from the timings in notebook 08, the numbers the notebooks print come out the same
# on every computer: compare yours with your neighbour's and with your teacher's slides.
#
# ## A first taste

# %%
import tapeviz as tf

x = tf.Variable(3.0, name="x")
with tf.GradientTape() as tape:
    y = tf.square(x)
print(y, tape.gradient(y, x))

# %% [markdown]
# The tape recorded one operation, `square`; its reverse sweep applied one rule, $\bar x = \bar y \cdot 2x$:

# %%
print(tape.record().sweep[0].formula)
