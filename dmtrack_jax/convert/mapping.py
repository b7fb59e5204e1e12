"""Released PyTorch parameter names <-> our Flax variables, and the layout of each tensor.

The Flax model mirrors the released module names, so every Flax leaf has exactly one released
name, computed here by `torch_name`. Conversion walks OUR variable tree (the authority on what
must be filled), looks up each leaf's released name, checks the shape and transposes:

- conv kernels: PyTorch OIHW -> Flax HWIO. The depthwise transposed convs (`up_N`) store
  (C, 1, k, k) in PyTorch; the same (2, 3, 1, 0) permutation gives our (k, k, 1, C), whose
  `kernel[a, b, 0, c]` is PyTorch's `weight[c, 0, a, b]` (see `layers.DepthwiseUpsample`);
- controllers: released 1x1 convs (N, Cin, 1, 1) -> Dense kernels (Cin, N); output index
  n = o * Cin + i stays as is (output-channel-major, both sides reshape row-major);
- BatchNorm `weight, bias, running_mean, running_var` -> params `scale, bias` and batch_stats
  `mean, var`; GroupNorm `weight, bias` -> `scale, bias`; mmdet `Scale.scale` (0-d) -> `scale`.

Names in the checkpoint that our model has no place for are refused by name, except those
known to be unused by the released forward pass (`IGNORED`).
"""

from __future__ import annotations

import dataclasses
import re
from typing import Callable, Mapping, Sequence

import numpy as np
from flax import traverse_util

# Released names that are present in the checkpoint but never used by the released forward.
IGNORED = (
    ("backbone.ida_up.", "the backbone's final IDAUp is built in DLA.__init__ but its call is "
                         "commented out in DLA.forward (1,440,364 unused parameters)"),
    ("backbone.base.fc.", "DLA-34's ImageNet classifier, added when loading the ImageNet "
                          "weights, never called by the detector"),
)
BN_COUNTER_SUFFIX = ".num_batches_tracked"  # BatchNorm's step counter: no role at inference

_NUMBERED = re.compile(
    r"^(lateral_convs|fpn_convs|cls_convs|reg_convs|fpn_modulator|scales)_(\d+)$")
_CONV_LEVEL = re.compile(r"^level(\d+)_(\d+)$")
_SEQUENTIAL_CONV_BN = ("base_layer", "project")  # nn.Sequential(conv, bn[, relu])


def torch_name(collection: str, path: Sequence[str]) -> str:
    """The released PyTorch name of our leaf `collection/path` (path = Flax module keys).

    E.g. ("params", ["backbone", "base", "level0_0", "bn", "scale"]) ->
    "backbone.base.level0.1.weight".
    """
    modules, leaf = list(path[:-1]), path[-1]
    parts: list[str] = []
    for position, key in enumerate(modules):
        next_key = modules[position + 1] if position + 1 < len(modules) else None
        if position == 0 and key == "bbox_head" and next_key == "cond_modulator":
            continue  # the encoder lives in the head here, at the top level in the release
        if key is None:
            continue  # consumed by the previous key
        level = _CONV_LEVEL.match(key)
        numbered = _NUMBERED.match(key)
        if level:
            # _make_conv_level: Sequential(conv, bn, relu) repeated -> conv 3j, bn 3j + 1.
            conv_index = int(level.group(2))
            offset = 0 if next_key == "conv" else 1
            parts += [f"level{level.group(1)}", str(3 * conv_index + offset)]
            modules[position + 1] = None  # consumed: conv/bn became the Sequential index
            continue
        if key in _SEQUENTIAL_CONV_BN and next_key in ("conv", "bn"):
            parts += [key, "0" if next_key == "conv" else "1"]
            modules[position + 1] = None
            continue
        if key == "actf":
            parts += ["actf", "0"]  # Sequential(BatchNorm, ReLU)
            continue
        if numbered:
            parts += [numbered.group(1), numbered.group(2)]
            if modules[0] == "neck":
                parts.append("conv")  # mmcv ConvModule wraps the conv
            continue
        parts.append(key)
    is_scale_module = len(parts) >= 2 and parts[-2] == "scales"
    leaf_name = {
        "kernel": "weight",
        "bias": "bias",
        "mean": "running_mean",
        "var": "running_var",
        "scale": "scale" if is_scale_module else "weight",
    }.get(leaf)
    if leaf_name is None:
        raise ValueError(f"no released name for leaf {collection}/{'/'.join(path)}")
    return ".".join(parts + [leaf_name])


