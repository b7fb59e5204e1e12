"""A broken checkpoint is one line naming the file and what is wrong; what a checkpoint was
trained on is read from its config."""

import json
import shutil

import ml_collections
import pytest

from data_pipelines.writers import write_dataset
from dmtrack_apps.cli import main
from dmtrack_apps.demo import DEFAULT_CHECKPOINT
from dmtrack_jax.checkpoint_io import (read_inference_config, trained_only_on_synthetic,
                                       training_sources)

pytestmark = pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "config.json").exists(),
                                reason="the shipped checkpoint checkpoints/tiny is missing")


def _broken(tmp_path, how):
    target = tmp_path / how
    shutil.copytree(DEFAULT_CHECKPOINT, target)
    if how == "corrupt_config":
        (target / "config.json").write_text('{"model": ')
    elif how == "not_a_config":
        (target / "config.json").write_text('[1, 2]')
    elif how == "no_variables":
        shutil.rmtree(target / "variables")
    elif how == "empty_variables":
        shutil.rmtree(target / "variables")
        (target / "variables").mkdir()
    elif how == "damaged_variables":
        for chunk in (target / "variables").rglob("d"):
            shutil.rmtree(chunk)
    elif how == "other_model":
        config = json.loads((target / "config.json").read_text())
        config["model"]["head_channels"] = 16
        (target / "config.json").write_text(json.dumps(config))
    return target


@pytest.mark.parametrize("how, message", [
    ("corrupt_config", "{ckpt}/config.json: corrupt config, not valid JSON"),
    ("not_a_config", "{ckpt}/config.json: not a model config"),
    ("no_variables", "{ckpt}/variables is missing"),
    ("empty_variables", "{ckpt}/variables: empty (the checkpoint's weights are missing)"),
    ("damaged_variables", "{ckpt}/variables: cannot restore the weights"),
    ("other_model", "--checkpoint {ckpt}: its variables do not fit the model its config.json"),
])
def test_a_broken_checkpoint_is_one_line_naming_the_file(tmp_path, capsys, monkeypatch, how,
                                                         message):
    monkeypatch.delenv("DMTRACK_DEBUG", raising=False)
    [sequence_dir] = write_dataset(str(tmp_path / "data"), "lasot", 1, 2, seed=1,
                                   image_size=(64, 80))
    first = open(f"{sequence_dir}/groundtruth.txt").readline().strip()
    checkpoint = _broken(tmp_path, how)
    assert main(["track", f"{sequence_dir}/img", "--box", first, "--checkpoint",
                 str(checkpoint), "--out", str(tmp_path / "r")]) == 2
    err = capsys.readouterr().err
    error_lines = [line for line in err.splitlines() if line.startswith("dmtrack track:")]
    assert len(error_lines) == 1 and "Traceback" not in err
    assert message.format(ckpt=checkpoint.absolute() if how != "other_model" else checkpoint) \
        in error_lines[0]


def test_what_a_checkpoint_was_trained_on():
    tiny = read_inference_config(DEFAULT_CHECKPOINT)
    assert training_sources(tiny) == {"imported_from": None, "sources": ["synthetic"]}
    assert trained_only_on_synthetic(tiny)
    mixed = ml_collections.ConfigDict(tiny.to_dict())
    mixed.data.sources.lasot.weight = 1.0
    assert training_sources(mixed)["sources"] == ["lasot", "synthetic"]
    assert not trained_only_on_synthetic(mixed)
    converted = ml_collections.ConfigDict(tiny.to_dict())
    converted.imported_from = "dmtrack_gs.pth (released weights, trained on real videos)"
    assert not trained_only_on_synthetic(converted)
    old_conversion = ml_collections.ConfigDict(tiny.to_dict())
    old_conversion.name = "dmtrack_gs_official"
    assert training_sources(old_conversion)["imported_from"] == "the released DMTrack-GS weights"
