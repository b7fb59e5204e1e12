"""The training loop: kill-and-resume equality, non-finite stop, overfitting, metrics files."""

import json

import jax
import ml_collections
import numpy as np
import pytest

from batches import ListIterator, micro_config, reid_batch, sot_batch
from dmtrack_apps.evaluators import FACTORIES, build_evaluators
from dmtrack_jax.train.loop import (Evaluator, NonFiniteLossError, latest_checkpoint_step,
                                    train_and_evaluate)

SOT = [sot_batch(i, 2) for i in range(4)]
REID = [reid_batch(10 + i, 2) for i in range(3)]


class Interrupt(Exception):
    """Stands for the job being killed (pre-emption) in the middle of a run."""


class InterruptingIterator(ListIterator):
    def __init__(self, batches, fail_at: int):
        super().__init__(batches)
        self.fail_at = fail_at

    def __next__(self):
        if self.position == self.fail_at:
            raise Interrupt()
        return super().__next__()


def _config(steps, reid_every=2):
    config = micro_config()
    config.train.steps = steps
    config.train.reid_every = reid_every
    return config


def _params(state):
    return jax.tree_util.tree_leaves(jax.device_get(state.params))


def test_killed_run_resumes_to_the_same_params(tmp_path, capsys):
    steps = 6
    uninterrupted = train_and_evaluate(_config(steps), tmp_path / "a", ListIterator(SOT),
                                       ListIterator(REID), progress=False)
    # Killed while fetching the 3rd SOT batch (after 4 steps: S, R, S, R), then restarted.
    with pytest.raises(Interrupt):
        train_and_evaluate(_config(steps), tmp_path / "b", InterruptingIterator(SOT, 2),
                           ListIterator(REID), progress=False)
    assert latest_checkpoint_step(tmp_path / "b") == 4
    capsys.readouterr()
    resumed = train_and_evaluate(_config(steps), tmp_path / "b", ListIterator(SOT),
                                 ListIterator(REID), progress=False)
    assert "Resuming from step 4" in capsys.readouterr().out
    assert int(resumed.step) == steps
    for a, b in zip(_params(uninterrupted), _params(resumed)):
        np.testing.assert_array_equal(a, b)
    # The iterators were restored too: without that, batches (and params) would differ.
    records = [json.loads(line) for line in (tmp_path / "b" / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2, 3, 4, 5, 6]
    assert [r["kind"] for r in records] == ["train", "reid"] * 3
    config = json.loads((tmp_path / "b" / "config.json").read_text())
    assert config["train"]["steps"] == steps and config["model"]["num_convs"] == 1


def test_non_finite_loss_stops_with_the_step_and_keeps_the_checkpoint(tmp_path):
    bad = {k: v.copy() for k, v in SOT[1].items()}
    bad["search_image"][0, 0, 0, 0] = np.nan
    with pytest.raises(NonFiniteLossError, match="at step 2 .*last good checkpoint: step 1"):
        train_and_evaluate(_config(4, reid_every=0), tmp_path, ListIterator([SOT[0], bad]),
                           progress=False)
    assert latest_checkpoint_step(tmp_path) == 1


def test_tiny_model_overfits_a_handful_of_pairs(tmp_path):
    steps = 60
    config = _config(steps, reid_every=0)
    # The evaluators declared in the config run at their periods (and after the last step), in
    # name order: the real synthetic tracker on one short video, and a step counter.
    synthetic = config.evals.synthetic
    synthetic.every, synthetic.sequences, synthetic.frames = 40, 1, 3
    config.evals.count = ml_collections.ConfigDict({"type": "count", "every": 25})
    factories = dict(FACTORIES, count=lambda name, settings, _: Evaluator(
        name, settings.every, lambda model, state: {"state_step": int(state.step)}))
    evaluators = build_evaluators(config, factories)
    train_and_evaluate(config, tmp_path, ListIterator(SOT[:2]), evaluators=evaluators,
                       progress=False)
    all_records = [json.loads(line) for line in (tmp_path / "metrics.jsonl").open()]
    evals = [r for r in all_records if r["kind"] == "eval"]
    assert [(r["step"], r["evaluator"]) for r in evals] == [
        (25, "count"), (40, "synthetic"), (50, "count"), (60, "count"), (60, "synthetic")]
    assert all(r["state_step"] == r["step"] for r in evals if r["evaluator"] == "count")
    for r in evals:
        if r["evaluator"] == "synthetic":
            assert set(r) == {"step", "kind", "evaluator", "success_auc", "precision",
                              "norm_precision", "max_gm"}
            assert 0.0 <= r["success_auc"] <= 1.0
    records = [r for r in all_records if r["kind"] == "train"]
    first = np.mean([r["det_loss"] for r in records[:2]])
    last = np.mean([r["det_loss"] for r in records[-2:]])
    assert last < first / 5, (first, last)