def torch_shape(flax_shape: Sequence[int]) -> tuple[int, ...]:
    """The shape the released tensor must have for a Flax leaf of `flax_shape`."""
    shape = tuple(int(d) for d in flax_shape)
    if len(shape) == 4:  # HWIO -> OIHW
        return (shape[3], shape[2], shape[0], shape[1])
    if len(shape) == 2:  # Dense (Cin, N) <- 1x1 conv (N, Cin, 1, 1)
        return (shape[1], shape[0], 1, 1)
    return shape


def _convert_leaf(array: np.ndarray, flax_shape: tuple[int, ...]) -> np.ndarray:
    """Released tensor (shape already checked against `torch_shape`) -> our layout."""
    if len(flax_shape) == 2:
        return np.ascontiguousarray(array[:, :, 0, 0].T)
    if len(flax_shape) == 4:
        return np.ascontiguousarray(np.transpose(array, (2, 3, 1, 0)))
    return np.asarray(array).reshape(flax_shape)


@dataclasses.dataclass
class ConversionReport:
    """What a conversion used, and what it skipped and why."""

    converted: list[str]
    ignored: dict[str, str]  # released name -> reason

    def summary(self) -> str:
        lines = [f"converted {len(self.converted)} tensors"]
        reasons: dict[str, int] = {}
        for reason in self.ignored.values():
            reasons[reason] = reasons.get(reason, 0) + 1
        for reason, count in reasons.items():
            lines.append(f"ignored {count} tensors: {reason}")
        return "\n".join(lines)


def ignore_reason(name: str, ignored: Sequence[tuple[str, str]] = IGNORED) -> str | None:
    if name.endswith(BN_COUNTER_SUFFIX):
        return "BatchNorm step counters (num_batches_tracked), unused at inference"
    for prefix, reason in ignored:
        if name.startswith(prefix):
            return reason
    return None


def _list_names(names: Sequence[str], limit: int = 40) -> str:
    shown = ", ".join(sorted(names)[:limit])
    more = len(names) - limit
    return shown + (f", ... and {more} more" if more > 0 else "")


def convert_tree(
    state_dict: Mapping[str, np.ndarray],
    target_shapes: Mapping,
    name_fn: Callable[[str, Sequence[str]], str] = torch_name,
    ignored: Sequence[tuple[str, str]] = IGNORED,
    source: str = "state dict",
) -> tuple[dict, ConversionReport]:
    """Fills `target_shapes` ({collection: nested dict of leaves with .shape}) from a state dict.

    Every problem is collected and raised together as one ValueError: missing released names,
    names with no place in our model, and shape mismatches (key, expected and found shapes).
    Returns (variables as nested dicts of numpy arrays, report).
    """
    flat_target = traverse_util.flatten_dict(dict(target_shapes))
    wanted: dict[str, tuple[tuple[str, ...], tuple[int, ...], np.dtype]] = {}
    for key, leaf in flat_target.items():
        collection, path = key[0], key[1:]
        wanted[name_fn(collection, path)] = (key, tuple(leaf.shape),
                                             np.dtype(getattr(leaf, "dtype", np.float32)))
    missing = [name for name in wanted if name not in state_dict]
    unknown, ignored_names, mismatched = [], {}, []
    for name in state_dict:
        if name in wanted:
            continue
        reason = ignore_reason(name, ignored)
        if reason is None:
            unknown.append(name)
        else:
            ignored_names[name] = reason
    flat_out = {}
    for name, (key, flax_shape, dtype) in wanted.items():
        if name not in state_dict:
            continue
        array = np.asarray(state_dict[name])
        expected = torch_shape(flax_shape)
        if tuple(array.shape) != expected:
            mismatched.append(f"{name}: expected shape {expected}, checkpoint has "
                              f"{tuple(array.shape)}")
            continue
        flat_out[key] = _convert_leaf(array, flax_shape).astype(dtype, copy=False)
    problems = []
    if mismatched:
        problems.append(f"{len(mismatched)} shape mismatch(es): " + "; ".join(mismatched))
    if missing:
        problems.append(f"{len(missing)} missing key(s): {_list_names(missing)}")
    if unknown:
        problems.append(f"{len(unknown)} unexpected key(s) our model has no place for: "
                        f"{_list_names(unknown)}")
    if problems:
        raise ValueError(f"cannot convert {source}: " + " | ".join(problems))
    report = ConversionReport(converted=sorted(wanted), ignored=ignored_names)
    return traverse_util.unflatten_dict(flat_out), report
