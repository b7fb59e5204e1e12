"""Evaluators declared in the config (`config.evals`), big_vision style.

`config.evals` maps an evaluator name to its settings: a ConfigDict with `type` (a key of
`FACTORIES`), `every` (run after every that many steps and after the last step; 0: off) and
the type's own settings. `build_evaluators(config)` turns it into the `Evaluator` objects that
`dmtrack_jax.train.loop.train_and_evaluate` runs; the loop never imports this module (it is
the top layer's: the synthetic evaluator needs `eval` and `data_pipelines`).

Types:
  synthetic_tracking: tracks `sequences` held-out synthetic videos of `frames` frames
    (generator seed `seed`, canvas `image_size` (H, W), `batch_size` videos at a time) with the
    current weights and `config.tracker`, and logs success_auc, precision, norm_precision and
    max_gm (LaSOT / OxUvA conventions, eval.synthetic_benchmark).

Disable one from the command line with `--config.evals.NAME.every=0`.
"""

from __future__ import annotations

from typing import Callable, Mapping, Optional

import ml_collections

from dmtrack_jax.train.loop import Evaluator

# (name, settings, whole config) -> Evaluator
Factory = Callable[[str, ml_collections.ConfigDict, ml_collections.ConfigDict], Evaluator]


def synthetic_tracking(name: str, settings: ml_collections.ConfigDict,
                       config: ml_collections.ConfigDict) -> Evaluator:
    """The held-out synthetic tracking benchmark with live weights (see the module docstring)."""
    from dmtrack_apps.synthetic_eval import evaluate_tracker
    from dmtrack_jax.tracking.tracker import BatchedTracker

    sequences, frames = int(settings.sequences), int(settings.frames)
    if sequences < 1 or frames < 2:
        raise ValueError(f"evals.{name}: needs sequences >= 1 and frames >= 2, got "
                         f"sequences={sequences}, frames={frames}")
    image_size = tuple(int(v) for v in settings.image_size)
    seed, batch_size = int(settings.seed), max(int(settings.batch_size), 1)
    tracker_config = config.tracker

    def evaluate(model, state) -> dict:  # `model` is rebuilt from config.model by from_config
        import jax

        variables = jax.device_get({"params": state.params["model"],
                                    "batch_stats": state.batch_stats})
        scores = evaluate_tracker(
            lambda: BatchedTracker.from_config(config, variables),
            sequences, frames, image_size, tracker_config.absent_confidence, seed=seed,
            batch_size=batch_size)
        return {"success_auc": float(scores["success"]), "precision": float(scores["precision"]),
                "norm_precision": float(scores["norm_precision"]),
                "max_gm": float(scores["max_gm"])}

    return Evaluator(name, int(settings.every), evaluate)


FACTORIES: dict[str, Factory] = {"synthetic_tracking": synthetic_tracking}


def build_evaluators(config: ml_collections.ConfigDict,
                     factories: Optional[Mapping[str, Factory]] = None) -> list[Evaluator]:
    """One `Evaluator` per entry of `config.evals` whose `every` > 0, in name order (the order
    ConfigDict lists them; evaluators due at the same step run in this order).

    An entry without `type`/`every` or of an unknown type is a ValueError naming it.
    """
    factories = FACTORIES if factories is None else factories
    evaluators = []
    for name, settings in (config.get("evals") or {}).items():
        kind, every = settings.get("type"), settings.get("every")
        if kind is None or every is None:
            raise ValueError(f"evals.{name} needs 'type' and 'every' (steps; 0 = off)")
        if kind not in factories:
            raise ValueError(f"evals.{name}.type={kind!r} is not an evaluator type; known: "
                             f"{sorted(factories)}")
        if int(every) <= 0:
            continue
        evaluators.append(factories[kind](name, settings, config))
    return evaluators
