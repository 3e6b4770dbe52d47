# 06_higher_order_and_jacobians 的中文文字（代码取自 ../06_higher_order_and_jacobians.py）。

# %% [markdown]
# # 06 · 高阶导数与雅可比矩阵
#
# 笔记本 02–04 用两条嵌套的 tape 计算了二阶导数。这个笔记本解释这样做 *为什么* 行得通
# ——外层 tape 记录了内层 tape 的反向传播，也就是 **梯度的计算图**——然后从标量走向向量：
# 雅可比矩阵、作为向量-雅可比积的雅可比矩阵行、批量雅可比矩阵，以及黑塞矩阵。

# %% [markdown]
# ## 1. 嵌套的 tape 记录梯度的计算图
#
# $x = 2$ 处的 $y = x^3$：$y' = 3x^2 = 12$，$y'' = 6x = 12$。

# %% [markdown]
# 内层 tape 在另一条 tape 正在记录时做反向传播，它会 **用 tapeviz 的运算** 计算每条向量-雅可比规则
# （对 `pow` 来说是 $\bar x = \bar y \cdot 3 \cdot x^{2}$），于是外层 tape 把这些运算记录下来。
# 这些运算在记录里带有一个 `group`，指明它们来自哪一次反向传播。因此外层 tape 里有两张图：
# $y$ 的正向计算图，以及叠在它上面、由 $x$ 算出 $y'$ 的那张图：

# %% [markdown]
# 外层反向传播对 $y' = 3 \cdot x^2$（节点 `#4` 和 `#6`）求导，从 `#6` 开始；
# $y$ 的正向计算图（节点 `#2`）不在这条路上，不会被访问：

# %% [markdown]
# 图中把内层反向传播期间记录下来的运算放在一个带阴影的组里。外层反向传播的各步（带编号的）
# 都位于这个组里，或者通向这个组：

# %% [markdown]
# 单步查看外层 tape：正向的帧重放函数本身以及被记录下来的内层反向传播；反向的帧对 $3x^2$ 求导
# （笔记本运行时可交互）。

# %% [markdown]
# 并不止于两层：每多一条 tape，就多一阶导数。$y''' = 6$：

# %% [markdown]
# ## 2. 雅可比矩阵
#
# 对向量函数 $y = f(x)$，$x \in \mathbb{R}^n$，$y \in \mathbb{R}^m$，雅可比矩阵是 $m \times n$ 的矩阵
# $J_{ij} = \partial y_i / \partial x_j$。取
#
# $$f(x) = \big(x_0 x_1,\ x_1 x_2^2,\ x_0^2 + x_1^2 + x_2^2\big)$$
#
# 在 $x = (1, 2, 3)$ 处。

# %% [markdown]
# **第 $i$ 行是 $y_i$ 的梯度。** 每个输出做一次反向传播：

# %% [markdown]
# 那么对 *向量* `y`，`tape.gradient(y, x)` 给出的是什么？不是雅可比矩阵：反向传播从 $\bar y = (1, 1, 1)$
# 开始，返回 $\bar y^\top J$——也就是各列之和。一般来说，一次反向传播计算的是一个 **向量-雅可比积**
# $v^\top J$，其中 $v$ 由 `output_gradients` 给出；取独热向量 $v = e_i$ 就选出第 $i$ 行。
# 雅可比矩阵就是这样构造出来的：每行一次反向传播。

# %% [markdown]
# ## 3. 批量雅可比矩阵
#
# 作用在一个批次上的层分别处理每个样本：样本 $b$ 的输出只依赖于样本 $b$ 的输入，
# 所以完整的雅可比矩阵（batch × out × batch × in）大部分是零。
# `batch_jacobian` 只返回每个样本自己的那一块，形状为 batch × out × in。

# %% [markdown]
# 验证：对 $y = (x W)^2$（逐元素平方），样本 $b$ 的那一块是 $2\,(x_b W)_j\, W_{ij}$，
# 即把 $W^\top$ 的第 $j$ 行乘以 $2 (x_b W)_j$；完整雅可比矩阵的对角块也是同样的数：

# %% [markdown]
# ## 4. 黑塞矩阵：梯度的雅可比矩阵
#
# 对标量函数 $f(x)$，黑塞矩阵 $H_{ij} = \partial^2 f / \partial x_i \partial x_j$ 就是梯度的雅可比矩阵：
# 内层 tape 求梯度，外层 tape 求它的雅可比矩阵。对 $f(x) = \sum_i x_i^3 + x_0 x_1$：
# $H = \operatorname{diag}(6x) +$（两个非对角元素 $(0,1)$ 和 $(1,0)$ 上的 1）。

# %% [markdown]
# 外层 tape：先是函数，然后（带阴影的）是它的梯度的计算图，`jacobian` 对它的每个分量各求导一次：

# %% [markdown]
# ## 练习
#
# 补完每道练习下面的单元格并运行；检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— 牛顿法
#
# 牛顿法用一阶和二阶导数来最小化一元函数：$x \leftarrow x - f'(x)/f''(x)$。
# 用嵌套的 tape 补完 `newton(f, x0, steps)`，以 Python 浮点数返回最终的 `x`。

# %% [markdown]
# ### 练习 2 —— 一行一行地构造雅可比矩阵
#
# **不用** `tape.jacobian`，构造 `fn_vec` 在 `x0` 处的雅可比矩阵：每行调用一次
# `tape.gradient(..., output_gradients=...)`，配一个独热向量。

# %% [markdown]
# ### 练习 3 —— 不构造黑塞矩阵的黑塞-向量积
#
# 对大模型来说，黑塞矩阵大到无法构造，但 $Hv$ 只需要两次反向传播：
# $Hv = \nabla_x \big(\nabla_x f(x) \cdot v\big)$（一个标量的梯度）。
# 用这种方法补完 `hvp(f, x0, v)`——不调用 `jacobian`。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "{frame.phase:8} ": "{'正向' if frame.phase == 'forward' else '反向'} ",
    "inputs={str(n.inputs):8} value=": "输入={str(n.inputs):8} 值=",
    "row {i}:": "第 {i} 行：",
    "  column sums:": "  各列之和：",
    "batch_jacobian matches the formula:": "batch_jacobian 与公式相符：",
    "full Jacobian shape:": "完整雅可比矩阵的形状：",
    " diagonal blocks equal:": " 对角块相等：",
    "Exercise 1: correct! minimum near x =": "练习 1：正确！极小值点约在 x =",
    "one step from 2.0: got {one}, expected {expected_one}": "从 2.0 走一步：得到 {one}，应为 {expected_one}",
    "after 8 steps f'(x) should be ~0, got {slope}": "8 步之后 f'(x) 应当约为 0，实际是 {slope}",
    "expected a 3x3 array, got shape {got.shape}": "应为 3x3 数组，实际形状是 {got.shape}",
    "got\\n{got}\\nexpected\\n{expected}": "得到\\n{got}\\n应为\\n{expected}",
    "got {got}, expected H v = {H_exact @ v}": "得到 {got}，应为 H v = {H_exact @ v}",
}
