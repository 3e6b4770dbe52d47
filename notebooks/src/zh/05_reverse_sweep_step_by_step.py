# 05_reverse_sweep_step_by_step 的中文文字（代码取自 ../05_reverse_sweep_step_by_step.py）。

# %% [markdown]
# # 05 · 一步一步看反向传播
#
# 这个笔记本打开 tape，一次一个运算地跟着反向传播走：
#
# 1. 一串运算上的 **链式法则**；
# 2. **扇出**（fan-out）：一个值被用了好几次，就会收到好几份贡献，它们要加起来；
# 3. **广播**：梯度的形状总是和它的源相同，所以正向时被广播的，反向时要求和；
# 4. **梯度返回 `None` 的每一种原因**，以及各自的解决办法；
#
# 最后的练习里，你要亲手写一个反向传播。
#
# 这里的一切都来自 `tape.record()`：按正向顺序排列的 tape 节点，以及调用 `gradient` 之后的 `sweep`
# ——每访问一个运算就有一步，记录流入该运算输出的 *伴随值* $\bar v = \partial L/\partial v$、
# 送给每个输入的贡献，以及代入了数字的求导规则。

# %% [markdown]
# ## 1. 链式法则
#
# $x = 1.5$ 处的 $y = 3 \sin(x^2)$ 是三个运算组成的链：$x \to u = x^2 \to v = \sin u \to y = 3v$。
# 导数是各个局部导数的乘积：$\frac{dy}{dx} = 3 \cdot \cos(u) \cdot 2x$。反向模式 **从输出往回** 相乘：
# 从 $\bar y = 1$ 开始，然后 $\bar v = 3\,\bar y$，$\bar u = \cos(u)\,\bar v$，$\bar x = 2x\,\bar u$。

# %% [markdown]
# 记录下来的正向传播：每个运算的输出都有一个节点（公式里写作 `t<id>`）；常量 3 也有一个。

# %% [markdown]
# 反向传播以相反的顺序访问这些运算。每一步只需要它的输出的伴随值，以及正向传播时保存下来的值
# （`sin` 需要 $u = 2.25$，`square` 需要 $x = 1.5$）——这就是 tape 要保存它们的原因。

# %% [markdown]
# 图中按反向传播访问的顺序给运算编号，并显示每个值及其梯度：

# %% [markdown]
# 正向模式会从 $x$ 开始乘同样的这些局部导数。对于 *标量* 损失和大量参数，反向模式更划算：
# 一次反向传播就同时得到对所有参数的梯度。
#
# ## 2. 扇出：贡献相加
#
# 一个值流入几个运算时，每个运算都会给它送回一份贡献，它的伴随值是这些贡献的 **和**（多元链式法则）。
# 这里 $x$ 流入三个运算：$y = x \sin x + e^{x}$，所以
# $\frac{dy}{dx} = \underbrace{\sin x}_{\text{经 } x\cdot} + \underbrace{x \cos x}_{\text{经 }\sin} + \underbrace{e^x}_{\text{经 }\exp}$。

# %% [markdown]
# 单步查看：在播放器的伴随值表里，每有一步到达 `x`，它那一行就多一项（笔记本运行时可交互）。

# %% [markdown]
# 节点 `#0`（`x`）收到三份贡献，顺序就是反向传播遇到用过它的三个运算的顺序。只有它们的和才是梯度：

# %% [markdown]
# 这也是为什么引擎必须先收齐一个节点的 *所有* 贡献，才能把它的伴随值继续往回传：
# 反向传播按记录的相反顺序遍历 tape，而一个值的每个使用者都是在这个值之后才被记录的。
#
# ## 3. 广播：梯度被求和回源的形状
#
# 把形状为 (3,) 的向量 `b` 加到 (4, 3) 的矩阵上，每个 $b_j$ 被用在四个地方（每行一次）
# ——又是扇出，所以四份贡献相加：`b` 的梯度是伴随值 **沿广播的轴求和**。
# 同样，形状为 (4, 1) 的列 `c` 在每一行里被用了三次。

# %% [markdown]
# 图中边上标着形状：`b` (3,) 和 `c` (4, 1) 流入输出为 (4, 3) 的运算，它们的梯度以各自的形状返回。

# %% [markdown]
# `add` 的反向步骤收到 (4, 3) 的伴随值，把按列求和的结果送给 `b`；`subtract` 把按行求和再取负的结果送给 `c`：

# %% [markdown]
# 手算：$\partial y/\partial b_j = \sum_i (M_{ij} - c_i)$，$\partial y/\partial c_i = -\sum_j (M_{ij} + b_j)$：

# %% [markdown]
# ## 4. 为什么我的梯度是 `None`？
#
# 如果从某个源到目标 **没有被记录的路径**，`tape.gradient` 对这个源就返回 `None`。
# 下面列出所有会出现这种情况的方式，每种都给出一个出错的版本和一个改好的版本。
#
# ### 4.1 常量没有被监视
#
# tape 会自己监视可训练的变量；其他张量只有在 `tape.watch` 之后才会被监视。

# %% [markdown]
# ### 4.2 `trainable=False` 的变量，或者 `watch_accessed_variables=False` 的 tape

# %% [markdown]
# ### 4.3 计算发生在 tape 之外
#
# tape 只记录在它的 `with` 块里运行的东西。这里 `h` 是在 tape 开始之前算好的：
# 在 tape 看来，`h` 是一个不依赖 `w` 的常量。

# %% [markdown]
# 出错的 tape 什么都没有记录：`h ** 2` 没有被监视的输入，所以没有值得记录的东西
# （和 TensorFlow 一样，tape 会跳过没有被监视的张量到达的运算）。改好的 tape 从 `w` 开始：

