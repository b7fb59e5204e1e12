"""One parity case: a random PyTorch reference, its state dict converted, both run on the same
images and boxes. Shared by the official-width and narrow-width tests."""

from __future__ import annotations

import dataclasses

import jax
import jax.numpy as jnp
import numpy as np
import torch

from dmtrack_jax.convert import convert_state_dict
from dmtrack_jax.models import build_model


@dataclasses.dataclass
class ParityCase:
    reference: object  # the torch model
    state_dict: dict  # {released name: numpy array}
    variables: dict  # converted
    report: object
    config: object
    images: np.ndarray  # (B, H, W, 3)
    boxes: np.ndarray  # (B, T, 4)
    torch_out: dict  # trunk, pyramid, fpn (lists of NCHW), kernels, head
    jax_out: dict


def reference_for(torch_ref, model_config, seed: int, image_hw, calibration_seed: int = 99):
    m = model_config
    reference = torch_ref.DMTrackGS(
        levels=tuple(m.dla_levels), channels=tuple(m.dla_channels), fpn_channels=m.fpn_channels,
        head_channels=m.head_channels, encoder_channels=m.encoder_channels,
        num_convs=m.num_convs, gn_groups=m.gn_groups, num_classes=m.num_classes,
        strides=tuple(m.strides), roi_size=m.roi_size, sampling_ratio=m.roi_sampling_ratio,
        finest_scale=m.finest_scale)
    generator = torch.Generator().manual_seed(calibration_seed)
    calibration = torch.randn((1, 3) + tuple(image_hw), generator=generator)
    return torch_ref.randomize_(reference, seed, calibration)


def _jax_everything(model, variables, images, boxes):
    def everything(m, x, b):
        trunk, pyramid = m.backbone(x, False)
        kernels = m.encode_template(x, b)
        return {"trunk": trunk, "pyramid": pyramid, "fpn": m.neck(pyramid),
                "kernels": kernels, "head": m.detect(x, kernels)}

    run = jax.jit(lambda v, x, b: model.apply(v, x, b, method=everything))
    return jax.device_get(run(variables, jnp.asarray(images), jnp.asarray(boxes)))


def run_case(torch_ref, config, image_hw, boxes, num_images: int = 1, seed: int = 0,
             image_seed: int = 1) -> ParityCase:
    """Builds, converts and runs both models; templates come from the search images."""
    reference = reference_for(torch_ref, config.model, seed, image_hw)
    state_dict = torch_ref.numpy_state_dict(reference)
    variables, report = convert_state_dict(state_dict, config)
    generator = torch.Generator().manual_seed(image_seed)
    images = torch.randn((num_images, 3) + tuple(image_hw), generator=generator)
    boxes = np.asarray(boxes, np.float32)
    with torch.no_grad():
        trunk, pyramid, fpn = reference.features(images)
        kernels = reference.encode_template(images, boxes.tolist())
        head = reference.detect(images, kernels)
    torch_out = {"trunk": trunk, "pyramid": pyramid, "fpn": fpn, "kernels": kernels,
                 "head": head}
    images_nhwc = np.ascontiguousarray(images.numpy().transpose(0, 2, 3, 1))
    jax_out = _jax_everything(build_model(config.model), variables, images_nhwc, boxes)
    return ParityCase(reference, state_dict, variables, report, config, images_nhwc, boxes,
                      torch_out, jax_out)
