# 07_optimizer_race 的中文文字（代码取自 ../07_optimizer_race.py；由 notebooks/_build.py 合成）。

# %% [markdown]
# # 07 · 优化器赛跑
#
# 梯度告诉你哪个方向是下坡；**优化器** 决定走多远，以及怎样利用之前梯度的历史。
# 这个笔记本把 Keras 的六个经典优化器放在一起比较——普通 SGD、动量、Nesterov 动量、Adagrad、
# RMSprop 和 Adam——先是我们手算验证的一步，然后让它们在损失曲面上赛跑，最后看看学习率起什么作用。
#
# 这些优化器是 `tapeviz.keras.optimizers`，更新规则和默认值都与 Keras 2 相同
# （TensorFlow 2.0–2.10 里的 `tf.keras.optimizers`，现在的 `tf.keras.optimizers.legacy`），
# 所以打印出来的是 TensorFlow 的数字。

# %% [markdown]
# ## 1. 六条更新规则
#
# $w$ 是参数，$g$ 是它的梯度，$\eta$ 是学习率。优化器为每个参数保存的状态叫 *槽*（slot，
# 一个与参数形状相同的变量）。
#
# | 优化器 | 槽 | 一步更新 |
# |---|---|---|
# | SGD | — | $w \leftarrow w - \eta g$ |
# | 动量（$\mu$） | 速度 $m$ | $m \leftarrow \mu m - \eta g$，$\ w \leftarrow w + m$ |
# | Nesterov | 速度 $m$ | $m \leftarrow \mu m - \eta g$，$\ w \leftarrow w + \mu m - \eta g$ |
# | Adagrad | 累加器 $a$（初值 0.1） | $a \leftarrow a + g^2$，$\ w \leftarrow w - \eta g / (\sqrt{a} + \epsilon)$ |
# | RMSprop（$\rho$） | 均方 $s$ | $s \leftarrow \rho s + (1-\rho) g^2$，$\ w \leftarrow w - \eta g / (\sqrt{s} + \epsilon)$ |
# | Adam（$\beta_1, \beta_2$） | $m$、$v$ | $m \leftarrow \beta_1 m + (1-\beta_1) g$，$\ v \leftarrow \beta_2 v + (1-\beta_2) g^2$，$\ w \leftarrow w - \eta_t\, m / (\sqrt{v} + \epsilon)$ |
#
# 其中 Adam 在第 $t = 1, 2, \dots$ 步经过偏差修正的步长是 $\eta_t = \eta \sqrt{1-\beta_2^t} / (1-\beta_1^t)$。
# 动量记住的是过去梯度的 *方向*；Adagrad、RMSprop 和 Adam 则逐个坐标地除以梯度的滑动 *大小*。
#
# ## 2. 手算一步
#
# 曲面是一条狭长的山谷 $L(x, y) = \tfrac12 x^2 + 5 y^2$，梯度是 $(x, 10y)$。
# 在 $(-2.5, 1.5)$ 处梯度是 $(-2.5, 15)$：横穿山谷的方向很陡，沿着山谷的方向很缓。

# %% [markdown]
# SGD 和动量的步长是 $\eta g$：横穿山谷的方向比沿着山谷的方向远十倍。
# Adagrad、RMSprop 和 Adam 把每个坐标除以它自己梯度的大小，所以它们的第一步在两个方向上（几乎）一样长：
# Adam 的第一步正好是 $\eta \cdot \operatorname{sign}(g)$，RMSprop 的是 $\eta/\sqrt{1-\rho} \approx 3.16\,\eta$。
#
# ## 3. 狭长山谷里的赛跑
#
# `tf.viz.OptimizerRace` 让每个优化器从同一个起点出发走给定的步数，在等高线上把路径做成动画，
# 旁边是损失随步数的变化。按 **播放**，或者拖动滑块。（笔记本运行时图是可交互的；
# 保存下来的笔记本只显示一帧静止画面。）

# %% [markdown]
# 100 步之后各自的位置（最小值在 $(0, 0)$）：

# %% [markdown]
# $\eta = 0.01$ 的普通 SGD 沿着平缓的方向慢慢爬（每步 $x$ 只缩小 1%）。动量和 Nesterov 沿着山谷加速；
# Nesterov 的“向前看”减弱了之字形的来回摆动。Adagrad 较大的 $\eta = 0.5$ 正适合这个曲面：
# 随着梯度平方不断累积，它的步子越来越小。不论梯度多大，RMSprop 在每个坐标上的步长都约为 $\eta$
# （它除以梯度的滑动大小）：$\eta = 0.01$ 时，100 步大约走一个单位，仍在半路上。
#
# ## 4. Rosenbrock 的香蕉形山谷
#
# $L = (1-x)^2 + 100 (y - x^2)^2$ 的最小值在 $(1, 1)$，位于一条弯曲、非常平坦的山谷尽头——一个经典的测试函数。
# 学习率都选得让谁也不会发散。

