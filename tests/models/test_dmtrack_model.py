"""The assembled network: per-target vmapping, parameter counts, jitted runs, bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import dmtrack_dla34, dmtrack_gs_official, tiny
from dmtrack_jax.models import build_model, count_params, init_variables
from dmtrack_jax.models.head import DynamicFCOSHead

# Parameter counts of the released DMTrack-GS, read off its state dict (every name and shape).
RELEASED = {
    "controller": 34_211_840,  # cls1/reg1 256->65536, cls2/reg2 256->1024, weights + biases
    "backbone": 18_309_714,  # without the unused final ida_up (1,440,364) and base.fc (513,000)
    "neck": 2_000_384,
    "head": 4_724_714,  # cls/reg towers 2 x 2,361,344 + fcos outputs 2,023 + 3 scales
    "template": 197_376,
    "cond_modulator": 16_448,
    "total_used": 59_460_476,
}


def _boxes(rng, batch, targets, hw):
    h, w = hw
    xy = rng.uniform(0, 0.6, size=(batch, targets, 2)) * np.array([w, h])
    wh = rng.uniform(0.15, 0.4, size=(batch, targets, 2)) * np.array([w, h])
    return np.concatenate([xy, xy + wh], -1).astype(np.float32)


def _param_shapes(module):
    model = build_model(module.get_config().model)
    return jax.eval_shape(lambda r: init_variables(model, r, (64, 64)), jax.random.PRNGKey(0))


def test_parameter_counts_match_the_released_model():
    params = _param_shapes(dmtrack_gs_official)["params"]
    head = dict(params["bbox_head"])
    cond_modulator = head.pop("cond_modulator")
    assert count_params(params["controller"]) == RELEASED["controller"]
    assert count_params(params["backbone"]) == RELEASED["backbone"]
    assert count_params(params["neck"]) == RELEASED["neck"]
    assert count_params(head) == RELEASED["head"]
    assert count_params(params["template"]) == RELEASED["template"]
    assert count_params(cond_modulator) == RELEASED["cond_modulator"]
    assert count_params(params) == RELEASED["total_used"]
    assert "reid_head" not in params
    # Exact shapes of a few released tensors (PyTorch OIHW -> our HWIO / Dense layout).
    assert params["controller"]["controller_cls1"]["kernel"].shape == (256, 65536)
    assert params["controller"]["controller_reg2"]["kernel"].shape == (256, 1024)
    dcn = params["backbone"]["dla_up"]["ida_0"]["proj_1"]["conv"]
    assert dcn["kernel"].shape == (3, 3, 512, 256)
    assert dcn["conv_offset"]["kernel"].shape == (3, 3, 512, 27)
    assert params["backbone"]["base"]["level5"]["root"]["conv"]["kernel"].shape == (1, 1, 1280, 512)
    assert params["backbone"]["dla_up"]["ida_1"]["up_2"]["kernel"].shape == (4, 4, 1, 128)


def test_paper_config_adds_a_128d_reid_head():
    params = _param_shapes(dmtrack_dla34)["params"]
    # One 3x3 conv on the 64-channel stride-4 features: 3*3*64*128 + 128.
    assert count_params(params["reid_head"]) == 3 * 3 * 64 * 128 + 128
    assert count_params(params) == RELEASED["total_used"] + 73_856


@pytest.mark.parametrize("correlation,layers,expected", [
    # DC at layers 1..6: five 256x256 kernels and one 32x32 kernel per branch.
    ("dc", (1, 2, 3, 4, 5, 6), 2 * (5 * (256 * 65536 + 65536) + 256 * 1024 + 1024)),
    ("hp", (1, 6), 2 * (256 * 256 + 256 + 256 * 32 + 32)),
    ("dw", (1, 6), 2 * (256 * 256 + 256 + 256 * 32 + 32)),
    ("cc", (6,), 2 * (256 * 1024 + 1024)),
])
def test_ablation_controllers_have_the_expected_sizes(correlation, layers, expected):
    config = dmtrack_dla34.get_config()
    config.model.correlation = correlation
    config.model.integration_layers = layers
    model = build_model(config.model)
    shapes = jax.eval_shape(lambda r: init_variables(model, r, (64, 64)), jax.random.PRNGKey(0))
    assert count_params(shapes["params"]["controller"]) == expected


def test_invalid_ablation_configs_are_refused():
    config = tiny.get_config()
    config.model.integration_layers = (0, 6)
    with pytest.raises(ValueError, match="subset of 1..6"):
        build_model(config.model)
    config.model.integration_layers = (1, 6)
    config.model.correlation = "xcorr"
    with pytest.raises(ValueError, match="correlation"):
        build_model(config.model)


def test_conv_algorithm_is_validated_and_defaults_for_old_configs():
    config = tiny.get_config()
    config.model.conv_algorithm = "fft"
    with pytest.raises(ValueError, match="model.conv_algorithm"):
        build_model(config.model)
    del config.model["conv_algorithm"]  # a config saved before the field existed
    assert build_model(config.model).conv_algorithm == "auto"


def test_head_gives_the_same_outputs_with_winograd_and_direct_tower_convs():
    rng = np.random.default_rng(5)
    features = [jnp.asarray(rng.normal(size=(h, w, 64)), jnp.float32)
                for h, w in ((9, 12), (5, 6), (3, 3))]
    kernels = {f"{b}{n}": jnp.asarray(rng.normal(size=(3,) + ((64, 64) if n == 1 else (8, 8)))
                                      * 0.2, jnp.float32)
               for b in ("cls", "reg") for n in (1, 2)}
    outputs = {}
    for algorithm in ("direct", "winograd"):
        head = DynamicFCOSHead(head_channels=64, encoder_channels=8, gn_groups=8,
                               conv_algorithm=algorithm)
        variables = head.init(jax.random.PRNGKey(0), features, kernels)
        outputs[algorithm] = (variables, head.apply(variables, features, kernels))
    # Same parameter tree (a checkpoint loads into either), same function.
    assert (jax.tree_util.tree_structure(outputs["direct"][0])
            == jax.tree_util.tree_structure(outputs["winograd"][0]))
    for key in ("cls", "reg", "ctr"):
        for level in range(3):
            want = np.asarray(outputs["direct"][1][key][level])
            got = np.asarray(outputs["winograd"][1][key][level])
            np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_whole_network_is_the_same_function_with_winograd_convs(tiny_setup):
    """Every 3x3 stride-1 conv (trunk BasicBlocks, FPN outputs with their bias, head towers)
    computed by Winograd gives the direct network's outputs from the same variables."""
    _, model, variables = tiny_setup
    config = tiny.get_config()
    config.model.conv_algorithm = "winograd"
    winograd_model = build_model(config.model)
    h, w = config.tracker.input_size
    rng = np.random.default_rng(6)
    images = jnp.asarray(rng.normal(size=(1, h, w, 3)), jnp.float32)
    boxes = jnp.asarray(_boxes(rng, 1, 2, (h, w)))
    # Same parameter tree: a checkpoint made with one algorithm loads into the other.
    shapes = jax.eval_shape(lambda r: init_variables(winograd_model, r, (64, 64)),
                            jax.random.PRNGKey(0))
    assert jax.tree_util.tree_structure(shapes) == jax.tree_util.tree_structure(variables)

    def run(m):
        return jax.jit(lambda v, x, b: m.apply(v, x, m.apply(v, x, b, method=m.encode_template),
                                               method=m.detect))(variables, images, boxes)

    want, got = run(model), run(winograd_model)
    for key in ("cls", "reg", "ctr"):
        for level in range(3):
            a, b = np.asarray(want[key][level]), np.asarray(got[key][level])
            np.testing.assert_allclose(b, a, rtol=1e-4, atol=1e-4 * np.abs(a).max(),
                                       err_msg=f"{key} level {level}")


