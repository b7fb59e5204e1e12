"""Success / precision plots comparing any number of results folders (PNG, Agg backend).

The legend carries each tracker's score, as in the toolkits' own plots, and trackers are
ordered best first.
"""

from __future__ import annotations

import pathlib

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

from dmtrack_common.fileio import atomic_path  # noqa: E402

_OPE_PLOTS = {
    "success": ("Success plot", "Overlap threshold", "Success rate", "success"),
    "precision": ("Precision plot", "Location error threshold (pixels)", "Precision",
                  "precision"),
    "norm_precision": ("Normalized precision plot", "Normalized location error threshold",
                       "Normalized precision", "norm_precision"),
}


def _save_atomic(figure, path: pathlib.Path) -> None:
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=100, bbox_inches="tight", format="png")
    plt.close(figure)


def write_plots(benchmark: str, results: dict[str, dict], plot_dir) -> list[pathlib.Path]:
    """`results`: label -> the dict of `scoring.score_results`. Returns the PNGs written."""
    plot_dir = pathlib.Path(plot_dir)
    written = []
    any_result = next(iter(results.values()))
    curves = any_result["curves"]
    if "success" in curves and "precision" in curves:  # OPE family
        for key, (title, xlabel, ylabel, score_key) in _OPE_PLOTS.items():
            order = sorted(results, key=lambda label: -results[label]["scores"][score_key])
            figure, axis = plt.subplots(figsize=(6, 4.5))
            for label in order:
                x, y = results[label]["curves"][key]
                score = results[label]["scores"][score_key]
                axis.plot(x, y, label=f"[{score:.3f}] {label}", linewidth=2)
            _decorate(axis, f"{title} of OPE on {benchmark}", xlabel, ylabel)
            path = plot_dir / f"{benchmark}_{key}.png"
            _save_atomic(figure, path)
            written.append(path)
    elif "success" in curves:  # GOT-10k
        figure, axis = plt.subplots(figsize=(6, 4.5))
        for label in sorted(results, key=lambda lab: -results[lab]["scores"]["ao"]):
            x, y = results[label]["curves"]["success"]
            axis.plot(x, y, label=f"[{results[label]['scores']['ao']:.3f}] {label}", linewidth=2)
        _decorate(axis, f"Success plot on {benchmark}", "Overlap threshold", "Success rate")
        path = plot_dir / f"{benchmark}_success.png"
        _save_atomic(figure, path)
        written.append(path)
    elif "precision_recall" in curves:  # VOT-LT
        figure, axis = plt.subplots(figsize=(6, 4.5))
        for label in sorted(results, key=lambda lab: -results[lab]["scores"]["f_score"]):
            recall, precision = results[label]["curves"]["precision_recall"]
            axis.plot(recall, precision,
                      label=f"[{results[label]['scores']['f_score']:.3f}] {label}", linewidth=2)
        _decorate(axis, f"Precision/recall on {benchmark}", "Recall", "Precision")
        path = plot_dir / f"{benchmark}_precision_recall.png"
        _save_atomic(figure, path)
        written.append(path)
    else:  # OxUvA: one operating point per tracker
        figure, axis = plt.subplots(figsize=(6, 4.5))
        for label in sorted(results, key=lambda lab: -results[lab]["scores"]["max_gm"]):
            tnr, tpr = results[label]["curves"]["tnr"], results[label]["curves"]["tpr"]
            axis.plot([tnr], [tpr], "o",
                      label=f"[{results[label]['scores']['max_gm']:.3f}] {label}")
        _decorate(axis, f"TPR vs TNR on {benchmark}", "True negative rate", "True positive rate")
        path = plot_dir / f"{benchmark}_tpr_tnr.png"
        _save_atomic(figure, path)
        written.append(path)
    return written


def _decorate(axis, title: str, xlabel: str, ylabel: str) -> None:
    axis.set_title(title)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_ylim(0, 1)
    axis.grid(True, alpha=0.3)
    axis.legend(loc="best", fontsize=8)
