"""The training loop: `train_and_evaluate(config, workdir, sot_iterator, ...)`.

Resumes automatically from the newest checkpoint in `workdir` (and says so), checkpoints params,
optimiser state, step, rng and the data iterators' states with an orbax CheckpointManager,
writes metrics as JSON lines with the config beside them (process 0 only), shows a progress bar,
runs the evaluators it is given at their periods, and stops on a non-finite loss naming the
step, with the last good checkpoint left intact.

The loop takes its data iterators and evaluators as arguments: the library never imports
`data_pipelines`, `eval` or `dmtrack_apps` (dmtrack_apps/train.py, the composition root, builds
them from the config). An iterator whose position should survive a restart exposes
`get_state()` / `set_state(state)` (grain iterators do).
"""

from __future__ import annotations

import json
import dataclasses
import logging
import math
import pathlib
import time
from typing import Any, Callable, Iterator, Optional, Sequence

import jax
import numpy as np
import orbax.checkpoint as ocp
from tqdm import tqdm

from dmtrack_jax.checkpoint_io import write_json_atomic
from dmtrack_jax.models import build_model
from dmtrack_jax.train import sharding as shd
from dmtrack_jax.train.optimizer import make_optimizer
from dmtrack_jax.train.step import create_train_state, make_train_steps, to_host_metrics

CHECKPOINT_DIR = "checkpoints"
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"


@dataclasses.dataclass(frozen=True)
class Evaluator:
    """A periodic evaluation: `fn(model, state) -> {metric name: float}`, called on every
    process with the current TrainState after step `every`, `2 * every`, ... and after the last
    step (`every` 0: never). `name` is its key in `config.evals`; process 0 writes each result
    as one metrics.jsonl record `{"step": N, "kind": "eval", "evaluator": name, **metrics}`."""

    name: str
    every: int
    fn: Callable[[Any, Any], dict]

    def due(self, done: int, steps: int) -> bool:
        return self.every > 0 and (done % self.every == 0 or done == steps)


class NonFiniteLossError(RuntimeError):
    """Raised when a step produced a NaN/inf loss; the state was not updated by that step."""


class MetricWriter:
    """JSON lines in the workdir, written by process 0 only."""

    def __init__(self, workdir: pathlib.Path):
        self.path = workdir / METRICS_FILE
        self.enabled = jax.process_index() == 0

    def write(self, step: int, metrics: dict, kind: str = "train") -> None:
        if not self.enabled:
            return
        with open(self.path, "a") as f:
            f.write(json.dumps({"step": step, "kind": kind, **metrics}) + "\n")


def _iterator_state(iterator) -> Any:
    if iterator is None or not hasattr(iterator, "get_state"):
        return None
    state = iterator.get_state()
    return {"bytes": state.decode()} if isinstance(state, bytes) else {"state": state}


def _restore_iterator(iterator, saved) -> None:
    if iterator is None or saved is None or not hasattr(iterator, "set_state"):
        return
    iterator.set_state(saved["bytes"].encode() if "bytes" in saved else saved["state"])


def check_identity_labels(ids, num_ids: int, step: int) -> None:
    """Labels must be -1 (unknown) or in [0, num_ids): out of range would be silently clipped."""
    ids = np.asarray(ids)
    bad = ids[(ids < -1) | (ids >= num_ids)]
    if bad.size:
        raise ValueError(f"identity batch at step {step} has label {int(bad[0])} outside "
                         f"[-1, loss.num_ids={num_ids}); raise loss.num_ids to cover the data")


def abstract_with_shardings(tree, shardings):
    return jax.tree_util.tree_map(
        lambda x, s: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=s), tree, shardings)


def checkpoint_manager(workdir: pathlib.Path, config) -> ocp.CheckpointManager:
    options = ocp.CheckpointManagerOptions(
        max_to_keep=config.train.keep_checkpoints,
        enable_async_checkpointing=config.train.async_checkpointing,
    )
    return ocp.CheckpointManager((workdir / CHECKPOINT_DIR).absolute(), options=options)


def latest_checkpoint_step(workdir) -> Optional[int]:
    path = pathlib.Path(workdir) / CHECKPOINT_DIR
    if not path.is_dir():
        return None
    with ocp.CheckpointManager(path.absolute()) as manager:
        return manager.latest_step()


