# 每个中文笔记本共用的输出文字：练习检查函数的话（notebooks/_build.py 的 [strings] 表，说明见该文件）。
# 各笔记本自己的 [strings] 先用，这里的后用。

# %% [strings]
{
    "Exercise 1: not done yet (": "练习 1：还没完成（",
    "Exercise 2: not done yet (": "练习 2：还没完成（",
    "Exercise 3: not done yet (": "练习 3：还没完成（",
    " returns None).": " 返回的是 None）。",
    "Exercise 1: correct!": "练习 1：正确！",
    "Exercise 2: correct!": "练习 2：正确！",
    "Exercise 3: correct!": "练习 3：正确！",
}
