"""Name and layout mapping, hand-worked; and the clear error when torch is missing.

No torch needed: these run everywhere. References: the released names (facts of the released
state dict) and PyTorch's documented layouts (Conv2d weight OIHW; ConvTranspose2d weight
(in, out / groups, kh, kw); a 1x1 conv's output channel n = o * Cin + i after the released
reshape to (Cout, Cin)).
"""

from __future__ import annotations

import os
import sys

import jax
import numpy as np
import pytest

from dmtrack_apps import cli
from dmtrack_jax.convert import mapping, read_state_dict, torch_name, torch_shape


@pytest.mark.parametrize("collection, path, released", [
    ("params", "backbone/base/level3/tree1/root/conv/kernel",
     "backbone.base.level3.tree1.root.conv.weight"),
    ("params", "backbone/base/base_layer/conv/kernel", "backbone.base.base_layer.0.weight"),
    ("params", "backbone/base/base_layer/bn/scale", "backbone.base.base_layer.1.weight"),
    ("batch_stats", "backbone/base/level0_0/bn/mean", "backbone.base.level0.1.running_mean"),
    ("params", "backbone/base/level1_0/conv/kernel", "backbone.base.level1.0.weight"),
    ("params", "backbone/base/level1_1/conv/kernel", "backbone.base.level1.3.weight"),
    ("batch_stats", "backbone/base/level2/project/bn/var",
     "backbone.base.level2.project.1.running_var"),
    ("params", "backbone/base/level5/tree2/bn1/bias", "backbone.base.level5.tree2.bn1.bias"),
    ("params", "backbone/dla_up/ida_0/proj_1/conv/kernel",
     "backbone.dla_up.ida_0.proj_1.conv.weight"),
    ("params", "backbone/dla_up/ida_1/node_2/conv/conv_offset/bias",
     "backbone.dla_up.ida_1.node_2.conv.conv_offset.bias"),
    ("params", "backbone/dla_up/ida_1/node_2/actf/scale",
     "backbone.dla_up.ida_1.node_2.actf.0.weight"),
    ("batch_stats", "backbone/dla_up/ida_0/proj_1/actf/mean",
     "backbone.dla_up.ida_0.proj_1.actf.0.running_mean"),
    ("params", "backbone/dla_up/ida_1/up_2/kernel", "backbone.dla_up.ida_1.up_2.weight"),
    ("params", "neck/lateral_convs_0/kernel", "neck.lateral_convs.0.conv.weight"),
    ("params", "neck/fpn_convs_2/bias", "neck.fpn_convs.2.conv.bias"),
    ("params", "bbox_head/cls_convs_0/conv/kernel", "bbox_head.cls_convs.0.conv.weight"),
    ("params", "bbox_head/reg_convs_3/gn/scale", "bbox_head.reg_convs.3.gn.weight"),
    ("params", "bbox_head/fcos_centerness/bias", "bbox_head.fcos_centerness.bias"),
    ("params", "bbox_head/scales_2/scale", "bbox_head.scales.2.scale"),
    ("params", "bbox_head/cond_modulator/downsampler_cls/kernel",
     "cond_modulator.downsampler_cls.weight"),
    ("params", "template/fpn_modulator_1/bias", "template.fpn_modulator.1.bias"),
    ("params", "controller/controller_reg1/kernel", "controller.controller_reg1.weight"),
])
def test_released_names_of_our_variables(collection, path, released):
    assert torch_name(collection, path.split("/")) == released


def test_released_shapes_of_our_layouts():
    assert torch_shape((3, 3, 512, 256)) == (256, 512, 3, 3)  # HWIO <- OIHW
    assert torch_shape((4, 4, 1, 128)) == (128, 1, 4, 4)  # depthwise transposed conv
    assert torch_shape((256, 65536)) == (65536, 256, 1, 1)  # controller Dense <- 1x1 conv
    assert torch_shape((256,)) == (256,)
    assert torch_shape(()) == ()