# %% [markdown]
# 在这些设置下，500 步内只有动量类方法到达了最小值；自适应方法沿着谷底前进，但很慢。
# 在赛跑的表格里修改学习率（笔记本运行时），看看路径怎样变化。
#
# ## 5. 学习率
#
# 在 $\tfrac12 x^2 + 5y^2$ 上，SGD 的一步把 $x$ 乘以 $1 - \eta$，把 $y$ 乘以 $1 - 10\eta$。
# 陡的方向决定稳定性：$|1 - 10\eta| < 1$，即 $\eta < 2/10 = 0.2$；稍微超过一点，SGD 就发散。
# 在这之下，两个因子中较慢的那个决定速度：$\eta$ 越大，平缓方向走得越快，直到陡的方向开始振荡
# （最佳折中 $|1-\eta| = |1-10\eta|$ 在 $\eta = 2/11 \approx 0.18$）。

# %% [markdown]
# 同样的事情，做成动画：五份 SGD，只有 $\eta$ 不同。

# %% [markdown]
# 对 Adam 来说，学习率的含义不同：不论梯度多大，它的步长都约为 $\eta$，所以 $\eta$ 大致就是每一步走的距离。
# 在第三篇文章的抛物线 $x^2 - 2x + 1$ 上，从 $x = 0$ 出发（到最小值的距离是 1）：

# %% [markdown]
# ## 练习
#
# 补完每道练习下面的单元格并运行；检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— 用 numpy 写动量法
#
# 写出 `momentum_path(grad, p0, lr, mu, steps)`：用纯 numpy 实现 Keras 的动量规则（见第 1 节的表格），
# 以形状为 `(steps, 2)` 的数组返回每一步之后的位置。`grad(p)` 给出 `p` 处的梯度。
# 检查程序会和 `keras.optimizers.SGD(lr, momentum=mu)` 作比较。

# %% [markdown]
# ### 练习 2 —— Adam 的第一步
#
# 用默认的 $\beta_1 = 0.9$、$\beta_2 = 0.999$，对梯度 `g`（一个 numpy 向量）和学习率 `lr`，
# Adam 的第一步是多少？写出 `adam_first_step(g, lr)`，返回参数的变化量（忽略 $\epsilon$）。

# %% [markdown]
# ### 练习 3 —— 最大的稳定学习率
#
# SGD 最小化 $L(p) = \tfrac12 p^\top A p$，其中 $A = \begin{pmatrix}3 & 1\\ 1 & 3\end{pmatrix}$。
# 学习率最大取多少，才能从任何起点出发都收敛？把 `lr_max` 设成你的答案（一个数）；
# 检查程序会用略低于它和略高于它的学习率运行 SGD。（提示：一步更新把 $p$ 乘以 $I - \eta A$。）

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    '" start:"': '" 起点："',
    "{'loss @' + str(k):>13}": "{'损失 @' + str(k):>11}",
    "{'step (dx, dy)':>18}   agrees with the formula": "{'位移 (dx, dy)':>16}   与公式相符",
    "{name:10} at (": "{name:10} 位于 (",
    ")   loss {race.losses": ")   损失 {race.losses",
    "Adam lr={lr}: |x − 1| < 0.01 after {adam_steps_to_minimum(lr)} steps": "Adam lr={lr}：|x − 1| < 0.01 需要 {adam_steps_to_minimum(lr)} 步",
    "Exercise 3: not done yet (set lr_max).": "练习 3：还没完成（请设定 lr_max）。",
    "expected shape (20, 2), got {got.shape}": "形状应为 (20, 2)，实际是 {got.shape}",
    "the path differs from Keras's momentum": "路径与 Keras 的 momentum 不一致",
    "got {got}, Keras moved by {expected}": "得到 {got}，Keras 移动了 {expected}",
    "Exercise 2: correct! The first step is": "练习 2：正确！第一步是",
    "just below your lr_max SGD should converge": "学习率略低于你的 lr_max 时，SGD 应当收敛",
    "just above your lr_max SGD should diverge": "学习率略高于你的 lr_max 时，SGD 应当发散",
}
