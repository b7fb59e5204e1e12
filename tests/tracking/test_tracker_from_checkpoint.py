"""`Tracker.from_checkpoint` / `BatchedTracker.from_checkpoint` / `.from_config`: one way to
build a tracker (defaults for missing fields, overrides, one check), on the shipped checkpoint."""

import json
import shutil

import numpy as np
import pytest

from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_common.boxes import xyxy_to_xywh
from dmtrack_jax.checkpoint_io import load_for_inference, read_inference_config
from dmtrack_jax.tracking import tracker as tracker_module
from dmtrack_jax.tracking.config import default_tracker_config
from dmtrack_jax.tracking.tracker import BatchedTracker, Tracker

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")


def _old_checkpoint(tmp_path, drop=("lost_buffer", "redetect_from_new_tracklets")):
    """A copy of checkpoints/tiny whose config predates some tracker fields."""
    target = tmp_path / "old"
    shutil.copytree(DEFAULT_CHECKPOINT, target)
    config = json.loads((target / "config.json").read_text())
    for field in drop:
        del config["tracker"][field]
    (target / "config.json").write_text(json.dumps(config))
    return target


def test_overrides_applied_defaults_filled_and_checked_once(tmp_path, monkeypatch):
    path = _old_checkpoint(tmp_path)
    assert "lost_buffer" not in read_inference_config(path).tracker
    checked = []
    real_check = tracker_module.check_tracker_config
    monkeypatch.setattr(tracker_module, "check_tracker_config",
                        lambda c: checked.append(c.to_dict()) or real_check(c))
    tracker = Tracker.from_checkpoint(
        path, config_overrides=["--config.tracker.selection_mode=top1",
                                "--config.tracker.absent_confidence=0.3"],
        position_top_k=3, input_size=(96, 128))
    c = tracker.tracker_config
    # Overrides, from the command line and from code.
    assert (c.selection_mode, c.absent_confidence, c.position_top_k) == ("top1", 0.3, 3)
    assert tuple(c.input_size) == (96, 128) and tracker.input_hw == (96, 128)
    # Fields the old checkpoint lacks take the defaults; the others keep the checkpoint's.
    defaults = default_tracker_config()
    assert c.lost_buffer == defaults.lost_buffer == 30
    assert c.redetect_from_new_tracklets is defaults.redetect_from_new_tracklets
    assert c.embedding_match_threshold == 0.6 != defaults.embedding_match_threshold
    assert set(c) == set(defaults)
    # The full resolved config is exposed; the check ran once, on the final values.
    assert tracker.config.tracker is c and tracker.config.model.correlation == "dc"
    assert len(checked) == 1 and checked[0]["selection_mode"] == "top1"


def test_a_bad_value_is_refused_before_the_weights_load(tmp_path, monkeypatch):
    loads = []
    monkeypatch.setattr("dmtrack_jax.checkpoint_io.load_for_inference",
                        lambda *a: loads.append(a) or load_for_inference(*a))
    with pytest.raises(ValueError, match=r"^config\.tracker\.selection_mode='best'; expected "
                                         r"one of reid, top1, position$"):
        BatchedTracker.from_checkpoint(DEFAULT_CHECKPOINT,
                                       config_overrides=["--config.tracker.selection_mode=best"])
    with pytest.raises(ValueError, match=r"config\.tracker\.lost_buffer=-1; must be >= 0"):
        Tracker.from_checkpoint(DEFAULT_CHECKPOINT, lost_buffer=-1)
    with pytest.raises(ValueError, match="unknown tracker field config.tracker.nope"):
        Tracker.from_checkpoint(DEFAULT_CHECKPOINT, nope=1)
    with pytest.raises(ValueError, match="lost_buffer expects int"):
        Tracker.from_checkpoint(DEFAULT_CHECKPOINT,
                                config_overrides=["--config.tracker.lost_buffer=abc"])
    assert loads == []
    with pytest.raises(FileNotFoundError, match="--checkpoint .*nowhere"):
        Tracker.from_checkpoint(tmp_path / "nowhere")


def test_from_config_checks_and_leaves_the_callers_config_alone():
    variables, config = load_for_inference(DEFAULT_CHECKPOINT)
    with config.unlocked():  # configs read back are locked; make one that predates the field
        del config.tracker["lost_buffer"]
    tracker = BatchedTracker.from_config(config, variables, selection_mode="position")
    assert tracker.tracker_config.selection_mode == "position"
    assert tracker.tracker_config.lost_buffer == 30
    assert config.tracker.selection_mode == "reid" and "lost_buffer" not in config.tracker
    with pytest.raises(ValueError, match="embedding_momentum=1.5; must lie in"):
        BatchedTracker.from_config(config, variables, embedding_momentum=1.5)


def test_new_association_replays_the_trackers_own(tmp_path):
    """An association from `new_association` fed `detect`'s candidates gives what `track` gives."""
    from data_pipelines.synthetic import iter_dataset

    [video] = list(iter_dataset(1, 6, 5, (96, 128), 3))
    tracker = BatchedTracker.from_checkpoint(DEFAULT_CHECKPOINT, input_size=(96, 128))
    with pytest.raises(RuntimeError, match="initialize"):
        tracker.new_association()
    tracker.initialize([video.frames[0]], [video.boxes[0, 0]])
    assert tracker.first_frame_embeddings.shape[0] == 1
    replay = tracker.new_association()
    for t in range(1, len(video.frames)):
        [result] = tracker.track([video.frames[t]])
        again, again_conf = replay.update(tracker.last_candidates)
        np.testing.assert_allclose(result.box[None], xyxy_to_xywh(again))
        np.testing.assert_allclose([result.confidence], again_conf)
        np.testing.assert_allclose(tracker.distractor_boxes(0),
                                   xyxy_to_xywh(replay.distractor_boxes(0)))
        np.testing.assert_allclose(result.distractors, xyxy_to_xywh(replay.distractor_boxes(0)))
