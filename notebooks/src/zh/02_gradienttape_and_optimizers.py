# 02_gradienttape_and_optimizers 的中文文字（代码取自 ../02_gradienttape_and_optimizers.py）。

# %% [markdown]
# # 02 · 深入 `GradientTape` 与优化器
#
# **原文**（一篇中文博客《TensorFlow 2.X —— `tf.GradientTape()` 与优化器的配合使用》）在函数
#
# $$g(x_1, x_2) = (x_1 + 5)\,x_2^2$$
#
# 上逐一讲解 `tf.GradientTape` 的两个参数 `persistent` 和 `watch_accessed_variables`，
# 然后演示：调用两次 `gradient` 会怎样、怎样监视常量、目标是一个 *列表* 时意味着什么、
# 用嵌套的 tape 求二阶导数，最后是手写的梯度下降和用 Keras 优化器的 `apply_gradients` 做梯度下降。
#
# 我们用 `import tapeviz as tf`（原文从 TensorFlow 导入 Keras 的地方改成 `from tapeviz import keras`）
# 运行每个例子，得到原文的数字，再看看每条 tape 记录了什么。

# %% [markdown]
# ## 函数及其一阶导数
#
# 手算：$\partial g/\partial x_1 = x_2^2$，$\partial g/\partial x_2 = 2 (x_1 + 5) x_2$，
# 所以在 $(x_1, x_2) = (2, 3)$ 处应当得到 $9$ 和 $42$。

# %% [markdown]
# 第一个梯度是 $9$。第二次调用失败了：非持久（non-persistent）的 tape 在 `gradient` 运行完后
# 马上释放它记录的内容。（原文展示的是旧版 TensorFlow 的报错措辞
# "GradientTape.gradient can only be called once on non-persistent tapes"；
# tapeviz 用的是现在的措辞，并附上了解决办法。）下面就是这个错误本身，没有被捕获
# （单元格带有 `raises-exception` 标签，所以 *Run All* 显示错误后会继续往下运行）：

# %% [markdown]
# tape 仍然能显示它记录的内容和它运行过的那一次反向传播——只对 `x1` 求了梯度，所以 `x2` 那一支没有梯度：

# %% [markdown]
# ## `persistent=True`：可以多次询问的 tape
#
# 持久的 tape 会一直保留它的记录，直到被删除（`del tape`）——在 TensorFlow 里，那一刻它的资源才被释放。

# %% [markdown]
# 一次求出两个偏导数：传入源的列表，得到梯度的列表。

# %% [markdown]
# （原文中 TensorFlow 1.x 时代的输出里还有一个内部的 `id=61`；现在的 TensorFlow 和 tapeviz 都不再打印它。）
#
# ### tape 看到了什么
#
# 这条持久 tape 在最后一次调用 `gradient` 之后的记录：先是按正向顺序排列的节点，然后是反向传播。
# `multiply` 把 $x_2^2 = 9$ 送给 $x_1$ 那一支，把 $x_1 + 5 = 7$ 送给 $x_2$ 那一支；`pow` 再乘上 $2x_2$。

# %% [markdown]
# 单步查看正向传播和反向传播（笔记本运行时可交互）：

# %% [markdown]
# ## 常量不会被监视
#
# tape 会自动监视可训练的变量。常量是数据，除非用 `tape.watch(...)` 明确告诉它，tape 不会追踪常量；
# 不监视的话，它们的梯度就是 `None`。

# %% [markdown]
# 图中被监视的常量（绿色）和变量一样，是带梯度的源；没有被监视的常量 5 和 2（灰色）则不是：

# %% [markdown]
# ### `watch_accessed_variables=False`
#
# 原文介绍了第二个参数，但没有运行它。设置 `watch_accessed_variables=False` 后，tape 自己 *什么都不* 监视
# ——连变量也不监视——要追踪什么由你用 `watch` 来选：

# %% [markdown]
# ## 目标是列表：梯度会相加
#
# `tape.gradient([z1, z2], x)` **不会**给出两个梯度：它对和 $z_1 + z_2 = 3x + x^2$ 求导，
# 在 $x = 5$ 处导数是 $3 + 2 \cdot 5 = 13$。

# %% [markdown]
# 图中两个目标都做了标记；每个目标送回一个值为 1 的初始伴随值（种子），两份贡献在 `x` 处汇合：

# %% [markdown]
# ## 二阶导数：嵌套的 tape
#
# 内层 tape 记录 $g$；它的 `gradient` 是在外层 tape 的上下文 *里面* 运行的，所以外层 tape
# 把这次反向传播的运算也记了下来。于是外层 tape 可以再对一阶导数求导：
#
# * $\partial^2 g / \partial x_1^2$：$\partial g/\partial x_1 = x_2^2$ 根本不依赖 $x_1$，
#   所以这个梯度是 **不相连的**（unconnected），返回 `None`；
# * $\partial^2 g / \partial x_1 \partial x_2 = 2 x_2 = 6$（两种求导顺序结果相同）；
# * $\partial^2 g / \partial x_2^2 = 2 (x_1 + 5) = 14$。
#
# `out_grads_1` 对每个一阶导数分别求导（黑塞矩阵的各行）；`out_grads_2` 把 *列表* `inner_grads`
# 作为目标传入，所以目标又被加在了一起：$(\texttt{None} + 6,\ 6 + 14) = (6, 20)$，`None` 按零计算。