def test_layouts_hand_worked():
    """Each converted element lands where PyTorch's layout says it belongs."""
    conv = np.arange(5 * 3 * 3 * 2, dtype=np.float32).reshape(5, 3, 3, 2)  # O, I, H, W
    up = np.arange(4 * 1 * 4 * 4, dtype=np.float32).reshape(4, 1, 4, 4)  # C, 1, kh, kw
    cin, cout = 3, 2
    controller = np.arange(cout * cin * cin, dtype=np.float32).reshape(cout * cin, cin, 1, 1)
    struct = jax.ShapeDtypeStruct
    target = {"params": {
        "neck": {"fpn_convs_0": {"kernel": struct((3, 2, 3, 5), np.float32)}},
        "backbone": {"dla_up": {"ida_0": {"up_1": {"kernel": struct((4, 4, 1, 4), np.float32)}}}},
        "controller": {"controller_cls2": {"kernel": struct((cin, cout * cin), np.float32)}},
    }}
    state = {"neck.fpn_convs.0.conv.weight": conv, "backbone.dla_up.ida_0.up_1.weight": up,
             "controller.controller_cls2.weight": controller}
    variables, report = mapping.convert_tree(state, target)
    kernel = variables["params"]["neck"]["fpn_convs_0"]["kernel"]
    for o, i, h, w in [(0, 0, 0, 0), (4, 2, 1, 0), (3, 1, 2, 1)]:
        assert kernel[h, w, i, o] == conv[o, i, h, w]
    up_kernel = variables["params"]["backbone"]["dla_up"]["ida_0"]["up_1"]["kernel"]
    for c, a, b in [(0, 0, 0), (3, 2, 1), (1, 3, 3)]:
        assert up_kernel[a, b, 0, c] == up[c, 0, a, b]
    dense = variables["params"]["controller"]["controller_cls2"]["kernel"]
    # Our Dense output n for template channel z: sum_z pooled[z] * dense[z, n]; the released
    # conv's output channel n reads weight[n, z]; n = o * Cin + i is kernel element (o, i).
    pooled = np.array([1.0, -2.0, 0.5], np.float32)
    generated = (pooled @ dense).reshape(cout, cin)
    expected = controller[:, :, 0, 0] @ pooled
    np.testing.assert_allclose(generated, expected.reshape(cout, cin))
    assert report.converted == sorted(state)


def test_problems_are_listed_by_name():
    struct = jax.ShapeDtypeStruct
    target = {"params": {"neck": {"fpn_convs_0": {"kernel": struct((3, 3, 2, 4), np.float32),
                                                  "bias": struct((4,), np.float32)}}}}
    state = {"neck.fpn_convs.0.conv.weight": np.zeros((4, 2, 1, 1), np.float32),
             "neck.something_new.weight": np.zeros(3, np.float32),
             "backbone.ida_up.up_1.weight": np.zeros(3, np.float32)}
    with pytest.raises(ValueError) as err:
        mapping.convert_tree(state, target, source="x.pth")
    message = str(err.value)
    assert "x.pth" in message
    assert "neck.fpn_convs.0.conv.weight: expected shape (4, 2, 3, 3), checkpoint has " \
           "(4, 2, 1, 1)" in message
    assert "missing key(s): neck.fpn_convs.0.conv.bias" in message
    assert "neck.something_new.weight" in message
    assert "ida_up" not in message  # known-unused: ignored, not an error


def test_missing_torch_names_the_extra(tmp_path, monkeypatch, capsys):
    checkpoint = tmp_path / "model.pth"
    checkpoint.write_bytes(b"not read")
    monkeypatch.setitem(sys.modules, "torch", None)  # `import torch` now raises ImportError
    with pytest.raises(ImportError, match=r"pip install -e \.\[torch\]"):
        read_state_dict(checkpoint)
    assert cli.main(["convert", str(checkpoint), str(tmp_path / "out")]) == 2
    error = capsys.readouterr().err
    assert "pip install -e .[torch]" in error and len(error.strip().splitlines()) == 1


def test_missing_checkpoint_file_is_named(tmp_path, capsys):
    missing = tmp_path / "nowhere.pth"
    assert cli.main(["convert", str(missing), str(tmp_path / "out")]) == 2
    assert str(missing) in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match="nowhere.pth"):
        read_state_dict(missing)


def test_package_import_does_not_import_torch():
    import subprocess

    code = ("import sys, dmtrack_jax.convert, dmtrack_apps.convert; "
            "print('torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={**os.environ, "JAX_PLATFORMS": "cpu"})
    assert out.stdout.strip() == "False"
