# 04_custom_layers_numpy_vs_tape 的中文文字（代码取自 ../04_custom_layers_numpy_vs_tape.py）。

# %% [markdown]
# # 04 · 自定义层：手写的反向传播、tape 与 `custom_gradient`
#
# **原文** 是一个问答帖（一个 Stack Overflow 问题的中文译文）。问题是：用 numpy 写神经网络层时，
# 反向传播要手写——比如矩阵乘法层，正向是 $Y = X W^\top$，反向是 $dX = dY\, W$。
# 用 TensorFlow 的话，还需要自己推导梯度公式吗？
#
# 回答说不需要：用 TensorFlow 的运算写出正向传播，梯度带会推导出反向传播。回答用
# $y = x^3 + x^2 + x + 5$（在 $x = 3$ 处的一阶和二阶导数）演示了这一点，并引用了 Keras 指南里的
# 自定义训练循环。第二个回答补充说，也可以用 numpy 写正向传播，再用 `tf.numpy_function` 包起来，
# “TF 会替你生成反向传播”。
#
# **最后这句话是错的。** `numpy_function` 运行的是不透明的 numpy 代码：tape 看不到里面，
# 所以梯度无法穿过它——`tape.gradient` 返回 `None`。这个笔记本展示实际发生了什么，
# 复现问题里带手写反向传播的 numpy 层并用 tape 来验证它，最后介绍需要梯度的 numpy 代码该用的正确工具：
# `custom_gradient`。

# %% [markdown]
# ## 1. tape 推导出反向传播
#
# $y = x^3 + x^2 + x + 5$，所以在 $x = 3$ 处 $y' = 3x^2 + 2x + 1 = 34$，$y'' = 6x + 2 = 20$。

# %% [markdown]
# `x` 流入三个运算（`x**3`、`x**2` 和求和），所以有三份贡献在它这里汇合。
# 单步查看反向传播并留意伴随值表：$\partial y/\partial x = 1 + 6 + 27 = 34$（笔记本运行时可交互）。

# %% [markdown]
# 更高阶的导数来自嵌套的 tape（笔记本 06 会讲怎么做）：

# %% [markdown]
# 一阶导数那条 tape 的反向传播，一条规则接一条规则（`x` 用了三次，所以三份贡献加起来 $27 + 6 + 1 = 34$）：

# %% [markdown]
# 外层 tape `tape1` 既记录了三次多项式，也记录了它的导数 $3x^2 + 2x + 1$ 的计算图（带阴影的那一组），
# 并对后者求导：

# %% [markdown]
# ## 2. 问题里的 numpy 层
#
# 矩阵乘法层 $Y = X W^\top$，$X$ 的形状是 (batch, in)，$W$ 的形状是 (out, in)。
# 已知上一层传来的 $dY = \partial L/\partial Y$，由链式法则得
#
# $$dX = dY\, W, \qquad dW = dY^\top X .$$
#
# 问题里写了正向传播和对输入的梯度；我们补上训练需要的 $dW$。
# （问题里用 `out=` 写进预先分配好的缓冲区；这里用普通赋值，代码短一些。）

# %% [markdown]
# ## 3. `numpy_function` 实际做了什么
#
# 照第二个回答的做法，把 numpy 的正向传播用 `tf.numpy_function` 包起来，再向 tape 要梯度：

# %% [markdown]
# **`[None, None]`：并没有生成反向传播。** 正向的值是对的，但 tape 看不到 numpy 代码内部，
# 所以从 `X` 或 `W` 到损失没有路径。记录也说明了这一点：tape 里只有被监视的 `X`。
# `numpy_function` 没有留下任何痕迹；而且因为 `Y` 不是由被记录的运算产生的，tape 连由它算出的损失都没有记录。

# %% [markdown]
# TensorFlow 的行为也一样：`tf.numpy_function` 的文档写明这个运算不可微。
# （把 `W` 作为参数传进去、而不是在闭包里引用它，也没有区别：值进入了 numpy，梯度就停在那里。）
#
# ## 4. 手写的反向传播，用 tape 来验证
#
# 让 tape 替你做微积分的正确方法，是用 `tapeviz`（TensorFlow）的运算写正向传播。
# `output_gradients=dY` 让反向传播从上游梯度 $dY$ 开始，而不是从全 1 开始，正好对应问题里的 `backward(dY)`。

# %% [markdown]
# tape 用的 `matmul` 规则就是手推出来的那条：$dX = dY\,W$（因为 `transpose_b=True`，tape 里的 $W$ 就是我们的 $W$），
# 以及 $dW = dY^\top X$。
#
# ## 5. numpy 代码的正确工具：`custom_gradient`
#
# 有时正向传播确实只能用 numpy（旧代码、某个库的调用）。这时就自己把反向传播交给 tape：
# `tf.custom_gradient` 包装一个函数，它返回输出 **以及** 一个 `grad_fn`，后者把 $dY$ 映射为各输入的梯度。
# 正向可以通过 `numpy_function` 运行；反向就是问题里手写的公式。

# %% [markdown]
# 现在 tape 里整个层只有一个 `custom_gradient` 节点，反向传播到这里时调用我们的 `grad_fn`：

