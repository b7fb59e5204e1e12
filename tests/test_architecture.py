"""The layers of the code (setup.cfg's import-linter contracts) hold, and a wrong import fails.

`lint-imports` runs in a subprocess with the checkout as its working directory, so it analyses
the files of this tree (it puts the working directory first on the path), never an installed
copy. Imports inside functions count as much as top-level ones.
"""

from __future__ import annotations

import pathlib
import shutil
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
PACKAGES = ("dmtrack_apps", "configs", "eval", "data_pipelines", "dmtrack_jax", "dmtrack_common")
LINT = ("import sys; from importlinter.cli import lint_imports; "
        "sys.exit(lint_imports(config_filename='setup.cfg', no_cache=True, no_logo=True))")


def _lint(cwd: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", LINT], cwd=cwd, capture_output=True, text=True,
                          timeout=600)


def test_import_contracts_hold():
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 kept, 0 broken" in result.stdout, result.stdout


def _skeleton(tmp_path: pathlib.Path, files: dict[str, str]) -> None:
    shutil.copy(ROOT / "setup.cfg", tmp_path / "setup.cfg")
    for package in PACKAGES:
        (tmp_path / package).mkdir()
        (tmp_path / package / "__init__.py").write_text("")
    for name, text in files.items():
        (tmp_path / name).write_text(text)


def test_upward_import_inside_a_function_is_refused_with_its_line(tmp_path):
    _skeleton(tmp_path, {
        "eval/metrics.py": "X = 1\n",
        "dmtrack_jax/model.py": "import math\n\n\ndef f():\n    from eval import metrics\n"
                                "    return metrics.X\n",
    })
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "dmtrack_jax.model -> eval.metrics (l.5)" in result.stdout, result.stdout


def test_eval_building_a_tracker_and_a_cycle_are_refused(tmp_path):
    _skeleton(tmp_path, {
        "dmtrack_jax/tracker.py": "T = 1\n",
        "eval/runner.py": "from dmtrack_jax import tracker\n",
        "data_pipelines/a.py": "from data_pipelines import b\n",
        "data_pipelines/b.py": "def g():\n    from data_pipelines import a\n",
    })
    result = _lint(tmp_path)
    assert result.returncode == 1
    assert "eval.runner -> dmtrack_jax.tracker (l.1)" in result.stdout, result.stdout
    assert "No cycles are allowed in data_pipelines" in result.stdout, result.stdout
    assert "1 kept, 2 broken" in result.stdout, result.stdout
