"""`dmtrack demo` end to end with the shipped checkpoint, on a very small benchmark."""

import json
import pathlib

import numpy as np
import pytest

from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT


@pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                    reason="the shipped checkpoint checkpoints/tiny is missing")
def test_demo_runs_and_its_file_scores_match_the_in_memory_scores(tmp_path, capsys):
    out = tmp_path / "demo"
    assert main(["demo", "--out", str(out), "--sequences", "2", "--frames", "24",
                 "--batch-size", "2"]) == 0
    printed = capsys.readouterr().out
    assert "selection" in printed and "reid" in printed
    scores = json.loads((out / "scores.json").read_text())
    assert set(scores) == {"reid", "top1", "position"}
    for mode in scores:
        for key in ("success", "precision", "norm_precision", "tpr", "tnr", "max_gm"):
            assert 0.0 <= scores[mode][key] <= 1.0 or np.isnan(scores[mode][key])
    # The scores read back from the LaSOT-format files equal a recomputation from the files.
    from eval import result_files, synthetic_benchmark as sb
    from eval.ope_metrics import evaluate_ope

    videos = sb.make_videos(2, 24, (128, 160), seed=20_261_124, preset="lasot-like")  # default
    names = sb.video_names(videos)
    results_dir = out / "results" / "dmtrack_tiny_reid"
    predictions = [result_files.read_ope_result(results_dir, n) for n in names]
    gts = [np.where(np.isfinite(v.boxes[:, 0]), v.boxes[:, 0], 0) for v in videos]
    ope = evaluate_ope(predictions, gts, [~v.target_absent for v in videos], names)
    np.testing.assert_allclose(scores["reid"]["success"], ope.success, atol=1e-6)
    for png in ("lasot_success.png", "lasot_precision.png"):
        assert (out / "plots" / png).read_bytes()[:4] == b"\x89PNG"
    # The layout `dmtrack track` writes: confidences and times beside the boxes.
    confidences = result_files.read_ope_confidences(results_dir, names[0])
    assert len(confidences) == 24 and confidences[0] == 1.0
    assert len(np.loadtxt(results_dir / f"{names[0]}_time.txt")) == 24
    import cv2

    capture = cv2.VideoCapture(str(out / "annotated" / f"{names[0]}.mp4"))
    count = 0
    while capture.read()[0]:
        count += 1
    assert count == 24  # it plays, one frame per frame
    assert pathlib.Path(out / "benchmark" / "testing_set.txt").read_text().split() == names
