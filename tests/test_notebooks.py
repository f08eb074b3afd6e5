"""The tutorial notebooks run (fast mode, as CI) and the Chinese ones carry the same code.

Every docs/tutorial/en/*.ipynb is executed with nbclient from the repository root with
MINDGENCAST_FAST=1; figures go to a temporary folder (MINDGENCAST_TUTORIAL_FIGURES) so the
committed ones are not overwritten. Each notebook must draw figures, and those it saves are
named with its number prefix (``NN_``).
"""

import glob
import os

import nbformat
import pytest
from nbclient import NotebookClient

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TUTORIAL = os.path.join(REPO, "docs", "tutorial")
EN = sorted(glob.glob(os.path.join(TUTORIAL, "en", "*.ipynb")))


def _code(path):
    return [c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code"]


def test_every_notebook_has_a_chinese_twin_with_the_same_code():
    zh = sorted(glob.glob(os.path.join(TUTORIAL, "zh", "*.ipynb")))
    assert EN, "no tutorial notebooks found under docs/tutorial/en"
    assert [os.path.basename(p) for p in zh] == [os.path.basename(p) for p in EN]
    for en_path, zh_path in zip(EN, zh):
        assert _code(zh_path) == _code(en_path), f"{os.path.basename(zh_path)}: code cells differ from English"
        md_en = [c.source for c in nbformat.read(en_path, 4).cells if c.cell_type == "markdown"]
        md_zh = [c.source for c in nbformat.read(zh_path, 4).cells if c.cell_type == "markdown"]
        assert len(md_en) == len(md_zh) and md_en != md_zh, f"{os.path.basename(zh_path)}: markdown not translated"


@pytest.mark.parametrize("path", EN, ids=[os.path.basename(p) for p in EN])
def test_notebook_runs_in_fast_mode(path, tmp_path, monkeypatch):
    monkeypatch.setenv("MINDGENCAST_FAST", "1")
    monkeypatch.setenv("MINDGENCAST_TUTORIAL_FIGURES", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([REPO, os.environ.get("PYTHONPATH", "")]))
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": REPO}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    images = [
        o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if "image/png" in o.get("data", {})
    ]
    assert images, "the notebook drew no figure"
    prefix = os.path.basename(path).split("_")[0] + "_"
    saved = [f for f in os.listdir(tmp_path) if f.endswith(".png")]
    assert all(f.startswith(prefix) for f in saved), f"figures must be named {prefix}*: {saved}"
