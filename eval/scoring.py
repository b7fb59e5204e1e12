"""Scores a results folder on a benchmark, with the benchmark's own metric and keys.

`BENCHMARKS` names each benchmark's split, result writer and metric family; the sequences come
from the data layer (`data_pipelines.datasets`), which keeps invalid rows (negative or zero
sizes) as read, to be scored as invalid ground truth. `score_results` returns the scores
(fractions in [0, 1]) and the curves the plots draw.
"""

from __future__ import annotations

import dataclasses
import pathlib
from typing import Callable

import numpy as np

from data_pipelines import datasets
from data_pipelines.datasets.oxuva import read_annotations as read_oxuva_annotations
from eval import got10k_metrics, ope_metrics, oxuva_data, result_files, runner, votlt_metrics

SCORE_KEYS = {
    "ope": ("success", "precision", "norm_precision"),
    "got10k": ("ao", "sr50", "sr75"),
    "votlt": ("precision", "recall", "f_score"),
    "oxuva": ("tpr", "tnr", "max_gm"),
}


@dataclasses.dataclass(frozen=True)
class Benchmark:
    name: str
    family: str  # a key of SCORE_KEYS
    default_split: str | None  # also names the results folder (`<name>_<split>` when set)
    make_writer: Callable[..., runner.ResultWriter]
    # The data-layer split that forms the benchmark when none is given (LaSOT: the official
    # test list, or the root's testing_set.txt).
    protocol_split: str | None = None


BENCHMARKS = {
    "lasot": Benchmark("lasot", "ope", None, runner.OpeWriter, protocol_split="test"),
    "otb": Benchmark("otb", "ope", None, runner.OpeWriter),
    "tlp": Benchmark("tlp", "ope", None, runner.OpeWriter),
    "trackingnet": Benchmark("trackingnet", "ope", "TEST", runner.OpeWriter),
    "got10k": Benchmark("got10k", "got10k", "val", runner.Got10kWriter),
    "votlt": Benchmark("votlt", "votlt", None, runner.VotltWriter),
    "oxuva": Benchmark("oxuva", "oxuva", "dev", runner.OxuvaWriter),
}


def get_benchmark(name: str) -> Benchmark:
    if name not in BENCHMARKS:
        raise ValueError(f"unknown benchmark {name!r}; expected one of {sorted(BENCHMARKS)}")
    return BENCHMARKS[name]


def read_sequences(name: str, root, split=None, with_frames=False, names=None):
    """The benchmark's sequences (`data_pipelines.sequence.Sequence`; OxUvA: one per task).

    Ground-truth rows with negative sizes are kept: the toolkits score them as invalid.
    """
    bench = get_benchmark(name)
    split = split or bench.default_split or bench.protocol_split
    if name == "oxuva" and names is not None:  # a subset of the tasks, in task order
        wanted = set(names)
        names = [s.name for s in datasets.read_oxuva(root, split, with_frames=False)
                 if s.name in wanted]
    return datasets.read_dataset(name, root, split, with_frames=with_frames, names=names)


def scored_locally(name: str, root, split=None) -> bool:
    """False for the splits whose annotations are withheld (GOT-10k test, TrackingNet TEST,
    OxUvA test): those result folders go to the benchmark's server."""
    bench = get_benchmark(name)
    split = split or bench.default_split
    if name == "oxuva":
        return (pathlib.Path(root) / "annotations" / f"{split}.csv").is_file()
    return all(len(s.ground_truth) >= 2 for s in read_sequences(name, root, split))


def _needs_full_annotation(name: str, sequences, split) -> None:
    short = [s.name for s in sequences if len(s.ground_truth) < 2]
    if short:
        raise ValueError(f"{name} {split or ''} annotations hold only the initial box (e.g. "
                         f"{short[0]}): this split is scored by the benchmark's server; submit "
                         f"the results folder there")


