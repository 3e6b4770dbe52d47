# 01_autodiff_basics 的中文文字（代码取自 ../01_autodiff_basics.py；由 notebooks/_build.py 合成）。

# %% [markdown]
# # 01 · 自动微分入门
#
# **原文**（一篇中文 TensorFlow 学习笔记《基础——自动微分》，参照 TensorFlow 官方指南写成）介绍了
# `tf.GradientTape`：在 `with tf.GradientTape() as tape:` 里执行的每个运算都会被记到一条 *tape*（梯度带）上，
# `tape.gradient(target, sources)` 再沿着这份记录倒着走一遍（反向模式自动微分），得到导数。文中有两个例子：
#
# 1. $y = x^2$ 在 $x = 3$ 处的导数；
# 2. 最小二乘损失 $L(w, b) = \lVert Xw + b - y \rVert^2$ 对权重向量 $w$ 和偏置 $b$ 的偏导数。
#
# 这里原样运行文中的代码，只改了导入那一行：`tapeviz` 的 API 与 TensorFlow 相同，
# 所以 `import tapeviz as tf` 就够了。张量打印时带 `tv.` 前缀，一眼就能看出数字是哪个库算的。
# 然后我们打开 tape，看看它到底记录了什么。

# %% [markdown]
# ## 1. $y = x^2$ 在 $x = 3$ 处的导数
#
# `x` 是一个 `Variable`：值可以改变的张量（模型参数都是变量）。可训练的变量只要在 tape 的上下文里被读取，
# 就会被自动 *监视*（watch），tape 因此知道之后可能要对它求梯度。

# %% [markdown]
# 数字与原文相同：$y = 9$，$\frac{dy}{dx} = 2x = 6$。
#
# ### tape 看到了什么
#
# `tape.record()` 返回 tape 的一份只读副本：按记录顺序排列的 `nodes`（先是源节点，然后每个运算一个节点），
# 以及调用 `gradient` 之后的 `sweep`：反向传播访问过的每个运算对应一步，并写出这一步用的规则，数字都已代入。

# %% [markdown]
# 一个运算，一步：反向传播从 $\partial L/\partial y = 1$ 开始（这里的“损失” $L$ 就是 $y$ 本身），
# 再乘上 `square` 的局部导数 $2x$。
#
# 把同一份记录画出来：`tf.viz.graph(tape)` 画出变量（蓝色）、运算（圆圈，里面的编号是反向传播访问它的顺序）
# 和运算的输出；每个值框里写着它的值，反向传播之后还有它的梯度。图例解释了这些图里用到的每种形状和颜色。

# %% [markdown]
# ## 2. 最小二乘损失的偏导数
#
# 现在 $L(w, b) = \sum_i \big((Xw + b - y)_i\big)^2$，其中
# $X = \begin{pmatrix}1 & 2\\ 3 & 4\end{pmatrix}$，$y = \begin{pmatrix}1\\ 2\end{pmatrix}$，
# $w = \begin{pmatrix}1\\ 2\end{pmatrix}$，$b = 1$。`X` 和 `y` 是常量（数据），`w` 和 `b` 是变量（参数）。
# 传入一个源的列表，就得到一个梯度的列表。

# %% [markdown]
# 又是原文的数字：$L = 125$，$\partial L/\partial w = (70, 100)^\top$，$\partial L/\partial b = 30$。
# 注意每个梯度的形状都和它的变量一样：`w_grad` 和 `w` 一样是 $2 \times 1$，`b_grad` 和 `b` 一样是标量。
#
# ### 手算验证
#
# 记残差 $r = Xw + b - y$，由链式法则得 $\partial L/\partial w = 2 X^\top r$，
# $\partial L/\partial b = 2 \sum_i r_i$（偏置被 *广播* 到了两行上，所以它的梯度要对两行求和）。