@pytest.fixture(scope="module")
def jitted(tiny_setup):
    _, model, _ = tiny_setup
    encode = jax.jit(lambda v, img, b, valid: model.apply(v, img, b, valid,
                                                          method=model.encode_template))
    detect = jax.jit(lambda v, img, k: model.apply(v, img, k, method=model.detect))
    return encode, detect


def test_vmapped_head_equals_a_python_loop_over_targets(tiny_setup, jitted):
    config, model, variables = tiny_setup
    encode, detect = jitted
    h, w = config.tracker.input_size
    rng = np.random.default_rng(0)
    images = jnp.asarray(rng.normal(size=(2, h, w, 3)), jnp.float32)
    boxes = jnp.asarray(_boxes(rng, 2, 3, (h, w)))
    kernels = encode(variables, images, boxes, jnp.ones((2, 3), bool))
    batched = detect(variables, images, kernels)

    features = model.apply(variables, images, method=lambda m, x: m._features(x, False)[1])
    m = model
    head = DynamicFCOSHead(m.correlation, m.integration_layers, m.head_channels,
                           m.encoder_channels, m.num_convs, m.gn_groups, m.num_classes,
                           len(m.strides))
    head_params = {"params": variables["params"]["bbox_head"]}
    for b in range(2):
        for t in range(3):
            one = head.apply(head_params, [f[b] for f in features],
                             {k: v[b, t] for k, v in kernels.items()})
            for key in ("cls", "reg", "ctr"):
                for level in range(3):
                    np.testing.assert_allclose(
                        np.asarray(batched[key][level][b, t]), np.asarray(one[key][level]),
                        rtol=2e-5, atol=2e-5, err_msg=f"{key} level {level} image {b} target {t}")
    # Different targets really give different outputs (the head is target-conditioned).
    assert not np.allclose(np.asarray(batched["cls"][0][0, 0]), np.asarray(batched["cls"][0][0, 1]))