def _check_got10k_labels(sequence) -> None:
    """The got10k-toolkit scores frames with cover > 0, clipped to the image: both needed."""
    if sequence.cover is None:
        raise FileNotFoundError(f"GOT-10k {sequence.name}: missing cover.label (needed to "
                                f"choose the scored frames)")
    if sequence.image_size is None:
        raise FileNotFoundError(f"GOT-10k {sequence.name}: missing meta_info.ini resolution "
                                f"(needed for the image size)")


def score_results(name: str, root, results_dir, split=None, convention: str | None = None,
                  names=None, frame_stride: int = 1) -> dict:
    """{"scores": {key: value}, "curves": {...}, "per_sequence": {...}} for one folder.

    `frame_stride` k > 1 (OPE benchmarks only) scores frames 1, 1 + k, 1 + 2k, ... alone: the
    released DMTrack evaluation protocol (issue 17 fact 12, k = 10)."""
    bench = get_benchmark(name)
    split = split or bench.default_split
    if frame_stride != 1 and bench.family != "ope":
        raise ValueError(f"--frame-stride applies to LaSOT, OTB, TLP and TrackingNet only, "
                         f"not {name}")
    if bench.family == "oxuva":
        tasks = read_sequences(name, root, split, names=names)
        summary = oxuva_data.score_results(tasks, read_oxuva_annotations(root, split),
                                           results_dir)
        return {"scores": {k: summary[k] for k in SCORE_KEYS["oxuva"]},
                "curves": {"tpr": summary["tpr"], "tnr": summary["tnr"]},
                "per_sequence": {}}
    sequences = read_sequences(name, root, split, names=names)
    _needs_full_annotation(name, sequences, split)
    if bench.family == "ope":
        convention = convention or ("trackingnet" if name == "trackingnet" else "lasot")
        k = runner.check_frame_stride(frame_stride)
        predictions = [result_files.align_ope_result(
            result_files.read_ope_result(results_dir, s.name, name), len(s.ground_truth),
            int(s.extra.get("start_frame", 1)), s.name)[::k] for s in sequences]
        result = ope_metrics.evaluate_ope(predictions, [s.ground_truth[::k] for s in sequences],
                                          [s.present[::k] for s in sequences],
                                          [s.name for s in sequences], convention)
        return {"scores": result.scores(),
                "curves": {"success": (result.thresholds.success, result.success_curve),
                           "precision": (result.thresholds.precision, result.precision_curve),
                           "norm_precision": (result.thresholds.norm_precision,
                                              result.norm_precision_curve)},
                "per_sequence": result.per_sequence}
    if bench.family == "got10k":
        per_sequence, pooled = {}, []
        for s in sequences:
            _check_got10k_labels(s)
            ious = got10k_metrics.sequence_ious(result_files.read_got10k_result(results_dir,
                                                                                s.name),
                                                s.ground_truth, s.cover, s.image_size[::-1],
                                                s.name)
            pooled.append(ious)
            per_sequence[s.name] = {"ao": float(np.mean(ious)) if ious.size else float("nan")}
        summary = got10k_metrics.summarise(pooled)
        return {"scores": {k: summary[k] for k in SCORE_KEYS["got10k"]},
                "curves": {"success": (summary["thresholds"], summary["success_curve"])},
                "per_sequence": per_sequence}
    # VOT long-term
    boxes, confidences = zip(*(result_files.read_votlt_result(results_dir, s.name)
                               for s in sequences))
    summary = votlt_metrics.evaluate_longterm(boxes, confidences,
                                              [s.ground_truth for s in sequences],
                                              [s.image_size and s.image_size[::-1]
                                               for s in sequences],
                                              [s.name for s in sequences])
    return {"scores": {k: summary[k] for k in SCORE_KEYS["votlt"]},
            "curves": {"precision_recall": (summary["recall_curve"],
                                            summary["precision_curve"])},
            "per_sequence": {}}
