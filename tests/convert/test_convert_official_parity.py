"""The released architecture at full width: a random PyTorch reference with the released names,
its state dict converted, and both frameworks run on the same 256x256 image and two boxes.

Reference values: the PyTorch model in torch_reference.py (our own torch code of the released
architecture), and the published facts of the released checkpoint (every name and shape,
61,413,840 parameters of which 59,460,476 are used by the forward pass).
"""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("torch", reason="torch is the optional [torch] extra of dmtrack-jax "
                                    "(pip install -e .[torch]); the parity tests need it")

from configs.dmtrack_gs_official import get_config as official_config  # noqa: E402

IMAGE_HW = (256, 256)
# Two targets whose sizes select different FPN levels for the template (mmdet rule,
# finest_scale 56): sqrt(100 * 79.5) = 89 -> level 0; sqrt(160 * 180) = 170 -> level 1.
BOXES = [[[20.0, 30.5, 120.0, 110.0], [40.0, 50.0, 200.0, 230.0]]]


@pytest.fixture(scope="module")
def case(torch_ref, parity_case):
    return parity_case.run_case(torch_ref, official_config(), IMAGE_HW, BOXES)


def test_reference_has_exactly_the_released_names_and_shapes(case, released_names):
    ours = [(name, tuple(value.shape)) for name, value in case.state_dict.items()]
    released = [(name, tuple(shape)) for name, shape, _ in released_names.RELEASED_STATE_DICT]
    assert ours == released
    params = sum(p.numel() for p in case.reference.parameters())
    assert params == released_names.TOTAL_PARAMS == 61_413_840


def test_conversion_fills_every_variable_and_ignores_only_unused_tensors(case, released_names):
    converted_params = sum(int(np.prod(case.state_dict[name].shape))
                           for name in case.report.converted
                           if not name.endswith(("running_mean", "running_var")))
    assert converted_params == released_names.PARAMS_USED_IN_FORWARD
    ignored = case.report.ignored
    ida_up = [n for n in ignored if n.startswith("backbone.ida_up.")]
    assert sum(int(np.prod(case.state_dict[n].shape)) for n in ida_up
               if not n.endswith(("running_mean", "running_var", "num_batches_tracked"))
               ) == released_names.UNUSED_IDA_UP_PARAMS
    assert sorted(n for n in ignored if n.startswith("backbone.base.fc.")) == [
        "backbone.base.fc.bias", "backbone.base.fc.weight"]
    others = set(ignored) - set(ida_up) - {"backbone.base.fc.bias", "backbone.base.fc.weight"}
    assert others and all(n.endswith(".num_batches_tracked") for n in others)
    assert "never" in case.report.summary() or "commented out" in case.report.summary()


def test_template_boxes_use_two_different_fpn_levels(case):
    levels = [case.reference.roi_level(box) for box in BOXES[0]]
    assert levels == [0, 1]


def test_backbone_levels_match(case, assert_parity, to_nhwc):
    for i, (ours, ref) in enumerate(zip(case.jax_out["trunk"], case.torch_out["trunk"])):
        assert_parity(ours, to_nhwc(ref), f"trunk level{i}")
    for i, (ours, ref) in enumerate(zip(case.jax_out["pyramid"], case.torch_out["pyramid"])):
        assert_parity(ours, to_nhwc(ref), f"DLAUp output {i} (stride {8 * 2**i})")


def test_fpn_levels_match(case, assert_parity, to_nhwc):
    assert len(case.jax_out["fpn"]) == 3
    for i, (ours, ref) in enumerate(zip(case.jax_out["fpn"], case.torch_out["fpn"])):
        assert ours.shape == (1, 256 // 8 // 2**i, 256 // 8 // 2**i, 256)
        assert_parity(ours, to_nhwc(ref), f"P{3 + i}")


def test_generated_kernels_match(case, assert_parity):
    expected_shapes = {"cls1": (256, 256), "reg1": (256, 256), "cls2": (32, 32),
                       "reg2": (32, 32)}
    for name, shape in expected_shapes.items():
        ours = case.jax_out["kernels"][name]
        assert ours.shape == (1, 2, 3) + shape
        assert_parity(ours, case.torch_out["kernels"][name].numpy(), f"kernel {name}")


@pytest.mark.parametrize("output", ["cls", "reg", "ctr"])
def test_head_outputs_match_on_every_level(case, assert_parity, to_nhwc, output):
    channels = {"cls": 2, "reg": 4, "ctr": 1}[output]
    for level in range(3):
        ours = case.jax_out["head"][output][level]
        side = 256 // 8 // 2**level
        assert ours.shape == (1, 2, side, side, channels)
        assert_parity(ours, to_nhwc(case.torch_out["head"][output][level]),
                      f"{output} level {level}")
