"""A bad tracker override is refused identically by `dmtrack track`, `dmtrack eval
--checkpoint` and `dmtrack demo` (one place builds trackers: `from_checkpoint`), before any
frame is tracked or any file written."""

import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_jax.tracking.tracker import BatchedTracker

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")

BAD = "--config.tracker.selection_mode=best"
MESSAGE = "config.tracker.selection_mode='best'; expected one of reid, top1, position"


def test_track_eval_and_demo_refuse_a_bad_override_the_same_way(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    started = []  # every tracker (single or batched) starts a sequence through this
    monkeypatch.setattr(BatchedTracker, "initialize", lambda self, *a: started.append(a))
    [sequence_dir] = write_dataset(str(tmp_path / "lasot"), "lasot", 1, 3, seed=4,
                                   image_size=(64, 64))
    (tmp_path / "lasot" / "testing_set.txt").write_text(
        sequence_dir.rstrip("/").rsplit("/", 1)[-1] + "\n")
    first = open(f"{sequence_dir}/groundtruth.txt").readline().strip()
    checkpoint = str(DEFAULT_CHECKPOINT)
    out, workdir, demo_out = tmp_path / "rows.txt", tmp_path / "w", tmp_path / "demo"
    commands = {
        "track": ["track", f"{sequence_dir}/img", "--box", first, "--checkpoint", checkpoint,
                  "--out", str(out), BAD],
        "eval": ["eval", "--benchmark", "lasot", "--root", str(tmp_path / "lasot"),
                 "--checkpoint", checkpoint, "--workdir", str(workdir), BAD],
        "demo": ["demo", "--checkpoint", checkpoint, "--out", str(demo_out),
                 "--sequences", "1", "--frames", "3", "--batch-size", "1", BAD],
    }
    for command, argv in commands.items():
        assert main(argv) == 2, command
        captured = capsys.readouterr()
        assert captured.err == f"dmtrack {command}: error: {MESSAGE}\n", command
        assert "Traceback" not in captured.err + captured.out
        assert "[1/4]" not in captured.out  # the demo never started writing its benchmark
    assert started == []
    assert not out.exists() and not workdir.exists() and not demo_out.exists()