@pytest.mark.parametrize("targets", [1, 8])
def test_tiny_config_runs_jitted_with_finite_outputs(tiny_setup, targets):
    config, model, variables = tiny_setup
    h, w = config.tracker.input_size
    rng = np.random.default_rng(targets)
    forward = jax.jit(lambda v, ti, tb, si, valid: model.apply(v, ti, tb, si, valid,
                                                               with_embeddings=True))
    valid = np.ones((2, targets), bool)
    valid[1, -1] = targets == 1  # a padded (invalid) target in the 8-target batch
    out = forward(variables, jnp.asarray(rng.normal(size=(2, h, w, 3)), jnp.float32),
                  jnp.asarray(_boxes(rng, 2, targets, (h, w))),
                  jnp.asarray(rng.normal(size=(2, h, w, 3)), jnp.float32), jnp.asarray(valid))
    for level, stride in enumerate((8, 16, 32)):
        assert out["cls"][level].shape == (2, targets, h // stride, w // stride, 2)
        assert out["reg"][level].shape == (2, targets, h // stride, w // stride, 4)
        assert out["ctr"][level].shape == (2, targets, h // stride, w // stride, 1)
        assert float(out["reg"][level].min()) >= 0.0  # ReLU(scale * x)
    assert out["embeddings"].shape == (2, h // 4, w // 4, config.model.reid_dim)
    for leaf in jax.tree_util.tree_leaves(out):
        assert np.isfinite(np.asarray(leaf)).all()
    norms = np.linalg.norm(np.asarray(out["embeddings"]), axis=-1)
    np.testing.assert_allclose(norms, 1.0, rtol=1e-5)
    # At init the cls logits sit near the focal prior log(0.01 / 0.99).
    assert abs(float(np.median(np.asarray(out["cls"][0]))) - np.log(0.01 / 0.99)) < 0.5


@pytest.mark.parametrize("box,message", [
    ([10.0, 10.0, 10.0, 40.0], "zero or negative size"),
    ([30.0, 10.0, 20.0, 40.0], "zero or negative size"),
    ([float("nan"), 10.0, 20.0, 40.0], "NaN"),
    ([500.0, 10.0, 540.0, 40.0], "entirely outside"),
    ([-50.0, -40.0, -10.0, -5.0], "entirely outside"),
])
def test_bad_template_boxes_raise_value_error_naming_the_box(tiny_setup, box, message):
    config, model, variables = tiny_setup
    h, w = config.tracker.input_size
    boxes = np.array([[[5.0, 5.0, 40.0, 40.0], box]], np.float32)
    with pytest.raises(ValueError, match=message) as err:
        model.apply(variables, jnp.zeros((1, h, w, 3)), jnp.asarray(boxes),
                    method=model.encode_template)
    assert "index (0, 1)" in str(err.value)
    # A padded slot marked invalid is not checked.
    valid = jnp.asarray([[True, False]])
    from dmtrack_jax.ops.boxes import check_template_boxes
    check_template_boxes(boxes, (h, w), valid)


def test_one_pass_encode_and_embed_equals_the_two_entry_points(tiny_setup):
    """Tracking's frame 1 runs the backbone once for both the kernels and the embeddings."""
    _, model, variables = tiny_setup
    images = jax.random.normal(jax.random.PRNGKey(7), (2, 64, 96, 3))
    boxes = jnp.asarray([[[4.0, 5.0, 30.0, 40.0]], [[10.0, 8.0, 50.0, 33.0]]])
    kernels, embeddings = model.apply(variables, images, boxes,
                                      method=model.encode_template_and_embed)
    separate = model.apply(variables, images, boxes, method=model.encode_template)
    for name in separate:
        np.testing.assert_array_equal(np.asarray(kernels[name]), np.asarray(separate[name]))
    np.testing.assert_array_equal(np.asarray(embeddings),
                                  np.asarray(model.apply(variables, images, method=model.embed)))
