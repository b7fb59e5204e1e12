"""`dmtrack train` on a LaSOT-layout root whose groundtruth.txt holds a real-world invalid row.

Issue 16: a full LaSOT download has rows like ``1,1,-1,-1`` (lion-5 frame 553) while the
absence flags say present; the training read used to raise "negative box size" so `dmtrack
train` stopped before step 1. Now the frame is unusable for training (never a template or
search frame) and training runs. The sequence is named ``airplane-2`` (a LaSOT training
sequence, not one of the 280 test sequences) so the test holds when training on `lasot`
excludes the test split.
"""

from __future__ import annotations

import json
import math
import pathlib

import numpy as np

from data_pipelines import datasets, loader
from dmtrack_apps import cli
from data_pipelines.writers import write_jpeg

CONFIG = pathlib.Path(__file__).resolve().parents[2] / "configs" / "tiny.py"
FRAMES, BAD_FRAME = 8, 3  # 0-based index of the `1,1,-1,-1` row (groundtruth.txt line 4)
IMAGE_HW = (96, 128)


def _write_lasot_root(root: pathlib.Path) -> pathlib.Path:
    """airplane/airplane-2: a textured rectangle moving over noise, 8 frames of 96x128."""
    rng = np.random.default_rng(0)
    folder = root / "airplane" / "airplane-2"
    patch = rng.integers(0, 256, size=(24, 32, 3), dtype=np.uint8)
    rows = []
    for k in range(FRAMES):
        image = rng.integers(90, 110, size=(*IMAGE_HW, 3), dtype=np.uint8)
        x, y = 20 + 6 * k, 30 + 2 * k
        image[y:y + 24, x:x + 32] = patch
        write_jpeg(str(folder / "img" / f"{k + 1:08d}.jpg"), image)
        rows.append(f"{x},{y},32,24")
    rows[BAD_FRAME] = "1,1,-1,-1"  # as in lion-5 frame 553, flagged present
    (folder / "groundtruth.txt").write_text("\n".join(rows) + "\n")
    for flags in ("full_occlusion.txt", "out_of_view.txt"):
        (folder / flags).write_text(",".join(["0"] * FRAMES) + "\n")
    return root


OVERRIDES = [
    "--config.data.sources.synthetic.weight=0.0",
    "--config.data.sources.synthetic.reid_weight=0.0",
    "--config.data.sources.lasot.weight=1.0",
    "--config.train.steps=3",
    "--config.train.batch_size=2",
    "--config.mesh.num_devices=1",
    "--config.train.reid_every=0",  # LaSOT has no identities
    "--config.train.log_every=1",
    "--config.evals.synthetic.every=0",
    # A smaller graph (as tests/train/batches.py micro_config): faster compiles.
    "--config.model.num_convs=1",
    "--config.data.augment.fit_size=(96, 64)",  # canvases 64x96 and 96x64
    "--config.model.dla_levels=(1, 1, 1, 1, 1, 1)",
]


def test_sampler_never_draws_the_invalid_row(tmp_path):
    root = _write_lasot_root(tmp_path / "lasot")
    (sequence,) = datasets.read_dataset("lasot", root)
    np.testing.assert_array_equal(sequence.ground_truth[BAD_FRAME], [1, 1, -1, -1])
    assert sequence.present.all()  # the flags say present ...
    expected_valid = np.arange(FRAMES) != BAD_FRAME
    np.testing.assert_array_equal(sequence.valid, expected_valid)  # ... the box says unusable
    assert np.isnan(sequence.boxes[BAD_FRAME]).all()

    config = cli_config(root)
    sampler = loader.build_sampler(config.data, config.seed)
    (prepared,) = sampler.prepared[0]
    np.testing.assert_array_equal(prepared.usable[:, 0], expected_valid)
    assert BAD_FRAME not in prepared.anchor_frames
    rng = np.random.default_rng(1)
    drawn = set()
    for _ in range(200):
        pair = sampler.draw_pair(rng)
        assert pair is not None
        drawn.update((pair[0].frame_index, pair[1].frame_index))
    assert drawn == set(np.flatnonzero(expected_valid))  # every other frame, never frame 3
    batch = sampler.sot_batch(0)
    assert batch["box_valid"][:, 0].all()


def cli_config(root):
    from dmtrack_apps.train import resolve_config
    from dmtrack_jax.config_utils import resolve_run_config

    config = resolve_config(str(CONFIG), OVERRIDES + [f"--config.data.sources.lasot.root={root}"])
    return resolve_run_config(config, 1)


def test_dmtrack_train_runs_on_lasot_with_a_negative_size_row(tmp_path, capsys):
    root = _write_lasot_root(tmp_path / "lasot")
    workdir = tmp_path / "work"
    code = cli.main(["train", "--config", str(CONFIG), "--workdir", str(workdir),
                     "--no-progress", f"--config.data.sources.lasot.root={root}", *OVERRIDES])
    assert code == 0, capsys.readouterr()
    assert "trained to step 3" in capsys.readouterr().out
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").open()]
    train = [r for r in records if r.get("kind") == "train"]
    assert [r["step"] for r in train] == [1, 2, 3]
    for record in train:
        assert all(math.isfinite(record[k]) for k in ("loss", "focal", "iou", "ctr")), record
        assert record["num_pos"] > 0, record  # the pairs carried real targets