def init_backbone_from_imagenet(state, shardings, path):
    """Replaces the DLA-34 trunk's params/statistics with the ImageNet checkpoint at `path`."""
    from dmtrack_jax.convert import load_dla34_imagenet  # torch is needed only here

    host = jax.device_get({"params": state.params["model"], "batch_stats": state.batch_stats})
    loaded = load_dla34_imagenet(path, host)
    params = dict(state.params, model=loaded["params"])
    state = state.replace(params=params, batch_stats=loaded["batch_stats"])
    print(f"Initialised the DLA-34 backbone from {path}")
    return jax.device_put(state, shardings)


def train_and_evaluate(
    config,
    workdir,
    sot_iterator: Iterator[dict],
    reid_iterator: Optional[Iterator[dict]] = None,
    evaluators: Sequence[Evaluator] = (),
    progress: bool = True,
):
    """Trains until `config.train.steps` and returns the final TrainState.

    `config` is used as given (nothing is assigned to it): run-time values (per-process batch
    sizes, `loss.num_ids` 0 = auto) must already be resolved, see
    `dmtrack_jax.config_utils.resolve_run_config`. The loop reads `seed`, `model`, `loss`,
    `optim`, `mesh`, `distributed`, `init.dla34_imagenet` and `train.{steps, batch_size,
    reid_batch_size, reid_every, log_every, checkpoint_every, keep_checkpoints,
    async_checkpointing}`.

    Batches. `next(iterator)` returns this process's rows as a dict of numpy arrays (the
    process-local slice of the global batch: `train.batch_size / process_count` rows, resp.
    `train.reid_batch_size / process_count`; the global size must divide over the mesh's data
    axis). Every image of one batch has the same (H, W); H and W may change from batch to
    batch (one compile per shape). Boxes are x1, y1, x2, y2 in pixels of that (H, W) image
    (continuous coordinates, (0, 0) the top-left corner of the top-left pixel); images are RGB
    float32, already normalised as `data_pipelines.augment` does ((pixel - PIXEL_MEAN) /
    PIXEL_STD on the 0..255 scale, zero padding). B = rows, T / N = padded objects per image:
      sot_iterator (SOT pairs, every step but the identity ones):
        template_image (B, H, W, 3) float32, search_image (B, H, W, 3) float32;
        template_boxes (B, T, 4) float32, search_boxes (B, T, 4) float32: row k is the same
          object in both images, row 0 the tracked target; padded rows are zeros;
        box_valid (B, T) bool: True where the object is valid in BOTH images (row 0 must be).
      reid_iterator (identity images, step n is one when `reid_every` > 0 and
        n % reid_every == 0; None: detection only):
        image (B, H, W, 3) float32; boxes (B, N, 4) float32; box_valid (B, N) bool;
        ids (B, N) int32: identity labels in [0, loss.num_ids), -1 for unknown or padding
          (a label outside [-1, num_ids) raises ValueError naming the step).
    Identity batches are used only when the model has a re-id head (`model.reid_dim > 0`) and
    `loss.num_ids > 0`.

    Evaluators: each `Evaluator` runs `fn(model, state)` when `due` (after steps every,
    2 * every, ... and after the last step) on every process, and the returned dict of floats
    is written by process 0 (see `Evaluator`).

    Writes under `workdir` (created): `config.json` (the config as given, JSON, process 0, at
    every start), `metrics.jsonl` (one JSON object per line, appended: `{"step", "kind":
    "train" | "reid" | "eval", ...}`; train/reid records every `log_every` steps and at the
    last step with the loss terms, grad_norm and steps_per_sec), `checkpoints/<step>` (orbax:
    the TrainState and the iterators' `get_state()`, every `checkpoint_every` steps and at the
    last step, the newest `keep_checkpoints` kept).

    Resume: with a checkpoint in `workdir` the newest one is restored (state and iterator
    positions, via `set_state`), "Resuming from step N" is printed and training continues
    from step N + 1 (a run already at `train.steps` returns at once); otherwise the state is
    initialised from `seed` (and `init.dla34_imagenet`, if set).

    Raises: `NonFiniteLossError` on a NaN/inf loss (the state is not updated by that step, the
    last good checkpoint is kept and named); ValueError for an identity label out of range or a
    batch size that does not divide over the mesh; whatever an iterator or evaluator raises
    (pending checkpoint writes are finished first).
    """
    shd.maybe_initialize_distributed(config)
    workdir = pathlib.Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    if jax.process_index() == 0:
        write_json_atomic(workdir / CONFIG_FILE, json.loads(config.to_json_best_effort()))

    num_devices = config.mesh.get("num_devices", 0)
    mesh = shd.make_mesh(config.mesh.model_axis,
                         jax.devices()[:num_devices] if num_devices else None)
    shd.check_batch_divides(config.train.batch_size, mesh)
    if reid_iterator is not None and "reid_batch_size" in config.train:
        shd.check_batch_divides(config.train.reid_batch_size, mesh)
    model = build_model(config.model, for_training=True)  # 'auto' convs: XLA's (see there)
    tx = make_optimizer(config.optim)
    rng = jax.random.PRNGKey(config.seed)
    state, shardings = create_train_state(model, tx, config, mesh, rng)
    sot_step, reid_step = make_train_steps(model, tx, config, mesh, shardings)
    if reid_step is not None and reid_iterator is None and config.train.reid_every > 0:
        logging.warning("no identity batches given: training detection only")

    manager = checkpoint_manager(workdir, config)
    start = manager.latest_step() or 0
    if not start and config.init.get("dla34_imagenet"):
        state = init_backbone_from_imagenet(state, shardings, config.init.dla34_imagenet)
    if start:
        restored = manager.restore(start, args=ocp.args.Composite(
            state=ocp.args.StandardRestore(abstract_with_shardings(state, shardings)),
            data=ocp.args.JsonRestore()))
        state = restored.state
        _restore_iterator(sot_iterator, restored.data.get("sot"))
        _restore_iterator(reid_iterator, restored.data.get("reid"))
        print(f"Resuming from step {start} (checkpoint in {workdir / CHECKPOINT_DIR})")

    writer = MetricWriter(workdir)
    steps = config.train.steps
    reid_every = config.train.reid_every if (reid_step and reid_iterator) else 0
    bar = tqdm(total=steps, initial=start, disable=not progress or jax.process_index() != 0,
               desc="train", unit="step")
    last_time, last_step = time.time(), start

    def save(step_number):
        manager.save(step_number, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state),
            data=ocp.args.JsonSave({"sot": _iterator_state(sot_iterator),
                                    "reid": _iterator_state(reid_iterator)})))

    try:
        for step in range(start, steps):
            is_reid = reid_every > 0 and step % reid_every == reid_every - 1
            local = next(reid_iterator if is_reid else sot_iterator)
            if is_reid:
                check_identity_labels(local["ids"], config.loss.num_ids, step + 1)
            batch = shd.global_batch(mesh, local)
            state, metrics = (reid_step if is_reid else sot_step)(state, batch)
            host = to_host_metrics(metrics)
            if not math.isfinite(host["loss"]):
                manager.wait_until_finished()
                raise NonFiniteLossError(
                    f"non-finite loss ({host['loss']}) at step {step + 1} "
                    f"({'identity' if is_reid else 'SOT pair'} batch); the state was not "
                    f"updated; last good checkpoint: step {manager.latest_step()} in "
                    f"{workdir / CHECKPOINT_DIR}")
            done = step + 1
            if done % config.train.log_every == 0 or done == steps:
                now = time.time()
                host["steps_per_sec"] = (done - last_step) / max(now - last_time, 1e-9)
                last_time, last_step = now, done
                writer.write(done, host, "reid" if is_reid else "train")
                bar.set_postfix(loss=f"{host['loss']:.4f}", sps=f"{host['steps_per_sec']:.2f}")
            bar.update(1)
            if done % config.train.checkpoint_every == 0 or done == steps:
                save(done)
            for evaluator in evaluators:
                if evaluator.due(done, steps):
                    writer.write(done, {"evaluator": evaluator.name,
                                        **evaluator.fn(model, state)}, "eval")
    finally:
        bar.close()
        manager.wait_until_finished()
        manager.close()
    return state
