"""Configs for a run: locked after loading, derived values, `get_config(arg)`, evaluators."""

import importlib
import json
import pathlib
import types

import ml_collections
import pytest

from dmtrack_apps import cli
from dmtrack_apps.evaluators import FACTORIES, build_evaluators
from dmtrack_jax.checkpoint_io import read_config
from dmtrack_jax.tracking.tracker import resolve_tracker_config
from dmtrack_jax.config_utils import apply_overrides, load_config_file, resolve_run_config

CONFIGS = pathlib.Path(__file__).resolve().parents[1] / "configs"
NAMES = ("tiny", "dmtrack_dla34", "dmtrack_gs_official")


def _load(name="tiny"):
    return load_config_file(str(CONFIGS / f"{name}.py"))


# ----------------------------------------------------------------------------- locking


def test_loaded_config_is_locked_and_overrides_name_the_field():
    config = _load()
    assert config.is_locked
    with pytest.raises(ValueError, match="unknown config field 'train.eval_every'"):
        apply_overrides(config, ["--config.train.eval_every=10"])
    with pytest.raises(ValueError, match="unknown config field 'evals.synthetic.nope'"):
        apply_overrides(config, ["--config.evals.synthetic.nope=1"])
    with pytest.raises(ValueError, match="train.steps expects int, got str"):
        apply_overrides(config, ["--config.train.steps=many"])
    apply_overrides(config, ["--config.train.steps=7"])
    assert config.train.steps == 7 and config.is_locked


def test_assignment_after_load_refuses_new_fields_and_wrong_types():
    config = _load()
    with pytest.raises(AttributeError, match='"eval_every" does not exist'):
        config.train.eval_every = 10
    with pytest.raises(AttributeError, match='"extra" does not exist'):
        config.evals.extra = ml_collections.ConfigDict({"type": "synthetic_tracking"})
    with pytest.raises(TypeError, match="'steps'"):
        config.train.steps = "many"
    with pytest.raises(TypeError, match="'batch_size'"):
        config.train.batch_size = 2.5
    config.train.steps = 9  # an existing field with its type is fine
    assert config.train.steps == 9


def test_config_read_back_from_a_workdir_is_locked(tmp_path):
    config = _load()
    (tmp_path / "config.json").write_text(config.to_json_best_effort())
    back = read_config(tmp_path / "config.json")
    assert back.is_locked and back.tracker.input_size == (128, 160)
    with pytest.raises(AttributeError, match='"nope" does not exist'):
        back.model.nope = 1
    # A config written before the tracker section existed is read as saved (locked); the
    # tracker constructors fill the defaults into a copy.
    old = json.loads(config.to_json_best_effort())
    del old["tracker"]
    (tmp_path / "config.json").write_text(json.dumps(old))
    back = read_config(tmp_path / "config.json")
    assert back.is_locked and "tracker" not in back
    resolved = resolve_tracker_config(back)
    assert resolved.tracker.selection_mode == "reid" and "tracker" not in back


# ----------------------------------------------------------------------------- derived values


@pytest.mark.parametrize("name", NAMES)
def test_derived_fields_follow_their_source_unless_overridden(name):
    config = _load(name)
    assert config.train.reid_batch_size == config.train.batch_size
    assert config.evals.synthetic.image_size == config.data.sources.synthetic.size
    assert config.evals.synthetic.batch_size == config.evals.synthetic.sequences
    apply_overrides(config, ["--config.train.batch_size=6",
                             "--config.data.sources.synthetic.size=(64,96)",
                             "--config.evals.synthetic.sequences=3"])
    assert config.train.reid_batch_size == 6
    assert config.evals.synthetic.image_size == (64, 96)
    assert config.evals.synthetic.batch_size == 3
    apply_overrides(config, ["--config.train.reid_batch_size=2"])  # cuts the link, one way
    assert (config.train.batch_size, config.train.reid_batch_size) == (6, 2)


def test_run_config_is_a_new_object_and_the_users_is_unchanged():
    config = _load()
    apply_overrides(config, ["--config.train.batch_size=8"])
    before = config.to_dict()
    run = resolve_run_config(config, process_count=2, num_identities=7)
    assert run is not config and run.is_locked
    # Resolved: per-process batch sizes, num_ids 0 ("auto") from the identity data.
    assert (run.data.batch_size, run.data.reid_batch_size, run.loss.num_ids) == (4, 4, 7)
    assert run.train.batch_size == run.train.reid_batch_size == 8
    # The user's object: unchanged, references intact, still locked.
    assert config.to_dict() == before
    assert (config.data.batch_size, config.data.reid_batch_size, config.loss.num_ids) == (2, 2, 0)
    assert config.is_locked
    config.train.batch_size = 12
    assert config.train.reid_batch_size == 12 and run.train.reid_batch_size == 8
    assert resolve_run_config(config, 1, num_identities=1).loss.num_ids == 3  # at least 3


