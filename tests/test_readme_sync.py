"""README.md and README_CN.md stay in step: the same sections in the same order, the same
commands (every fenced code block) and the same numbers in the text."""

import collections
import os
import re

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# English section -> its Chinese heading.
SECTIONS = {
    "Overview": "概述",
    "Quick start": "快速开始",
    "Datasets": "数据集",
    "Training": "训练",
    "Inference from DeepMind's checkpoints": "使用 DeepMind 检查点推理",
    "Results": "结果",
    "Performance": "性能",
    "Tutorials": "教程",
    "Commands": "命令",
    "Documentation": "文档",
    "Known differences from the reference": "与参考实现的已知差异",
    "Citation": "引用",
    "Contributors": "贡献者",
}
_FENCE = re.compile(r"^```.*?^```", re.S | re.M)
_NUMBER = re.compile(r"(?<![\w.])\d+(?:[.,]\d+)*")


def _read(name):
    with open(os.path.join(REPO, name), encoding="utf-8") as f:
        return f.read()


def _headings(text):
    return [line[3:].strip() for line in _FENCE.sub("", text).splitlines() if line.startswith("## ")]


def _numbers(text):
    return collections.Counter(_NUMBER.findall(_FENCE.sub("", text)))


def test_both_readmes_link_each_other():
    assert _read("README.md").splitlines()[0] == "ENGLISH | [简体中文](README_CN.md)"
    assert "(README.md)" in _read("README_CN.md").splitlines()[0]


def test_same_sections_in_the_same_order():
    en, zh = _headings(_read("README.md")), _headings(_read("README_CN.md"))
    assert en == list(SECTIONS), f"README.md sections changed: update SECTIONS and README_CN.md ({en})"
    assert zh == [SECTIONS[h] for h in en]


def test_same_commands():
    en, zh = _FENCE.findall(_read("README.md")), _FENCE.findall(_read("README_CN.md"))
    assert en == zh


def test_same_numbers():
    en, zh = _numbers(_read("README.md")), _numbers(_read("README_CN.md"))
    assert en == zh, f"only in README.md: {dict(en - zh)}; only in README_CN.md: {dict(zh - en)}"


def test_the_checks_see_a_difference():
    text = _read("README.md")
    assert _numbers(text) != _numbers(text.replace("0.27 s/step", "0.3 s/step"))
    assert _headings(text) != _headings(text.replace("## Results", "## Result"))
