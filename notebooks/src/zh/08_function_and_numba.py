# 08_function_and_numba 的中文文字（代码取自 ../08_function_and_numba.py；由 notebooks/_build.py 合成）。

# %% [markdown]
# # 08 · `tf.function` 与 numba：追踪、循环与速度
#
# 到目前为止一切都是 *即时执行*（eager）的：Python 执行到哪个运算就算哪个，tape 顺路把它记下来。
# 这样容易理解，但很慢：每个 `+` 都要经过 Python。`@tf.function` 走的是另一条路。第一次调用时它
# **追踪**（trace）这个函数：用符号张量把 Python 代码运行一遍，把每个运算——包括函数内 tape 的反向传播
# 和优化器的更新——记录成一个程序。之后的调用直接运行这个程序，不再经过 Python。tapeviz 把这个程序
# 翻译成 Python 源代码，再用 [numba](https://numba.pydata.org/)（`numba.njit`）编译，所以它以机器码运行。
#
# 这个笔记本展示追踪记录了什么、函数什么时候会被重新追踪、为什么循环要用 `tf.range`，
# 并现场测量加速效果。

# %% [markdown]
# ## 1. 每种签名只追踪一次
#
# Python 的 `print` 只在函数被追踪时运行（它是 Python，不属于程序）；`tf.print` 是程序里的一个运算，
# 所以每次调用都会运行。（和 TensorFlow 一样，`tf.print` 默认写到 stderr；这里让它写到 stdout，
# 这样两种输出就按发生的先后顺序出现。）

# %% [markdown]
# 第二次调用复用了追踪结果：*签名* 相同（一个 float32 标量）。形状或类型不同的张量是新的签名，
# 所以函数会被重新追踪：

# %% [markdown]
# Python 的值（数字、字符串、`None`）*按值* 成为签名的一部分：追踪把它们当作常量。
# 这里对 `range(n - 1)` 的 Python 循环被展开成 `n - 1` 次乘法，每个 `n` 追踪一次：

# %% [markdown]
# ## 2. 追踪记录了什么
#
# `get_concrete_function(...)` 返回某个签名的追踪结果。它的 `program` 是一串等式，每个运算一条，
# 作用在编号的值 `t1, t2, ...` 上，并标出类型和形状（`f32[]` 表示 float32 标量）：

# %% [markdown]
# `concrete.record()` 把追踪结果变成与 tape 相同的记录，所以 `tf.viz.graph` 能把它画出来。
# 追踪时还不知道的值显示为 `nan`：

# %% [markdown]
# ## 3. 控制流：autograph 把对张量的 `if` 变成 `tf.cond`
#
# 追踪的时候张量还没有值，单靠 Python 无法根据它做分支。和 TensorFlow 一样，`tf.function`
# 会先改写函数自己的 `if`、`while` 和 `for` 语句（这叫 *autograph*）：条件是张量时，语句变成
# `tf.cond` 或 `tf.while_loop`，两个分支都被追踪进程序，成为编译后的代码在运行时才决定的真正的
# `if`/`else`。条件是 Python 值时仍然按 Python 执行。

# %% [markdown]
# 图里每个分支是 `tf.cond` 框里的一个小框；`merge` 取实际运行的那个分支的值：

# %% [markdown]
# 加上 `autograph=False`，`if` 就还是普通的 Python，而 Python 无法判断（这个单元格带有
# `raises-exception` 标签：*Run All* 显示错误后会继续往下运行）：

# %% [markdown]
# 如果只是逐元素地选值，`tf.where` 更简单：它在程序里只是一个运算。

# %% [markdown]
# ## 4. 循环：`tf.range` 与 `range`
#
# `tf.function` 里的 Python `for _ in range(100)` 在追踪时运行，所以程序里有 100 份循环体。
# `for _ in tf.range(100)` 则变成程序 *里* 的一个循环，循环体只追踪一次。两者给出相同的数字：

