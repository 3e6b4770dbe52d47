# 00_start_here 的中文文字（代码取自 ../00_start_here.py；由 notebooks/_build.py 合成）。

# %% [markdown]
# # tapeviz 笔记本 —— 从这里开始
#
# *English: [start here](../00_start_here.ipynb)*
#
# **tapeviz** 是一个小型自动微分引擎，用的是 TensorFlow 2 的写法：TensorFlow 教程里的代码只要改一行
# `import tensorflow as tf` → `import tapeviz as tf` 就能运行。它多出来的是一条**看得见的 tape**：
# 每个 `GradientTape` 记录下来的计算图、逐步展开的反向传播（每一步用了哪条求导规则），
# 以及在损失曲面上赛跑的各种优化器。
#
# 前四个笔记本各对应一篇讲 TensorFlow 梯度带（GradientTape）的参考文章（几篇中文教程和一个问答帖），
# 把文中的**每一个**例子都运行一遍，打印出与原文相同的数字；后四个笔记本讲内部到底发生了什么。
#
# | 笔记本 | 内容 |
# |---|---|
# | [01 · 自动微分入门](01_autodiff_basics.ipynb) | $x^2$ 和最小二乘损失：第一批梯度，以及算出它们的 tape |
# | [02 · 深入 `GradientTape` 与优化器](02_gradienttape_and_optimizers.ipynb) | `persistent`、`watch`、列表形式的目标、二阶导数、手写梯度下降和 SGD |
# | [03 · 机制、优化器与 `tf.function`](03_autodiff_mechanism.ipynb) | 抛物线的导数；用 `apply_gradients`、`minimize` 和编译后的循环运行 SGD 与 Adam |
# | [04 · 自定义层：numpy 手写反向 vs tape](04_custom_layers_numpy_vs_tape.ipynb) | 为什么 `numpy_function` 没有梯度，手写的反向传播与 tape 对照，`custom_gradient`，一个训练循环 |
# | [05 · 一步一步看反向传播](05_reverse_sweep_step_by_step.ipynb) | 链式法则、扇出、广播，以及梯度为 `None` 的每一种原因 |
# | [06 · 高阶导数与雅可比矩阵](06_higher_order_and_jacobians.ipynb) | 嵌套的 tape 记录梯度本身的计算图；雅可比矩阵的行、批量雅可比、黑塞矩阵 |
# | [07 · 优化器赛跑](07_optimizer_race.ipynb) | SGD、动量、Nesterov、Adam、RMSprop 和 Adagrad 在同一个损失曲面上比赛；学习率的影响 |
# | [08 · `tf.function` 与 numba](08_function_and_numba.ipynb) | 追踪（tracing）记录了什么，`tf.range` 循环与展开的循环，编译带来的加速 |
#
# **怎么用。** 每个笔记本都从头运行（*Run → Run All Cells*）；它会一直运行到最后，
# 中间那些故意演示错误的单元格不会让它停下。每个笔记本最后都有练习：把练习单元格里的函数补完并运行，
# 检查程序会告诉你答案对不对（*Run All* 之后，每个检查都会输出“还没完成”）。
# 每道练习下面的 **参考答案** 点一下就能展开；*Run All* 不会运行它：想试的话把代码复制到一个单元格里。
#
# 除了笔记本 08 里的计时，这些笔记本打印的数字在每台电脑上都一样：可以和同学、和老师的幻灯片对一对。
#
# 图和控件里的文字是中文，因为第一个代码单元格调用了 `tf.viz.set_language("zh")`；
# 换成 `"en"` 就是英文。
#
# ## 先尝一口

# %% [markdown]
# tape 记录了一个运算 `square`；它的反向传播用了一条规则 $\bar x = \bar y \cdot 2x$：