# %% [markdown]
# 需要注意：这个 `grad_fn` 本身也是 numpy 代码，所以它自己的导数是看不见的——穿过它的二阶导数会是 `None`。
# 需要高阶导数时，请用 `tf` 运算写 `grad_fn`（`tf.matmul(dY, W)`）。
#
# ## 6. 自定义训练循环
#
# 第一个回答引用了 Keras 指南《从零开始编写训练循环》里的训练循环：在 tape 上做正向传播、算损失，
# 对模型的可训练权重调用 `tape.gradient`，再调用 `optimizer.apply_gradients`。
# 除了正向传播，没有任何东西是手写的——各层都由 tape 认识的运算搭成。
#
# 我们按引用的原样，在一个当场生成的小数据集上运行它（不需要下载）：平面上三条交错的螺旋线，
# 每条 100 个点，线性模型无法把它们分开。随机种子是固定的，所以每次运行训练出的模型都一样。

# %% [markdown]
# 回答里引用的循环（连同它的注释），外面套了一个按轮次（epoch）报告进度的循环。
# （tapeviz 按固定的顺序对这些层的小矩阵乘积求和，所以打印出的损失在每台电脑上都一样。）

# %% [markdown]
# 最后一个批次的 tape，每层一个方框（`collapse=True` 把每个名字作用域——这里就是每一层——
# 折叠成一个带值和梯度的方框）：

# %% [markdown]
# 展开之后，它和前面的图是同一类：每个 `Dense` 层有一个与权重矩阵相乘的 `matmul`、一个加偏置的 `add`
# （偏置在批次上广播，所以它的梯度要在批次上求和）和一个 `relu`；最后是 logits 的交叉熵以及对批次求平均。

# %% [markdown]
# ### 赛跑
#
# 真正的网络权重太多，画不出它的损失曲面，所以这里做同一类训练，但只有 **两个** 权重：
# 一个不带偏置的线性分类器，区分两团互相重叠的点，损失函数相同。四个优化器从同一个起点出发，
# 比赛谁先到达交叉熵的最小值（笔记本运行时可交互）。

# %% [markdown]
# 各个优化器的终点，保留一位小数。为什么位数这么少？学习率固定的 RMSprop 永远停不下来：
# 在最小值附近，每一步的大小仍然和学习率差不多，所以它在山谷两侧来回折返（它的 $y$ 每一步仍会上下移动约 0.01）。
# 第 60 步落在哪里，取决于运算的最后几位，比如这台电脑的 `exp` 怎样舍入，所以第二位小数在不同机器上可能不同。
# 沿着折线损失几乎不变：它保留三位小数。

# %% [markdown]
# ## 练习
#
# 补完每道练习下面的单元格并运行；检查程序会告诉你答案对不对。每道练习下面的 **参考答案**
# 点一下就会展开（*Run All* 不会运行它；想试的话把它复制到一个单元格里）。
#
# ### 练习 1 —— 全连接层的反向传播
#
# 为 numpy 层 $Y = XW + b$（$X$：batch × in，$W$：in × out，$b$：out）补完 `dense_backward(X, W, b, dY)`：
# 返回 `(dX, dW, db)`。检查程序会和 tape 的结果作比较。

# %% [markdown]
# ### 练习 2 —— 让 numpy 函数可微
#
# `np_softplus` 用 numpy 计算 $\log(1 + e^x)$。用 `tf.custom_gradient` 补完 `softplus`，
# 让 tape 能对它求导（$\frac{d}{dx}\log(1+e^x) = \sigma(x) = 1/(1+e^{-x})$）。

# %% [markdown]
# ### 练习 3 —— 梯度检验
#
# 手写的反向传播需要检验。补完 `numeric_derivative(f, x0, h)`：用 float64 计算中心差分
# $\big(f(x_0 + h) - f(x_0 - h)\big) / 2h$。检查程序会在第 1 节的三次多项式上把它和 tape 作比较。

# %% [strings]
# 代码打印的文字（英文 → 中文，只替换字符串字面量里的文字；见 notebooks/_build.py）。
{
    '"watched"': '"被监视"',
    "forward  agrees:": "正向结果一致：",
    "dX agrees:": "dX 一致：",
    " dW agrees:": " dW 一致：",
    '"classes:"': '"各类的样本数："',
    "epoch {epoch:2d}: loss of the last batch ": "第 {epoch:2d} 轮：最后一批的损失 ",
    ", training accuracy {accuracy:.1%}": "，训练准确率 {accuracy:.1%}",
    "training accuracy above 95%:": "训练准确率高于 95%：",
    "optimizer steps:": "优化器的步数：",
    '"epochs ×"': '"轮 ×"',
    '"batches"': '"批"',
    "after 60 steps at (": "60 步后位于 (",
    "), loss {race.losses": ")，损失 {race.losses",
    "{name} must have shape {exp.shape}, got ": "{name} 的形状应为 {exp.shape}，实际是 ",
    "{name} disagrees with the tape": "{name} 与 tape 算出的不一致",
    "the forward values are wrong": "正向的值不对",
    "the gradient is None: numpy_function alone is not differentiable": "梯度是 None：单靠 numpy_function 无法求导",
    "the gradient is wrong": "梯度不对",
    "at {x0}: {approx} vs tape {exact}": "在 {x0} 处：{approx}，而 tape 给出 {exact}",
}