# %% [markdown]
# 外层 tape 记录了 $g$ 的正向计算图，**还有**内层 tape 的反向传播为了算出 `inner_grads` 而执行的运算
# ——也就是 *梯度的计算图*（带阴影的那一组）。它的最后一次反向传播（为 `out_grads_2`）
# 穿过这一组，回到 `x1` 和 `x2`。笔记本 06 会详细讲解。

# %% [markdown]
# `-0.3333333`，与原文一致：float32 精度下的 $-1/3$。（较新的 TensorFlow 版本会把同一个 float32 数
# 打印成 `-0.3333333134651184`，即用双精度写出它的精确值。）
#
# 每一步都把到最小值的距离乘以 $1 - 6\eta = 0.4$，所以头几步就已经很接近了：

# %% [markdown]
# 每次迭代都会记录一条新的 tape；这是最后一条：

# %% [markdown]
# ## 用优化器做梯度下降
#
# Keras 优化器替我们完成更新：`apply_gradients` 接收一个 `(梯度, 变量)` 对的列表。
# 原文写的是 `SGD(lr = learning_rate)`；`lr` 是 `learning_rate` 的旧名字，仍然可以用，但会给出弃用警告。

# %% [markdown]
# 和手写循环得到的数字相同：不带动量的 SGD *就是* $x \leftarrow x - \eta\, \frac{dz}{dx}$。
# 优化器还会记下自己走了多少步：

# %% [markdown]
# ### 赛跑
#
# `tf.viz.OptimizerRace` 让几个优化器在同一个损失上并排运行，并做成动画。
# 这里原文的 SGD（$\eta = 0.1$）与带动量的 SGD 以及 Adam 在 $z = 3x^2 + 2x - 1$ 上比赛；
# 这是一维的损失，画成一条曲线，每个优化器的点落在曲线上。
# （笔记本运行时可交互；笔记本 07 让六个经典优化器一起比赛。）

# %% [markdown]
# ## 练习
#
# 补完每道练习下面的单元格并运行：检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— $g$ 的黑塞矩阵
#
# 补完 `hessian_of_g(a, b)`：用嵌套的 tape，返回 $(x_1, x_2) = (a, b)$ 处的 $2\times2$ numpy 数组
# $\big[\partial^2 g/\partial x_i \partial x_j\big]$。不相连的二阶导数必须是 `0` 而不是 `None`
# （看看 `gradient` 的 `unconnected_gradients=` 参数）。

# %% [markdown]
# ### 练习 2 —— 梯度下降收敛得有多快？
#
# 对 $z = 3x^2 + 2x - 1$，从 $x = 0$ 出发，写出 `steps_needed(lr)`：用学习率 `lr` 执行上面手写循环的更新，
# 返回第一次满足 $|x + 1/3| < 10^{-4}$ 时走过的步数（最多 1000 步；如果始终达不到就返回 1000）。

# %% [markdown]
# ### 练习 3 —— 一条 tape，一次调用
#
# 不用 `persistent=True`，用一条 tape、一次 `gradient` 调用，对常量 `c1`、`c2` **同时**求出
# $\partial g/\partial x_1$ 和 $\partial g/\partial x_2$。以列表形式返回这两个梯度。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "value =": "值 =",
    "step {step}: x = ": "第 {step} 步：x = ",
    '"steps;"': '"步；"',
    "SGD (the article)": "SGD (原文)",
    "momentum 0.5": "动量 0.5",
    "x after 5 steps: {path[5, 0]:+.4f}   after 30: ": "5 步后 x：{path[5, 0]:+.4f}   30 步后：",
    "return a 2x2 array, got shape ": "请返回 2x2 数组，实际形状是 ",
    "at ({a_}, {b_}): got\\n{got}\\nexpected\\n{expected}": "在 ({a_}, {b_}) 处：得到\\n{got}\\n应为\\n{expected}",
    "lr={lr}: you counted {got} steps, expected about {expected}": "lr={lr}：你数出 {got} 步，应当约为 {expected} 步",
    "with lr=0.34, |1 - 6 lr| > 1: the iteration diverges": "lr=0.34 时 |1 - 6 lr| > 1：迭代发散",
    "a gradient is None: did you watch the constants?": "有一个梯度是 None：你 watch 那些常量了吗？",
    'f"got {got}"': 'f"得到 {got}"',
}
