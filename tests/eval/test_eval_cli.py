"""`dmtrack eval` in-process: scores, JSON, plots, errors, and the --checkpoint mode."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest

from dmtrack_apps import cli
from dmtrack_jax.tracking.tracker import Tracker
from eval import result_files

BOX = [10, 10, 20, 20]


@pytest.fixture
def lasot_root(tmp_path, bench_files):
    # frame 3 is fully occluded: it counts as a failure for every tracker
    return bench_files.make_lasot(tmp_path / "lasot", {
        "cat-1": {"gt": [BOX] * 3, "occlusion": [0, 0, 1]}}, with_images=True)


def test_scores_two_folders_json_table_and_plots(lasot_root, tmp_path, capsys):
    exact, shifted = tmp_path / "exact", tmp_path / "shifted"
    result_files.write_ope_result(exact, "cat-1", np.array([BOX] * 3))
    result_files.write_ope_result(shifted, "cat-1", np.array([[20, 10, 20, 20]] * 3))
    out_json, plot_dir = tmp_path / "scores.json", tmp_path / "plots"
    assert cli.main(["eval", "--benchmark", "lasot", "--root", str(lasot_root),
                     "--results-dir", str(exact), "--results-dir", str(shifted),
                     "--json", str(out_json), "--plot-dir", str(plot_dir)]) == 0
    scores = json.loads(out_json.read_text())
    # exact: overlaps [1, 1, -1] -> 2/3 for the 20 thresholds below 1 -> 40/63
    assert scores["exact"]["success"] == pytest.approx(40 / 63, abs=1e-12)
    assert scores["exact"]["precision"] == pytest.approx(2 / 3)
    assert scores["exact"]["norm_precision"] == pytest.approx(2 / 3)
    # shifted 10 px: overlaps [1 (frame 1 rule), 1/3, -1] -> (7 * 2/3 + 13 * 1/3) / 21 = 3/7;
    # error 10 <= 20 px passes, normalised 0.5 > 0.2 fails
    assert scores["shifted"]["success"] == pytest.approx(3 / 7, abs=1e-12)
    assert scores["shifted"]["precision"] == pytest.approx(2 / 3)
    assert scores["shifted"]["norm_precision"] == pytest.approx(1 / 3)
    table = capsys.readouterr().out
    assert "exact" in table and "0.6349" in table and "0.4286" in table
    for name in ("lasot_success.png", "lasot_precision.png", "lasot_norm_precision.png"):
        assert (plot_dir / name).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_single_folder_json_is_flat(lasot_root, tmp_path):
    result_files.write_ope_result(tmp_path / "r", "cat-1", np.array([BOX] * 3))
    assert cli.main(["eval", "--benchmark", "lasot", "--root", str(lasot_root),
                     "--results-dir", str(tmp_path / "r"), "--json",
                     str(tmp_path / "s.json")]) == 0
    scores = json.loads((tmp_path / "s.json").read_text())
    assert set(scores) == {"success", "precision", "norm_precision"}
    assert all(0 <= v <= 1 for v in scores.values())


def test_got10k_toolkit_flag_changes_the_convention(lasot_root, tmp_path):
    result_files.write_ope_result(tmp_path / "r", "cat-1", np.array([BOX] * 3))
    assert cli.main(["eval", "--benchmark", "lasot", "--root", str(lasot_root), "--toolkit",
                     "got10k", "--results-dir", str(tmp_path / "r"), "--json",
                     str(tmp_path / "s.json")]) == 0
    # got10k ignores absence flags: all three frames IoU 1 (minus eps) -> 20/21
    assert json.loads((tmp_path / "s.json").read_text())["success"] == pytest.approx(20 / 21)


def test_missing_result_file_is_one_line_error(lasot_root, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert cli.main(["eval", "--benchmark", "lasot", "--root", str(lasot_root),
                     "--results-dir", str(tmp_path / "empty")]) == 2
    assert "no result file for sequence cat-1" in capsys.readouterr().err


def test_checkpoint_that_does_not_exist_is_a_clear_error(lasot_root, tmp_path, capsys):
    assert cli.main(["eval", "--benchmark", "lasot", "--root", str(lasot_root),
                     "--checkpoint", str(tmp_path / "nowhere"), "--workdir",
                     str(tmp_path / "w")]) == 2
    assert "--checkpoint" in capsys.readouterr().err


def test_checkpoint_mode_tracks_then_scores(lasot_root, tmp_path, monkeypatch):
    started = []

    class PerfectTracker:
        tracker_config = {"absent_confidence": 0.3}

        def initialize(self, frame, box):
            started.append(1)

        def track(self, frame):
            return SimpleNamespace(box=np.array(BOX, float), confidence=0.8)

    made = []

    def fake_from_checkpoint(cls, path, config_overrides=()):
        # batch size 1: the single-sequence Tracker, built from the given checkpoint
        assert cls is Tracker and path == "ckpt" and list(config_overrides) == []
        made.append(1)
        return PerfectTracker()

    monkeypatch.setattr(Tracker, "from_checkpoint", classmethod(fake_from_checkpoint))
    args = ["eval", "--benchmark", "lasot", "--root", str(lasot_root), "--checkpoint", "ckpt",
            "--workdir", str(tmp_path / "w"), "--json", str(tmp_path / "s.json")]
    assert cli.main(args) == 0
    assert (tmp_path / "w" / "results" / "lasot" / "cat-1.txt").is_file()
    assert json.loads((tmp_path / "s.json").read_text())["success"] == pytest.approx(40 / 63)
    assert len(started) == 1
    # second run: the checkpoint is checked again, but everything is already tracked
    assert cli.main(args) == 0 and len(made) == 2 and len(started) == 1


def test_votlt_worked_example_through_files(tmp_path, capsys):
    gt, half, miss = [0, 0, 10, 10], [0, 0, 10, 5], [20, 20, 10, 10]
    root = tmp_path / "vot"
    root.mkdir()
    (root / "list.txt").write_text("a\nb\n")
    (root / "a").mkdir()
    (root / "a" / "groundtruth.txt").write_text("0,0,10,10\n0,0,10,10\nnan,nan,nan,nan\n"
                                                "0,0,10,10\n")
    (root / "b").mkdir()
    (root / "b" / "groundtruth.txt").write_text("0,0,10,10\n" * 3)
    results = tmp_path / "res"
    result_files.write_votlt_result(results, "a", np.array([gt, half, gt, gt]),
                                    [1, 0.9, 0.2, 0.6])
    result_files.write_votlt_result(results, "b", np.array([gt, miss, half]), [1, 0.8, 0.4])
    assert cli.main(["eval", "--benchmark", "votlt", "--root", str(root), "--results-dir",
                     str(results), "--json", str(tmp_path / "s.json"),
                     "--plot-dir", str(tmp_path / "p")]) == 0
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores == pytest.approx({"precision": 0.5, "recall": 1 / 3, "f_score": 0.4})
    assert (tmp_path / "p" / "votlt_precision_recall.png").is_file()


def test_oxuva_worked_example_through_files(tmp_path, bench_files):
    box, far = [0.1, 0.3, 0.1, 0.3], [0.6, 0.8, 0.6, 0.8]
    bench_files.write_rows(tmp_path / "tasks" / "dev.csv",
                           [["va", "0", 0, 120, *box], ["vb", "0", 0, 60, *box]])

    def label(video, frame, present):
        return [video, "0", 1, "cat", "false", "false", frame,
                "present" if present else "absent", *box]

    bench_files.write_rows(tmp_path / "annotations" / "dev.csv", [
        label("va", 0, 1), label("va", 30, 1), label("va", 60, 1), label("va", 90, 0),
        label("va", 120, 0), label("vb", 0, 1), label("vb", 30, 1), label("vb", 60, 0)])
    res = tmp_path / "res"
    # va: 30 TP, 60 FN (far box), 90 FP, 120 missing -> frame 100's "absent" -> TN
    result_files.write_oxuva_predictions(res, "va", "0", [30, 60, 90, 100],
                                         [True, True, True, False], [1, 1, 1, 0],
                                         [box, far, box, box])
    # vb: 30 predicted absent -> FN, 60 absent -> TN
    result_files.write_oxuva_predictions(res, "vb", "0", [30, 60], [False, False], [0, 0],
                                         [box, box])
    assert cli.main(["eval", "--benchmark", "oxuva", "--root", str(tmp_path),
                     "--results-dir", str(res), "--json", str(tmp_path / "s.json"),
                     "--plot-dir", str(tmp_path / "p")]) == 0
    scores = json.loads((tmp_path / "s.json").read_text())
    assert scores == pytest.approx({"tpr": 1 / 3, "tnr": 2 / 3, "max_gm": math.sqrt(2 / 9)})
    assert (tmp_path / "p" / "oxuva_tpr_tnr.png").is_file()


def test_got10k_val_worked_example_through_files(tmp_path, bench_files):
    root = tmp_path / "got"
    (root / "val").mkdir(parents=True)
    (root / "val" / "list.txt").write_text("s1\ns2\n")
    specs = {"s1": ([[0, 0, 10, 10], [90, 0, 10, 10], [0, 0, 10, 10]], "1\n1\n0\n",
                    [[50, 50, 5, 5], [90, 0, 20, 10], [50, 50, 5, 5]]),
             "s2": ([[0, 0, 10, 10], [5, 0, 10, 10], [0, 0, 10, 10]], "1\n1\n1\n",
                    [[0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 0, 0]])}
    for name, (gt, cover, pred) in specs.items():
        bench_files.write_rows(root / "val" / name / "groundtruth.txt", gt)
        (root / "val" / name / "cover.label").write_text(cover)
        (root / "val" / name / "absence.label").write_text("0\n0\n0\n")
        (root / "val" / name / "meta_info.ini").write_text("[METAINFO]\nresolution: (100, 100)\n")
        result_files.write_got10k_result(tmp_path / "res", name, np.array(pred, float))
    assert cli.main(["eval", "--benchmark", "got10k", "--root", str(root), "--results-dir",
                     str(tmp_path / "res"), "--json", str(tmp_path / "s.json"),
                     "--plot-dir", str(tmp_path / "p")]) == 0
    assert (tmp_path / "p" / "got10k_success.png").is_file()
    scores = json.loads((tmp_path / "s.json").read_text())
    # IoUs: s1 frame 2 (clipped to the image) 1; s2 frame 2 1/3, frame 3 (empty box) 0
    assert scores == pytest.approx({"ao": 4 / 9, "sr50": 1 / 3, "sr75": 1 / 3})


def test_server_scored_split_tracks_and_stops_with_a_pointer(tmp_path, bench_files, monkeypatch,
                                                             capsys):
    # TrackingNet TEST publishes only the first box: track, write, and point to the server
    root = tmp_path / "tn"
    bench_files.write_rows(root / "TEST" / "anno" / "vid.txt", [BOX])
    for i in range(3):
        bench_files.write_frame(root / "TEST" / "frames" / "vid" / f"{i}.png", 0, i)

    class HoldTracker:
        tracker_config = {}

        def initialize(self, frame, box):
            self.box = box

        def track(self, frame):
            return SimpleNamespace(box=self.box, confidence=1.0)

    monkeypatch.setattr(Tracker, "from_checkpoint",
                        classmethod(lambda cls, *a, **k: HoldTracker()))
    assert cli.main(["eval", "--benchmark", "trackingnet", "--root", str(root),
                     "--checkpoint", "c", "--workdir", str(tmp_path / "w")]) == 0
    assert "server" in capsys.readouterr().out
    boxes = result_files.read_ope_result(tmp_path / "w" / "results" / "trackingnet_TEST", "vid")
    np.testing.assert_array_equal(boxes, [BOX] * 3)
    assert cli.main(["eval", "--benchmark", "trackingnet", "--root", str(root),
                     "--results-dir", str(tmp_path / "w" / "results" / "trackingnet_TEST")]) == 2
    assert "scored by the benchmark's server" in capsys.readouterr().err


def test_output_locations_are_checked_before_tracking_or_scoring(lasot_root, tmp_path, capsys,
                                                                 monkeypatch):
    def never(*args, **kwargs):
        raise AssertionError("a tracker was built before the outputs were checked")

    monkeypatch.setattr(Tracker, "from_checkpoint", never)
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    exact = tmp_path / "exact"
    result_files.write_ope_result(exact, "cat-1", np.array([BOX] * 3))
    (tmp_path / "a_folder.json").mkdir()
    base = ["eval", "--benchmark", "lasot", "--root", str(lasot_root)]
    cases = [
        (["--results-dir", str(exact), "--json", "/proc/h9_no/s.json"],
         "--json /proc/h9_no: cannot write there"),
        (["--results-dir", str(exact), "--json", str(tmp_path / "a_folder.json")],
         f"--json {tmp_path / 'a_folder.json'} is an existing folder"),
        (["--results-dir", str(exact), "--plot-dir", "/proc/h9_plots"],
         "--plot-dir /proc/h9_plots: cannot write there"),
        (["--checkpoint", "c", "--workdir", "/proc/h9_w"],
         "--workdir: results folder /proc/h9_w/results/lasot: cannot write there"),
    ]
    for extra, message in cases:
        assert cli.main(base + extra) == 2, extra
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, (message, err)
