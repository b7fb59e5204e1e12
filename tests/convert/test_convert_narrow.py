"""Import at narrow widths (fast): parity on a batch of two images with boxes that use both
template levels and cross the image border; refusal of bad state dicts; `dmtrack convert`
end to end; and ImageNet DLA-34 initialisation of the trunk.

Reference values: the PyTorch model in torch_reference.py with the same (narrow) widths.
"""

from __future__ import annotations

import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

torch = pytest.importorskip("torch", reason="torch is the optional [torch] extra of "
                                            "dmtrack-jax (pip install -e .[torch])")

from configs import tiny  # noqa: E402
from dmtrack_apps import cli  # noqa: E402
from dmtrack_jax.checkpoint_io import load_exported, load_for_inference  # noqa: E402
from dmtrack_jax.convert import (  # noqa: E402
    convert_state_dict, dla34_from_state_dict, load_dla34_imagenet)
from dmtrack_jax.models import build_model, init_variables  # noqa: E402
from dmtrack_jax.models.dla import DLABase  # noqa: E402
from dmtrack_jax.models.template import Controllers  # noqa: E402

IMAGE_HW = (128, 128)
# Image 0: a level-0 box, and a level-1 box (sqrt(120 * 120) / 56 = 2.1); image 1: a box
# reaching past the right and bottom borders (RoIAlign border rule) and a small one.
BOXES = [[[10.0, 12.0, 60.0, 50.0], [0.0, 0.0, 120.0, 120.0]],
         [[70.5, 60.25, 140.0, 135.0], [30.0, 40.0, 50.0, 70.0]]]

NARROW_CONFIG_FILE = '''
from configs import tiny

def get_config(arg=None):
    config = tiny.get_config(arg)
    config.model.reid_dim = 0
    config.model.controller_padding_quirk = True
    return config
'''


def narrow_config():
    config = tiny.get_config()
    config.model.reid_dim = 0  # the released model has no re-id head
    config.model.controller_padding_quirk = True
    return config


@pytest.fixture(scope="module")
def case(torch_ref, parity_case):
    return parity_case.run_case(torch_ref, narrow_config(), IMAGE_HW, BOXES, num_images=2,
                                seed=3)


def test_narrow_parity_two_images_two_targets(case, assert_parity, to_nhwc):
    assert [case.reference.roi_level(b) for b in BOXES[0]] == [0, 1]
    for key in ("trunk", "pyramid", "fpn"):
        for i, (ours, ref) in enumerate(zip(case.jax_out[key], case.torch_out[key])):
            assert_parity(ours, to_nhwc(ref), f"{key} {i}")
    for name, ref in case.torch_out["kernels"].items():
        assert case.jax_out["kernels"][name].shape[:3] == (2, 2, 3)
        assert_parity(case.jax_out["kernels"][name], ref.numpy(), f"kernel {name}")
    for output in ("cls", "reg", "ctr"):
        for level in range(3):
            assert_parity(case.jax_out["head"][output][level],
                          to_nhwc(case.torch_out["head"][output][level]), f"{output} {level}")


def test_a_wrong_controller_layout_would_be_caught(case, torch_ref, assert_parity):
    """Sensitivity: the controllers read input-channel-major would break parity by far."""
    reference, model_config = case.reference, case.config.model
    with torch.no_grad():  # template features of image 0, box 0 (FPN level 0), per level
        _, _, fpn = reference.features(torch.from_numpy(case.images[:1].transpose(0, 3, 1, 2)))
        roi = torch_ref.roi_align(fpn[0][0], BOXES[0][0], 7, 1.0 / 8, 2)[None]
        template = torch.stack([m(roi)[0] for m in reference.template.fpn_modulator])
    template = template.numpy().transpose(0, 2, 3, 1)  # (L, 7, 7, C)
    controllers = Controllers(integration_layers=(1, 6), head_channels=model_config.head_channels,
                              encoder_channels=model_config.encoder_channels, padding_quirk=True)
    params = jax.tree_util.tree_map(np.asarray, case.variables["params"]["controller"])
    expected = case.torch_out["kernels"]["cls1"][0, 0].numpy()
    kernels = controllers.apply({"params": params}, template)
    assert_parity(kernels["cls1"], expected, "controller cls1 alone")
    c = model_config.head_channels
    kernel = params["controller_cls1"]["kernel"]
    params["controller_cls1"]["kernel"] = kernel.reshape(-1, c, c).transpose(0, 2, 1).reshape(
        kernel.shape)
    swapped = np.asarray(controllers.apply({"params": params}, template)["cls1"])
    assert np.abs(swapped - expected).max() / np.abs(expected).max() > 1e-2


def test_wrong_shape_is_refused_naming_the_key_and_both_shapes(case):
    state = dict(case.state_dict)
    channels = case.config.model.encoder_channels  # fcos_reg reads the encoder's output
    state["bbox_head.fcos_reg.weight"] = np.zeros((4, channels, 1, 1), np.float32)
    with pytest.raises(ValueError) as err:
        convert_state_dict(state, case.config)
    message = str(err.value)
    assert "bbox_head.fcos_reg.weight" in message
    assert f"(4, {channels}, 3, 3)" in message and f"(4, {channels}, 1, 1)" in message


def test_missing_key_is_refused_naming_the_key(case):
    state = dict(case.state_dict)
    del state["backbone.dla_up.ida_1.node_2.actf.0.running_var"]
    with pytest.raises(ValueError, match=r"missing key\(s\): "
                                         r"backbone\.dla_up\.ida_1\.node_2\.actf\.0\.running_var"):
        convert_state_dict(state, case.config)