# %% [markdown]
# ### 一步一步看反向传播
#
# tape 记录了五个运算：`matmul`、`add`（加偏置）、`subtract`（减去目标值）、`square` 和 `reduce_sum`。
# 反向传播按相反的顺序访问它们；每一步接收伴随值（adjoint）$\partial L/\partial(\text{输出})$，
# 再给每个输入送回一份贡献。运算的输出标作 `t<id>`，常量标作 `c<id>`。

# %% [markdown]
# 从上往下读：`reduce_sum` 把传进来的 1 复制给每个被求和的元素；`square` 乘上 $2r = (10, 20)^\top$；
# `subtract` 和 `add` 把伴随值原样传下去（偏置那一份被加回成一个标量：$10 + 20 = 30$）；
# 最后 `matmul` 乘上 $X^\top$：$X^\top (10, 20)^\top = (70, 100)^\top$。两个变量都叫 `Variable`
# （原文没给它们起名字），所以记录里用节点编号区分：`Variable#1` 是 $w$，`Variable#3` 是 $b$。
#
# 这条 tape 的计算图，边上标着形状，运算上标着反向传播的顺序（1 = 最先访问）：

# %% [markdown]
# ### 单步播放
#
# `tf.viz.SweepPlayer` 会重放这条 tape：先是正向传播，一次一个运算；然后是反向传播，
# 高亮正在应用规则的运算，显示代入了数字的公式，以及到目前为止累积的伴随值表。
# 可以用 **播放**、单步按钮或滑块。（笔记本运行时播放器是可交互的；保存下来的笔记本只显示第一帧。）

# %% [markdown]
# 播放器的每一帧也只是普通的数据；最后一帧里有所有的梯度：

# %% [markdown]
# ## 练习
#
# 每道练习都有一个让你补完的单元格和一个检查程序。运行那个单元格，检查程序会告诉你答案对不对。
# 下面的 **参考答案** 点一下就会展开；*Run All* 不会运行它。把它的代码复制到新单元格里运行，
# 就能看到检查程序通过。
#
# ### 练习 1 —— 三次函数
#
# 补完 `cube_slope(x0)`，让它返回 $\frac{d}{dx}x^3$ 在 `x0` 处的值，**用 `GradientTape` 计算**
# （返回梯度张量）。

# %% [markdown]
# ### 练习 2 —— 手算最小二乘的梯度
#
# 用**纯 numpy** 写 `lsq_grads(X, y, w, b)`：对 $L = \sum (Xw + b - y)^2$ 返回 `(dL_dw, dL_db)`。
# 检查程序会在随机数据上把你的公式和 tape 的结果作比较。

# %% [markdown]
# ### 练习 3 —— 哪些源会得到梯度？
#
# 下面的单元格里，`c` 是常量，`v` 是用 `trainable=False` 创建的变量。
# 预测 `tape.gradient(z, [a, c, v])` 对每个源返回什么：把 `prediction` 的每一项设成 `True`
# （返回一个张量）或 `False`（返回 `None`）。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "value =": "值 =",
    "shape={node.shape}": "形状={node.shape}",
    "Exercise 3: not done yet (fill in True/False for each source).": "练习 3：还没完成（请为每个源填上 True/False）。",
    "return the tensor that tape.gradient gives you": "请返回 tape.gradient 给出的那个张量",
    "at x0={x0}: got {got.numpy()}, expected {3 * x0**2}": "在 x0={x0} 处：得到 {got.numpy()}，应为 {3 * x0**2}",
    "dL_dw must have w's shape (3, 1), got ": "dL_dw 的形状应与 w 相同，即 (3, 1)，实际是 ",
    "dL_db must be a scalar like b, got shape ": "dL_db 应当和 b 一样是标量，实际形状是 ",
    "dL_dw disagrees with the tape": "dL_dw 与 tape 算出的不一致",
    "dL_db disagrees with the tape": "dL_db 与 tape 算出的不一致",
    "look again at {name!r}: which tensors does a tape watch?": "再看看 {name!r}：tape 会 watch 哪些张量？",
}
