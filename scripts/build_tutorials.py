"""Builds the tutorial notebooks docs/tutorial/{en,zh}/NN_name.ipynb from
docs/tutorial/source/NN_name.py (one list of cells: markdown in English and Chinese, code
shared) and executes them with nbclient from the repository root, so both languages carry
the same code cells and the same outputs.

    python scripts/build_tutorials.py                 # every source
    python scripts/build_tutorials.py 02_mesh         # one
    python scripts/build_tutorials.py --no-execute    # structure only
"""

import argparse
import copy
import os
import runpy
import sys
import time

import nbformat
from nbclient import NotebookClient

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SOURCE = os.path.join(ROOT, "docs", "tutorial", "source")


def _notebook(cells, lang):
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for cell in cells:
        if cell[0] == "md":
            nb.cells.append(nbformat.v4.new_markdown_cell(cell[1] if lang == "en" else cell[2]))
        else:
            nb.cells.append(nbformat.v4.new_code_cell(cell[1].strip("\n")))
    return nb


def build(name, execute=True, timeout=600):
    cells = runpy.run_path(os.path.join(SOURCE, f"{name}.py"))["CELLS"]
    en, zh = _notebook(cells, "en"), _notebook(cells, "zh")
    if execute:
        start = time.time()
        env_fast = os.environ.pop("MINDGENCAST_FAST", None)  # committed outputs come from the full run
        try:
            NotebookClient(en, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": ROOT}}).execute()
        finally:
            if env_fast is not None:
                os.environ["MINDGENCAST_FAST"] = env_fast
        print(f"{name}: executed in {time.time() - start:.0f} s")
        code_en = [c for c in en.cells if c.cell_type == "code"]
        code_zh = [c for c in zh.cells if c.cell_type == "code"]
        for a, b in zip(code_en, code_zh):  # identical code: identical outputs
            b.outputs = copy.deepcopy(a.outputs)
            b.execution_count = a.execution_count
    for lang, nb in (("en", en), ("zh", zh)):
        path = os.path.join(ROOT, "docs", "tutorial", lang, f"{name}.ipynb")
        nbformat.write(nb, path)
        print("wrote", os.path.relpath(path, ROOT))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*")
    parser.add_argument("--no-execute", action="store_true")
    args = parser.parse_args(argv)
    names = args.names or sorted(f[:-3] for f in os.listdir(SOURCE) if f.endswith(".py") and f[:2].isdigit())
    for name in names:
        build(name, execute=not args.no_execute)
    return 0


if __name__ == "__main__":
    sys.exit(main())