# %% [markdown]
# ### 4.4 值跑到了 numpy 里
#
# `.numpy()`（或者 `tf.numpy_function`，见笔记本 04）交出去的是一个普通数组：由它算出的东西 tape 看不见。
# tapeviz 会把 *直接作用在张量上* 的 numpy 函数（`np.sin(w)`）转交给自己的运算，所以这些仍然留在 tape 上。

# %% [markdown]
# ### 4.5 变量被换成了张量
#
# `w = w + 1` 并没有改变变量：它让 *名字* `w` 指向一个新的张量，而没有任何 tape 在监视这个张量。
# 要原地更新变量，请用 `assign`、`assign_add`、`assign_sub`。

# %% [markdown]
# ### 4.6 目标不依赖于源
#
# 有时 `None` 就是正确答案：源根本没有被用到（不相连的梯度，就像笔记本 02 里的 $\partial^2 g/\partial x_1^2$）。
# 如果你更想要零，就用 `unconnected_gradients` 说明。

# %% [markdown]
# ### 4.7 整数
#
# 梯度只对浮点数有定义。监视一个整数张量会给出警告并返回 `None`；请先转换成浮点类型。

# %% [markdown]
# ### 4.8 不可微的步骤
#
# `argmax`、比较运算和转换成整数都没有有用的导数（它们是分段常数），所以穿过它们的路径不带梯度。
# 解决办法是用平滑的替代品：用 `softmax` 代替硬的 `argmax`，用 sigmoid 代替阶跃函数。

# %% [markdown]
# ### 4.9 `stop_gradient`（有意为之）
#
# `tf.stop_gradient(v)` 传递值，但挡住梯度：tape 把它当作常量。对那些不能跟着变的目标很有用
# （比如在强化学习里）。

# %% [markdown]
# | 症状 | 原因 | 解决办法 |
# |---|---|---|
# | 常量的梯度是 `None` | 没有被监视 | `tape.watch(c)` |
# | 变量的梯度是 `None` | `trainable=False` / `watch_accessed_variables=False` | 显式地监视它 |
# | 代码明明“用到了”源，却是 `None` | 在 `with` 块之前就算好了 | 在 tape 里面计算 |
# | 经过 numpy 之后是 `None` | `.numpy()`、`numpy_function` | 用 tapeviz 运算，或者 `custom_gradient` |
# | `None`，而且“变量”其实是 `Tensor` | `v = v + 1` | `v.assign_add(1)` |
# | `None` 并伴有警告 | 整数类型 | `tf.cast(..., tf.float32)` |
# | 穿过 `argmax`、`cast`、`>` 后是 `None` | 不可微 | 平滑的替代品 |
# | `None`，源确实没被用到 | 不相连 | 想要 0 的话用 `unconnected_gradients=ZERO` |
#
# ## 练习
#
# 补完每道练习下面的单元格并运行；检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— 写一个反向传播
#
# 下面的 tape 是一个普通的 Python 列表，元素是 `(op, inputs, output)`，`sweep` 像 tapeviz 一样倒着遍历它。
# 在 `vjp` 里填上 `"mul"` 和 `"sin"` 的向量-雅可比积规则：每条规则接收输出的伴随值 `g` 和输入的值，
# 为每个输入返回一份贡献。

# %% [markdown]
# ### 练习 2 —— 撤销广播
#
# 写出 `unbroadcast(g, shape)`：已知一个广播结果的伴随值 `g`，返回形状为 `shape` 的源的梯度
# （对广播添加或拉伸的轴求和，保持源的形状）。

# %% [markdown]
# ### 练习 3 —— 找出 `None`
#
# `train` 本该拟合 $w$ 使得 $w \cdot 3 = 6$，但它崩溃了：从第二步起梯度就是 `None`。
# 把它复制到 `train_fixed` 里并修好它（只改一行）。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "step {k} at #{step.node}: ": "第 {k} 步，在 #{step.node}：",
    "adjoints so far: ": "目前累积的伴随值：",
    "tape:    {": "tape 算的：{",
    "by hand: {": "手算的：   {",
    "contributions to x:": "对 x 的各份贡献：",
    "their sum:": "它们的和：",
    "  the gradient:": "  梯度：",
    "    to #{nid}: adjoint shape ": "    传给 #{nid}：伴随值的形状 ",
    " -> contribution shape ": " -> 贡献的形状 ",
    "fixed: h computed on the tape": "修正：h 在 tape 上计算",
    "operations on the broken tape:": "出错的 tape 上记录的运算数：",
    "broken:": "出错：",
    "fixed: ": "修正：",
    "warning:": "警告：",
    " type:": " 类型：",
    "zeros:": "全零：",
    " (not 2w = 6)": "（不是 2w = 6）",
    "Exercise 1: not done yet (fill in vjp['mul'] and vjp['sin']).": "练习 1：还没完成（请填写 vjp['mul'] 和 vjp['sin']）。",
    "the forward pass changed?": "正向传播被改动了？",
    "dy/dx: yours {adjoint['x']}, tape {gx.numpy()}": "dy/dx：你的 {adjoint['x']}，tape 的 {gx.numpy()}",
    "dy/dw: yours {adjoint['w']}, tape {gw.numpy()}": "dy/dw：你的 {adjoint['w']}，tape 的 {gw.numpy()}",
    "{big} -> {small}: got shape {got.shape}": "{big} -> {small}：得到的形状是 {got.shape}",
    "{big} -> {small}: wrong values": "{big} -> {small}：值不对",
    "return the variable itself: update it in place": "请返回变量本身：原地更新它",
    "w = {w.numpy()}, expected about 2": "w = {w.numpy()}，应当约为 2",
}