# %% [markdown]
# 8 条等式对 502 条：展开的程序长了 60 倍，所以追踪更慢，编译更是慢得多——而且代价随步数增长，
# `tf.range` 的程序却始终一样大。下面是完整的 `tf.range` 程序：循环体里是正向传播 $(x-3)^2$、
# 它的反向传播（化简为 $2(x - 3)$）以及对 `x` 的更新。

# %% [markdown]
# ## 5. 现场测量加速
#
# 用梯度下降做最小二乘拟合：256 个样本，每个 8 个特征，1000 步 SGD。一次即时执行（每个运算都经过 Python，
# 记录在 tape 上），一次用带 `tf.range` 循环的 `tf.function`（一次编译后的调用）。

# %% [markdown]
# 下面的计时是现在在这台机器上测的，所以每次运行都不一样（笔记本测试不比较它们）。
# 第一次编译调用包括追踪和 numba 的编译；numba 会把机器码缓存在磁盘上，
# 所以之后的会话追踪同一个程序时，大部分工作都可以省掉。

# %% [markdown]
# 两者都用 float32 做了同样的运算（矩阵乘积的求和顺序可能不同，所以最后几位可能有差别）：

# %% [markdown]
# ## 练习
#
# 补完每道练习下面的单元格并运行；检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— 编译后的循环
#
# 写出 `make_descent(v)`：它返回一个 `tf.function`，用 **`tf.range`** 循环对变量 `v` 做 `steps` 步梯度下降
# $v \leftarrow v - 0.1 \cdot \frac{d}{dv}(v - 3)^2$。检查程序会和即时执行的结果作比较，并查看程序的大小。

# %% [markdown]
# ### 练习 2 —— 追踪了几次？
#
# 下面的 `g` 将用这六组参数调用。它会被追踪几次？把 `traces` 设成你的答案。

# %% [markdown]
# ### 练习 3 —— Python 的副作用
#
# `log` 是一个 Python 列表。下面三次调用之后，它里面有几项？把 `entries` 设成你的答案。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    "tracing f with": "追踪 f，参数为",
    "running f with x =": "运行 f，x =",
    '"traced"': '"追踪了"',
    '"times"': '"次"',
    '"times (n=3 and n=4)"': '"次（n=3 和 n=4）"',
    "x after tf.range loop:": "tf.range 循环后的 x：",
    "  after unrolled loop:": "  展开的循环之后：",
    "eager:                          {": "即时执行：                      {",
    "compiled, first call (+compile): {": "编译后，第一次调用（含编译）：  {",
    "compiled, next calls:           {": "编译后，之后的调用：            {",
    "ms   ({t_eager / t_compiled:.0f}× faster than eager)": "ms   （比即时执行快 {t_eager / t_compiled:.0f}×）",
    "same final loss:": "最终损失相同：",
    " same weights:": " 权重相同：",
    "loss after 1000 steps:": "1000 步后的损失：",
    "the compiled loop is faster:": "编译后的循环更快：",
    '"with"': '"，共"',
    '"equations"': '"个方程"',
    "v = {v.numpy()}, eager steps give {expected.numpy()}": "v = {v.numpy()}，而即时执行的各步给出 {expected.numpy()}",
    "the program has {size} equations: is the loop a tf.range loop?": "程序有 {size} 个方程：循环用的是 tf.range 吗？",
    "Exercise 2: not done yet (set traces).": "练习 2：还没完成（请设定 traces）。",
    "Exercise 3: not done yet (set entries).": "练习 3：还没完成（请设定 entries）。",
    "not quite: a trace is keyed by the shapes and dtypes of tensors and the values of Python arguments": "不太对：一次追踪由张量的形状和 dtype 以及 Python 参数的值决定",
    '"traces"': '"次追踪"',
    "Python code inside a tf.function runs only while tracing": "tf.function 里的 Python 代码只在追踪时运行",
    "entry: the list grew during the one trace only": "个元素：列表只在那一次追踪时变长",
}
