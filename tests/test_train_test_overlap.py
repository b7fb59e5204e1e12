"""`dmtrack train` refuses a training source that overlaps the test data of a benchmark named in
`config.eval_benchmarks` (LaSOT test names, GOT-10k val/test, TrackingNet TEST), naming the
override `--config.data.allow_test_overlap=True`, which lets it through; the default configs
(synthetic data, no eval_benchmarks) are unaffected."""

from __future__ import annotations

import dataclasses
import pathlib
import types

import pytest

from data_pipelines import loader, synthetic, writers
from dmtrack_apps import cli
from dmtrack_apps.train import OVERRIDE, eval_benchmarks, find_test_overlap
from dmtrack_jax.config_utils import apply_overrides, load_config_file

TINY = str(pathlib.Path(__file__).resolve().parents[1] / "configs" / "tiny.py")


@pytest.fixture(scope="module")
def videos():
    return list(synthetic.iter_dataset(2, 10, 7, image_size=(128, 160), num_distractors=1))


@pytest.fixture(scope="module")
def lasot_root(tmp_path_factory, videos):
    """airplane-1 (an official test sequence) and airplane-2 (a training one)."""
    root = tmp_path_factory.mktemp("lasot")
    writers.write_lasot(str(root), [dataclasses.replace(v, object_class="airplane")
                                    for v in videos])
    return root


def _train(tmp_path, monkeypatch, *overrides):
    from dmtrack_jax.train import loop

    seen = {}

    def fake_train_and_evaluate(config, workdir, sot, reid, evaluators, progress=True):
        seen["config"] = config
        return types.SimpleNamespace(step=config.train.steps)

    monkeypatch.setattr(loop, "train_and_evaluate", fake_train_and_evaluate)
    rc = cli.main(["train", "--config", TINY, "--workdir", str(tmp_path / "w"), "--no-progress",
                   "--config.train.batch_size=2", "--config.data.sources.synthetic.sequences=2",
                   *overrides])
    return rc, seen


def _lasot(root, *more):
    return (f"--config.data.sources.lasot.root={root}", "--config.data.sources.lasot.weight=1.0",
            *more)


def test_lasot_test_sequences_with_lasot_benchmark_are_refused(tmp_path, monkeypatch, capsys,
                                                               lasot_root):
    rc, seen = _train(tmp_path, monkeypatch, *_lasot(lasot_root,
                      "--config.data.sources.lasot.split=all", "--config.eval_benchmarks=lasot"))
    err = capsys.readouterr().err
    assert rc != 0 and not seen
    assert OVERRIDE in err and "airplane-1" in err and "lasot benchmark's test split" in err
    assert "airplane-2" not in err


def test_the_override_lets_it_through(tmp_path, monkeypatch, capsys, lasot_root):
    rc, seen = _train(tmp_path, monkeypatch, *_lasot(
        lasot_root, "--config.data.sources.lasot.split=all", "--config.eval_benchmarks=lasot",
        "--config.data.allow_test_overlap=True"))
    assert rc == 0 and seen["config"].data.allow_test_overlap
    assert "warning: training on test data" in capsys.readouterr().err


def test_official_training_split_or_no_benchmark_passes(tmp_path, monkeypatch, lasot_root):
    # Default split "train": airplane-1 is not read, so naming the benchmark is fine.
    rc, seen = _train(tmp_path, monkeypatch, *_lasot(lasot_root, "--config.eval_benchmarks=lasot"))
    assert rc == 0
    # Every sequence, but no LaSOT evaluation named: nothing to protect.
    rc, seen = _train(tmp_path, monkeypatch,
                      *_lasot(lasot_root, "--config.data.sources.lasot.split=all"))
    assert rc == 0


def test_default_tiny_config_is_unaffected(tmp_path, monkeypatch):
    config = load_config_file(TINY)
    assert tuple(config.eval_benchmarks) == () and eval_benchmarks(config) == ()
    assert find_test_overlap(config, loader.build_sources(config.data)[0]) == []
    rc, seen = _train(tmp_path, monkeypatch, "--config.evals.synthetic.every=0")
    assert rc == 0 and "config" in seen


def _overlap(*overrides):
    config = apply_overrides(load_config_file(TINY), list(overrides))
    return find_test_overlap(config, loader.build_sources(config.data)[0])


def test_got10k_val_and_trackingnet_test_overlap(tmp_path, videos):
    writers.write_got10k(str(tmp_path / "got10k"), videos[:1], split="train")
    writers.write_got10k(str(tmp_path / "got10k"), videos[1:], split="val")
    got = (f"--config.data.sources.got10k.root={tmp_path / 'got10k'}",
           "--config.data.sources.got10k.weight=1.0", "--config.eval_benchmarks=got10k")
    assert _overlap(*got) == []  # default split: train
    (line,) = _overlap(*got, "--config.data.sources.got10k.split=train,val")
    assert "1 sequence(s) of the got10k benchmark's val/test splits" in line
    assert "GOT-10k_Val_000001" in line
    # Same video names in TRAIN_0 and TEST (as the synthetic writer makes them): by chunk.
    writers.write_trackingnet(str(tmp_path / "tn"), videos, chunk="TRAIN_0")
    writers.write_trackingnet(str(tmp_path / "tn"), videos[:1], chunk="TEST")
    tn = (f"--config.data.sources.trackingnet.root={tmp_path / 'tn'}",
          "--config.data.sources.trackingnet.weight=1.0",
          "--config.eval_benchmarks=lasot,trackingnet")
    assert _overlap(*tn) == []  # default split: TRAIN
    (line,) = _overlap(*tn, "--config.data.sources.trackingnet.split=all")
    assert "holds 1 sequence(s) of the trackingnet benchmark's TEST split" in line


def test_unknown_benchmark_is_an_error():
    config = apply_overrides(load_config_file(TINY), ["--config.eval_benchmarks=lasott"])
    with pytest.raises(ValueError, match="unknown benchmark.*lasott"):
        eval_benchmarks(config)