def test_unknown_key_is_refused_naming_the_key(case):
    state = dict(case.state_dict)
    state["bbox_head.fcos_extra.weight"] = np.zeros((1,), np.float32)
    with pytest.raises(ValueError, match=r"bbox_head\.fcos_extra\.weight"):
        convert_state_dict(state, case.config)


def test_config_without_padding_quirk_is_refused(case):
    config = narrow_config()
    config.model.controller_padding_quirk = False
    with pytest.raises(ValueError, match="controller_padding_quirk"):
        convert_state_dict(case.state_dict, config)


def _save_mmcv_checkpoint(path, state_dict):
    tensors = {name: torch.from_numpy(np.array(value)) for name, value in state_dict.items()}
    torch.save({"meta": {"epoch": 24, "config": "model = dict(...)", "CLASSES": ("target",)},
                "state_dict": tensors}, path)


def test_cli_convert_writes_a_checkpoint_that_tracking_loads(case, tmp_path, capsys):
    checkpoint = tmp_path / "dmtrack_gs.pth"
    _save_mmcv_checkpoint(checkpoint, case.state_dict)
    config_file = tmp_path / "narrow_gs.py"
    config_file.write_text(NARROW_CONFIG_FILE)
    out_dir = tmp_path / "converted"
    assert cli.main(["convert", str(checkpoint), str(out_dir), "--config", str(config_file),
                     "--config.name=narrow_converted"]) == 0
    stdout = capsys.readouterr().out
    assert f"converted {len(case.report.converted)} tensors" in stdout
    assert "commented out" in stdout
    variables, config = load_exported(out_dir)
    assert config.model.controller_padding_quirk is True and config.model.reid_dim == 0
    assert config.name == "narrow_converted"  # --config.a.b=value overrides apply
    assert json.loads((out_dir / "config.json").read_text())["model"]["reid_dim"] == 0
    expected = jax.tree_util.tree_leaves_with_path(case.variables)
    restored = dict(jax.tree_util.tree_leaves_with_path(variables))
    assert len(restored) == len(expected) == len(case.report.converted)
    for path, leaf in expected:
        np.testing.assert_array_equal(np.asarray(restored[path]), np.asarray(leaf))
    # What `dmtrack track --checkpoint OUT_DIR` calls: the same variables come back (the
    # converted variables themselves are checked against the reference above).
    variables, config = load_for_inference(out_dir)
    assert config.model.controller_padding_quirk is True
    restored = dict(jax.tree_util.tree_leaves_with_path(variables))
    for path, leaf in expected:
        np.testing.assert_array_equal(np.asarray(restored[path]), np.asarray(leaf))


def test_cli_reports_bad_checkpoints_in_one_line(case, tmp_path, capsys):
    garbage = tmp_path / "garbage.pth"
    garbage.write_bytes(b"\x00 not a checkpoint")
    assert cli.main(["convert", str(garbage), str(tmp_path / "o1")]) == 2
    error = capsys.readouterr().err
    assert "garbage.pth" in error and len(error.strip().splitlines()) == 1
    wrong = tmp_path / "wrong.pth"
    state = dict(case.state_dict)
    del state["neck.lateral_convs.1.conv.bias"]
    _save_mmcv_checkpoint(wrong, state)
    assert cli.main(["convert", str(wrong), str(tmp_path / "o2")]) == 2  # official widths
    error = capsys.readouterr().err
    assert "neck.lateral_convs.1.conv.bias" in error and "wrong.pth" in error
    assert not (tmp_path / "o2").exists()


def test_dla34_imagenet_initialises_only_the_trunk(case, tmp_path, assert_parity, to_nhwc):
    # The ImageNet checkpoint is DLAMain's own state dict: no `backbone.base.` prefix, plus fc.
    imagenet = tmp_path / "dla34-imagenet.pth"
    torch.save(case.reference.backbone.base.state_dict(), imagenet)
    config = tiny.get_config()  # a training config: with the re-id head
    model = build_model(config.model)
    shapes = jax.eval_shape(lambda rng: init_variables(model, rng, IMAGE_HW),
                            jax.random.PRNGKey(5))
    rng = np.random.default_rng(5)  # stands in for a fresh initialisation (no compile needed)
    fresh = jax.tree_util.tree_map(
        lambda s: rng.standard_normal(s.shape).astype(s.dtype), dict(shapes))
    loaded = load_dla34_imagenet(imagenet, fresh)
    trunk_variables = {c: loaded[c]["backbone"]["base"] for c in ("params", "batch_stats")}
    trunk = DLABase(tuple(config.model.dla_levels), tuple(config.model.dla_channels)).apply(
        trunk_variables, jnp.asarray(case.images))
    for i, (ours, ref) in enumerate(zip(trunk, case.torch_out["trunk"])):
        assert_parity(ours, to_nhwc(ref), f"ImageNet-initialised trunk level{i}")
    for path in (("params", "neck"), ("params", "reid_head"), ("params", "backbone", "dla_up"),
                 ("batch_stats", "backbone", "dla_up")):
        before, after = fresh, loaded
        for key in path:
            before, after = before[key], after[key]
        jax.tree_util.tree_map(np.testing.assert_array_equal, before, after)
    state = {k: v.numpy() for k, v in case.reference.backbone.base.state_dict().items()}
    del state["level5.root.bn.running_mean"]
    state["backbone.base.level0.0.weight"] = state["level0.0.weight"]
    with pytest.raises(ValueError) as err:
        dla34_from_state_dict(state, fresh)
    message = str(err.value)
    assert "missing key(s): level5.root.bn.running_mean" in message
    assert "backbone.base.level0.0.weight" in message