def test_run_config_errors_and_what_it_leaves_alone():
    config = _load()
    with pytest.raises(ValueError, match="train.batch_size=4 is not divisible by 3 processes"):
        resolve_run_config(config, process_count=3)
    apply_overrides(config, ["--config.loss.num_ids=5"])
    with pytest.raises(ValueError, match="loss.num_ids=5 but the identity data has 9"):
        resolve_run_config(config, 1, num_identities=9)
    assert resolve_run_config(config, 1, num_identities=4).loss.num_ids == 5
    apply_overrides(config, ["--config.loss.num_ids=0", "--config.train.reid_every=0"])
    assert resolve_run_config(config, 1, num_identities=9).loss.num_ids == 0  # no re-id batches


def test_train_command_hands_the_resolved_config_to_the_loop(tmp_path, monkeypatch):
    from dmtrack_jax.train import loop

    seen = {}

    def fake_train_and_evaluate(config, workdir, sot, reid, evaluators, progress=True):
        seen.update(config=config, sot=sot, reid=reid, evaluators=evaluators)
        return types.SimpleNamespace(step=config.train.steps)

    monkeypatch.setattr(loop, "train_and_evaluate", fake_train_and_evaluate)
    assert cli.main(["train", "--config", str(CONFIGS / "tiny.py"), "--workdir", str(tmp_path),
                     "--no-progress", "--config.train.batch_size=2",
                     "--config.data.sources.synthetic.sequences=2",
                     "--config.evals.synthetic.every=30"]) == 0
    run = seen["config"]
    assert run.is_locked and run.loss.num_ids >= 3 and run.data.batch_size == 2
    assert next(seen["sot"])["search_image"].shape[0] == 2
    assert next(seen["reid"])["ids"].max() < run.loss.num_ids
    assert [(e.name, e.every) for e in seen["evaluators"]] == [("synthetic", 30)]


# ----------------------------------------------------------------------------- get_config(arg)


@pytest.mark.parametrize("name", NAMES)
def test_get_config_takes_no_argument(name):
    module = importlib.import_module(f"configs.{name}")
    assert module.get_config().name == name
    with pytest.raises(ValueError, match=rf"configs/{name}\.py takes no argument \(got 'x'\)"):
        module.get_config("x")
    with pytest.raises(ValueError, match=rf"configs/{name}\.py takes no argument"):
        load_config_file(str(CONFIGS / f"{name}.py:x"))


# ----------------------------------------------------------------------------- evaluators


@pytest.mark.parametrize("name", NAMES)
def test_every_config_declares_the_synthetic_evaluator(name):
    config = _load(name)
    assert not any(k.startswith("eval_") for k in config.train)
    settings = config.evals.synthetic
    assert settings.type == "synthetic_tracking" and settings.every > 0
    assert settings.sequences >= 1 and settings.frames >= 2 and settings.seed == 10_000
    evaluators = build_evaluators(config)
    assert [(e.name, e.every) for e in evaluators] == [("synthetic", settings.every)]
    apply_overrides(config, ["--config.evals.synthetic.every=0"])
    assert build_evaluators(config) == []


def test_evaluator_declarations_are_checked():
    bad_type = ml_collections.ConfigDict({"evals": {"x": {"type": "nope", "every": 1}}})
    with pytest.raises(ValueError, match=r"evals.x.type='nope' is not an evaluator type"):
        build_evaluators(bad_type)
    no_every = ml_collections.ConfigDict({"evals": {"x": {"type": "synthetic_tracking"}}})
    with pytest.raises(ValueError, match="evals.x needs 'type' and 'every'"):
        build_evaluators(no_every)
    config = _load()
    apply_overrides(config, ["--config.evals.synthetic.frames=1"])
    with pytest.raises(ValueError, match="evals.synthetic: needs sequences >= 1 and frames >= 2"):
        build_evaluators(config)
    assert set(FACTORIES) == {"synthetic_tracking"}
