# 03_autodiff_mechanism 的中文文字（代码取自 ../03_autodiff_mechanism.py；由 notebooks/_build.py 合成）。

# %% [markdown]
# # 03 · 自动微分机制、优化器与 `tf.function`
#
# **原文**（一本中文 TensorFlow 2 教程的 2-3 节《自动微分机制》）用梯度带对抛物线
#
# $$y = a x^2 + b x + c, \qquad a = 1,\ b = -2,\ c = 1$$
#
# 求导：先在 $x = 0$ 处对变量求导，再在 `watch` 之后对常量求导，然后用嵌套的 tape 求二阶导数。
# 后半部分用优化器以四种方式找最小值（$x = 1$）：在即时执行（eager）模式下用 SGD 的
# `apply_gradients` 和 `minimize`，然后在 `@tf.function`（"AutoGraph"）里用 Adam，
# 一次用 `tf.range` 循环，一次用 Python 循环。
#
# 我们用 `import tapeviz as tf` 把它全部运行一遍，得到原文打印的数字。

# %% [markdown]
# ## 1. 用梯度带求导
#
# 在 $x = 0$ 处 $\frac{dy}{dx} = 2ax + b = -2$。常量 `a` 没有被监视，所以它的梯度是 `None`。

# %% [markdown]
# 这里的常量都有名字（`name="a"` ……），所以记录里能分清谁是谁：

# %% [markdown]
# 画出来：常量 `a`、`b`、`c` 也是源，但没有被监视的（灰色）得不到梯度；只有变量 `x`（蓝色）有。

# %% [markdown]
# 要对常量求导，就监视它们。在 $x = 0$ 处：$\partial y/\partial a = x^2 = 0$，$\partial y/\partial c = 1$。

# %% [markdown]
# 单步查看这次反向传播（笔记本运行时可交互）。留意 `x` 的伴随值：它收到两份贡献，
# 一份来自 $b\,x$，一份来自 $a\,x^2$。

# %% [markdown]
# ## 2. 二阶导数
#
# 内层 tape 的 `gradient` 在外层 tape 里面运行，被外层 tape 记录下来；外层 tape 再对
# $\frac{dy}{dx} = 2ax + b$ 求一次导：$\frac{d^2y}{dx^2} = 2a = 2$。
# （在 $x = 0$ 处，这要再经过一次 `x**2` 的导数 $2x^{1}$：$2 \cdot 1 \cdot x^0$
# ——在 $0$ 处没有问题，任何地方都不会出现 `0 ** -1`。）

# %% [markdown]
# 外层 tape 保存着一阶导数的计算图（带阴影的那一组，是 `tape1` 做反向传播时记录下来的），并穿过它求导：

# %% [markdown]
# ## 3. 用优化器找最小值
#
# ### `optimizer.apply_gradients`
#
# $y = x^2 - 2x + 1 = (x-1)^2$ 的最小值在 $x = 1$。每一步在 tape 上算出 $\frac{dy}{dx}$，
# 再交给 SGD（学习率 0.01）去更新。`tf.print` 打印张量的方式和 TensorFlow 的 `tf.print` 相同
# （只打印值，外面没有 `tf.Tensor(...)`）。

# %% [markdown]
# `x = 0.999998569`，与原文的数字相同。为什么不正好是 1？每一步把到最小值的距离乘以
# $1 - 2 \cdot 0.01 = 0.98$——而且是用 float32 算的。大约 660 步之后，更新量 $0.01 \cdot 2(x - 1)$
# 小于 1 附近 float32 相邻两数间距的一半，$x$ 就不再变化了。（打印出的 `y` 是 0：它是在最后一次更新之前算的，
# 而 float32 计算 $x^2 - 2x + 1$ 时，$(x-1)^2 \approx 2 \cdot 10^{-12}$ 被舍入成了 0。）

# %% [markdown]
# 每一步都记录了一条新的 tape，里面都是同样的五个运算；这是最后一条（更新之前）。
# `apply_gradients` 本身不在 tape 上：优化器的更新不参与求导。

# %% [markdown]
# ### `optimizer.minimize`
#
# `minimize(loss, var_list)` 一次调用就完成 tape 和更新；`loss` 是一个没有参数的函数。

# %% [markdown]
# 轨迹相同，所以数字也相同。
#
# ### 赛跑
#
# 原文的两个优化器在这条抛物线上比赛：学习率 0.01 的 SGD 和学习率 0.01 的 Adam（下一节会用到），
# 各走 1000 步。不论梯度大小，Adam 每一步的长度都约为 $\eta$，所以它步伐均匀；SGD 的步子则随梯度变小。
# （笔记本运行时可交互。）

# %% [markdown]
# ## 4. 在编译后的函数里做同样的事（"AutoGraph"）
#
# `@tf.function` 在第一次调用时把 Python 函数变成计算图：它 *追踪*（trace）这个函数，把每个运算
# ——包括函数里 tape 的反向传播和优化器的更新——记录成一个程序，之后这个程序运行时不再经过 Python。
# `for _ in tf.range(1000)` 循环会变成程序 *内部* 的循环，只追踪一次；普通的 Python `range`
# 则会被展开成 1000 份。tapeviz 用 numba 编译这个程序。

# %% [markdown]
# `0` 和 `1.00000083`，与原文相同：Adam 略微冲过了头，1000 步后仍在慢慢回稳。
#
# ### 追踪记录了什么
#
# `get_concrete_function()` 返回追踪得到的程序。打印出来是一串等式——每个运算一条——
# 循环体只在 `for ... in range(0, 1000, 1)` 里写一次：正向传播（$y$）、它的反向传播
# （$dy/dx = 2ax + b$，常量允许的地方已经化简）以及 Adam 对 `x`、`m`、`v` 和步数计数器的更新。

# %% [markdown]
# 把同一个程序画成图（方框是循环体；追踪时还不知道的值显示为 `nan`，变量显示它们当前的值）：

# %% [markdown]
# ### 在 `tf.function` 里用 Python 循环调用 `minimize`
#
# 原文最后一个例子在 `tf.function` 里用 *Python* 的 `for` 循环调用 `opt.minimize` 100 次：
# 追踪会把它展开成 100 份更新步骤（原文也提到这样很慢——这里同样如此：第一次运行要好几秒，
# 因为 numba 要编译这个有 3500 条等式的程序）。Adam 只走了 100 步、每步约 0.01，
# 所以 $x \approx 0.78$，$y = (x-1)^2 \approx 0.05$：

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "; the next update would be ": "；下一次的更新量是 ",
    "{0.02 * gap:.3g},": "{0.02 * gap:.3g}，",
    "less than half the float32 spacing below 1 (": "不到 float32 在 1 下方相邻两数间距的一半（",
    "): x − update rounds back to x": "）：x − 更新量 舍入后又回到 x",
    "x after 100 steps: {path[100, 0]:.6f}   after 1000: ": "100 步后 x：{path[100, 0]:.6f}   1000 步后：",
    "— the tf.range version had": "——用 tf.range 的版本只有",
}
