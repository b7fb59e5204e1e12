"""A plain-PyTorch model of the released DMTrack-GS architecture, for weight-import parity tests.

Written from the published facts of the released code (module names and shapes of its state
dict, mmcv/mmdet operator semantics), not from its source: DLA-34 (CenterNet variant) with a
DCNv2 written here in torch, DLAUp, FPN, the RoIAlign template branch, the controllers (1x1
convs with padding 1, then global average pooling: the released "padding quirk"), and the
conditional FCOS head with dynamic 1x1 convs at integration layers 1 and 6. Parameter names are
exactly the released ones (including the unused `backbone.ida_up` and `backbone.base.fc`), so
`state_dict()` is a stand-in for the released checkpoint. Widths are arguments so that tests
can also build a narrow copy; the defaults are the released model.

Everything here is NCHW, batch-first, float32; the model is only ever run in eval mode.
"""

from __future__ import annotations

import math
from typing import Sequence

import torch
import torch.nn.functional as F
from torch import nn

# ----------------------------------------------------------------------------------------------
# Operators written out in torch: mmcv modulated deformable conv and RoIAlign(aligned=True).


def _bilinear_zero_outside(image: torch.Tensor, ys: torch.Tensor, xs: torch.Tensor):
    """image (C, H, W); ys, xs (P,) float -> (C, P); each neighbour outside the image adds 0."""
    channels, height, width = image.shape
    flat = image.reshape(channels, height * width)
    y0 = torch.floor(ys)
    x0 = torch.floor(xs)
    out = torch.zeros(channels, ys.numel(), dtype=image.dtype)
    for ny, wy in ((y0, 1.0 - (ys - y0)), (y0 + 1, ys - y0)):
        for nx, wx in ((x0, 1.0 - (xs - x0)), (x0 + 1, xs - x0)):
            inside = (ny >= 0) & (ny <= height - 1) & (nx >= 0) & (nx <= width - 1)
            index = (ny.clamp(0, height - 1) * width + nx.clamp(0, width - 1)).long()
            weight = torch.where(inside, wy * wx, torch.zeros_like(wy))
            out = out + flat[:, index] * weight[None, :]
    return out


def modulated_deform_conv(x, offset, mask, weight, bias, padding: int = 1):
    """mmcv `modulated_deform_conv`, stride 1, dilation 1, one deformable group.

    offset (N, 2K, Ho, Wo): (dy, dx) of kernel point k = i * kw + j at channels 2k, 2k + 1;
    mask (N, K, Ho, Wo); weight (O, C, kh, kw). Point k of output (y, x) samples the input at
    (y - pad + i + dy_k, x - pad + j + dx_k).
    """
    batch, channels, _, _ = x.shape
    out_ch, _, kh, kw = weight.shape
    out_h, out_w = offset.shape[2:]
    grid_y, grid_x = torch.meshgrid(torch.arange(out_h, dtype=x.dtype),
                                    torch.arange(out_w, dtype=x.dtype), indexing="ij")
    outputs = []
    for n in range(batch):
        columns = []
        for k in range(kh * kw):
            i, j = divmod(k, kw)
            ys = grid_y - padding + i + offset[n, 2 * k]
            xs = grid_x - padding + j + offset[n, 2 * k + 1]
            sampled = _bilinear_zero_outside(x[n], ys.reshape(-1), xs.reshape(-1))
            columns.append(sampled * mask[n, k].reshape(1, -1))
        # (C, K, P) so that row c * K + k meets weight[o, c, i, j] with k = i * kw + j.
        cols = torch.stack(columns, dim=1).reshape(channels * kh * kw, out_h * out_w)
        y = weight.reshape(out_ch, -1) @ cols + bias[:, None]
        outputs.append(y.reshape(out_ch, out_h, out_w))
    return torch.stack(outputs)


def _roi_bilinear(feature: torch.Tensor, y: torch.Tensor, x: torch.Tensor):
    """The RoIAlign kernel's bilinear read (mmcv/detectron2), feature (C, H, W), y/x (P,)."""
    channels, height, width = feature.shape
    empty = (y < -1.0) | (y > height) | (x < -1.0) | (x > width)
    y = y.clamp(min=0.0)
    x = x.clamp(min=0.0)
    y_low = torch.floor(y).long()
    x_low = torch.floor(x).long()
    last_row = y_low >= height - 1
    last_col = x_low >= width - 1
    y_low = torch.where(last_row, torch.full_like(y_low, height - 1), y_low)
    x_low = torch.where(last_col, torch.full_like(x_low, width - 1), x_low)
    y_high = torch.where(last_row, y_low, y_low + 1)
    x_high = torch.where(last_col, x_low, x_low + 1)
    y = torch.where(last_row, y_low.to(y.dtype), y)
    x = torch.where(last_col, x_low.to(x.dtype), x)
    ly, lx = y - y_low, x - x_low
    hy, hx = 1.0 - ly, 1.0 - lx
    value = (feature[:, y_low, x_low] * (hy * hx) + feature[:, y_low, x_high] * (hy * lx)
             + feature[:, y_high, x_low] * (ly * hx) + feature[:, y_high, x_high] * (ly * lx))
    return torch.where(empty[None, :], torch.zeros_like(value), value)


def roi_align(feature, box, output_size: int, spatial_scale: float, sampling_ratio: int):
    """RoIAlign(aligned=True) of one box (x1, y1, x2, y2) on feature (C, H, W) -> (C, S, S)."""
    x1, y1, x2, y2 = [float(v) * spatial_scale - 0.5 for v in box]
    bin_h = (y2 - y1) / output_size
    bin_w = (x2 - x1) / output_size
    steps = torch.tensor([p + (s + 0.5) / sampling_ratio for p in range(output_size)
                          for s in range(sampling_ratio)], dtype=torch.float64)
    ys = (y1 + steps * bin_h).to(feature.dtype)
    xs = (x1 + steps * bin_w).to(feature.dtype)
    grid_y, grid_x = torch.meshgrid(ys, xs, indexing="ij")
    samples = _roi_bilinear(feature, grid_y.reshape(-1), grid_x.reshape(-1))
    samples = samples.reshape(-1, output_size, sampling_ratio, output_size, sampling_ratio)
    return samples.mean(dim=(2, 4))


# ----------------------------------------------------------------------------------------------
# Backbone: DLA-34 (DLAMain) + DLAUp, with the released module names.


class BasicBlock(nn.Module):
    def __init__(self, inplanes: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(planes)

    def forward(self, x, residual=None):
        residual = x if residual is None else residual
        out = F.relu(self.bn1(self.conv1(x)))
        return F.relu(self.bn2(self.conv2(out)) + residual)


class Root(nn.Module):
    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, 1, 0, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, *children):
        return F.relu(self.bn(self.conv(torch.cat(children, 1))))


class Tree(nn.Module):
    """A DLA tree; aggregates its leaves (and, at a level root, its input) in `root`."""

    def __init__(self, levels, in_channels, out_channels, stride=1, level_root=False, root_dim=0):
        super().__init__()
        root_dim = 2 * out_channels if root_dim == 0 else root_dim
        if level_root:
            root_dim += in_channels
        if levels == 1:
            self.tree1 = BasicBlock(in_channels, out_channels, stride)
            self.tree2 = BasicBlock(out_channels, out_channels, 1)
            self.root = Root(root_dim, out_channels)
        else:
            self.tree1 = Tree(levels - 1, in_channels, out_channels, stride, root_dim=0)
            self.tree2 = Tree(levels - 1, out_channels, out_channels,
                              root_dim=root_dim + out_channels)
        self.levels = levels
        self.level_root = level_root
        self.stride = stride
        if in_channels != out_channels:
            self.project = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, 1, bias=False),
                                         nn.BatchNorm2d(out_channels))
        else:
            self.project = None

    def forward(self, x, residual=None, children=None):
        children = [] if children is None else children
        bottom = F.max_pool2d(x, self.stride, self.stride) if self.stride > 1 else x
        residual = self.project(bottom) if self.project is not None else bottom
        if self.level_root:
            children.append(bottom)
        x1 = self.tree1(x, residual)  # a sub-Tree recomputes its own residual
        if self.levels == 1:
            return self.root(self.tree2(x1), x1, *children)
        children.append(x1)
        return self.tree2(x1, children=children)


def _conv_level(inplanes: int, planes: int, convs: int, stride: int = 1) -> nn.Sequential:
    modules = []
    for i in range(convs):
        modules += [nn.Conv2d(inplanes, planes, 3, stride if i == 0 else 1, 1, bias=False),
                    nn.BatchNorm2d(planes), nn.ReLU(inplace=True)]
        inplanes = planes
    return nn.Sequential(*modules)


class DLAMain(nn.Module):
    def __init__(self, levels: Sequence[int], channels: Sequence[int], num_classes: int = 1000):
        super().__init__()
        self.base_layer = nn.Sequential(nn.Conv2d(3, channels[0], 7, 1, 3, bias=False),
                                        nn.BatchNorm2d(channels[0]), nn.ReLU(inplace=True))
        self.level0 = _conv_level(channels[0], channels[0], levels[0])
        self.level1 = _conv_level(channels[0], channels[1], levels[1], stride=2)
        for i in range(2, 6):
            setattr(self, f"level{i}", Tree(levels[i], channels[i - 1], channels[i], 2,
                                            level_root=i >= 3))
        self.fc = nn.Conv2d(channels[-1], num_classes, 1)  # ImageNet classifier, never called

    def forward(self, x):
        x = self.base_layer(x)
        outputs = []
        for i in range(6):
            x = getattr(self, f"level{i}")(x)
            outputs.append(x)
        return outputs


class DCN(nn.Module):
    """mmcv `ModulatedDeformConvPack`, 3x3, pad 1: `weight`, `bias`, `conv_offset`."""

    # Another implementation of `modulated_deform_conv` (same signature), e.g. a compiled
    # kernel for benchmarks/bench_torch_compiled.py; None: the gather-written one above.
    deform_op = None

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.weight = nn.Parameter(torch.empty(out_channels, in_channels, 3, 3))
        self.bias = nn.Parameter(torch.zeros(out_channels))
        self.conv_offset = nn.Conv2d(in_channels, 27, 3, 1, 1, bias=True)

    def forward(self, x):
        o1, o2, m = torch.chunk(self.conv_offset(x), 3, dim=1)
        op = modulated_deform_conv if self.deform_op is None else self.deform_op
        return op(x, torch.cat((o1, o2), 1), torch.sigmoid(m), self.weight, self.bias)


class DeformConv(nn.Module):
    def __init__(self, chi: int, cho: int):
        super().__init__()
        self.actf = nn.Sequential(nn.BatchNorm2d(cho), nn.ReLU(inplace=True))
        self.conv = DCN(chi, cho)

    def forward(self, x):
        return self.actf(self.conv(x))


class IDAUp(nn.Module):
    def __init__(self, out_channels: int, channels: Sequence[int], up_f: Sequence[int]):
        super().__init__()
        for i in range(1, len(channels)):
            f = int(up_f[i])
            setattr(self, f"proj_{i}", DeformConv(channels[i], out_channels))
            setattr(self, f"up_{i}", nn.ConvTranspose2d(out_channels, out_channels, f * 2,
                                                        stride=f, padding=f // 2,
                                                        groups=out_channels, bias=False))
            setattr(self, f"node_{i}", DeformConv(out_channels, out_channels))

    def forward(self, layers, startp: int, endp: int):
        for i in range(startp + 1, endp):
            n = i - startp
            x = getattr(self, f"up_{n}")(getattr(self, f"proj_{n}")(layers[i]))
            layers[i] = getattr(self, f"node_{n}")(x + layers[i - 1])


class DLAUp(nn.Module):
    def __init__(self, channels: Sequence[int]):
        super().__init__()
        channels = list(channels)
        in_channels = list(channels)
        scales = [2**i for i in range(len(channels))]
        for i in range(len(channels) - 1):
            j = -i - 2
            setattr(self, f"ida_{i}", IDAUp(channels[j], in_channels[j:],
                                            [s // scales[j] for s in scales[j:]]))
            scales[j + 1:] = [scales[j]] * len(scales[j + 1:])
            in_channels[j + 1:] = [channels[j]] * len(in_channels[j + 1:])
        self.num = len(channels)

    def forward(self, layers):
        layers = list(layers)
        out = [layers[-1]]
        for i in range(self.num - 1):
            getattr(self, f"ida_{i}")(layers, len(layers) - i - 2, len(layers))
            out.insert(0, layers[-1])
        return out


class DLA(nn.Module):
    """`backbone`: `base` (DLAMain), `dla_up`, and the unused final `ida_up`."""

    def __init__(self, levels, channels, first_level: int = 3):
        super().__init__()
        self.base = DLAMain(levels, channels)
        self.dla_up = DLAUp(channels[first_level:])
        self.ida_up = IDAUp(channels[first_level], channels[first_level:],
                            [2**i for i in range(len(channels) - first_level)])
        self.first_level = first_level

    def forward(self, x):
        trunk = self.base(x)
        return trunk, self.dla_up(trunk[self.first_level:])


# ----------------------------------------------------------------------------------------------
# Neck, template branch, controllers, head.


class ConvModule(nn.Module):
    """mmcv ConvModule: `conv` (+ `gn` and ReLU when normalised)."""

    def __init__(self, cin, cout, kernel, gn_groups: int = 0):
        super().__init__()
        self.conv = nn.Conv2d(cin, cout, kernel, 1, kernel // 2, bias=gn_groups == 0)
        self.with_norm = gn_groups > 0
        if self.with_norm:
            self.gn = nn.GroupNorm(gn_groups, cout)

    def forward(self, x):
        x = self.conv(x)
        return F.relu(self.gn(x)) if self.with_norm else x


class FPN(nn.Module):
    def __init__(self, in_channels: Sequence[int], out_channels: int):
        super().__init__()
        self.lateral_convs = nn.ModuleList(ConvModule(c, out_channels, 1) for c in in_channels)
        self.fpn_convs = nn.ModuleList(ConvModule(out_channels, out_channels, 3)
                                       for _ in in_channels)

    def forward(self, inputs):
        laterals = [conv(x) for conv, x in zip(self.lateral_convs, inputs)]
        for i in range(len(laterals) - 1, 0, -1):
            laterals[i - 1] = laterals[i - 1] + F.interpolate(
                laterals[i], size=laterals[i - 1].shape[2:], mode="nearest")
        return [conv(x) for conv, x in zip(self.fpn_convs, laterals)]


class Template(nn.Module):
    def __init__(self, channels: int, num_levels: int):
        super().__init__()
        self.fpn_modulator = nn.ModuleList(nn.Conv2d(channels, channels, 1)
                                           for _ in range(num_levels))


class Controller(nn.Module):
    """Released controllers: 1x1 convs with padding=1, then global average pooling."""

    def __init__(self, channels: int, head_channels: int, encoder_channels: int):
        super().__init__()
        for branch in ("cls", "reg"):
            setattr(self, f"controller_{branch}1",
                    nn.Conv2d(channels, head_channels * head_channels, 1, padding=1))
            setattr(self, f"controller_{branch}2",
                    nn.Conv2d(channels, encoder_channels * encoder_channels, 1, padding=1))


class Scale(nn.Module):
    def __init__(self):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x):
        return x * self.scale


class FCOSHead(nn.Module):
    def __init__(self, channels, num_convs, gn_groups, encoder_channels, num_classes, levels):
        super().__init__()
        self.cls_convs = nn.ModuleList(ConvModule(channels, channels, 3, gn_groups)
                                       for _ in range(num_convs))
        self.reg_convs = nn.ModuleList(ConvModule(channels, channels, 3, gn_groups)
                                       for _ in range(num_convs))
        self.fcos_cls = nn.Conv2d(encoder_channels, num_classes, 3, padding=1)
        self.fcos_reg = nn.Conv2d(encoder_channels, 4, 3, padding=1)
        self.fcos_centerness = nn.Conv2d(encoder_channels, 1, 3, padding=1)
        self.scales = nn.ModuleList(Scale() for _ in range(levels))


class CondModulator(nn.Module):
    def __init__(self, channels: int, encoder_channels: int):
        super().__init__()
        self.downsampler_cls = nn.Conv2d(channels, encoder_channels, 1)
        self.downsampler_reg = nn.Conv2d(channels, encoder_channels, 1)


def _dynamic_conv1x1(x: torch.Tensor, kernel: torch.Tensor) -> torch.Tensor:
    """kernel (Cout, Cin) applied as a 1x1 conv weight (Cout, Cin, 1, 1)."""
    return F.conv2d(x, kernel[:, :, None, None])


class DMTrackGS(nn.Module):
    """The released detector. `encode_template` and `detect` mirror the Flax entry points."""

    roi_align_op = None  # another `roi_align` (same signature); None: the one above

    def __init__(self, levels=(1, 1, 1, 2, 2, 1), channels=(16, 32, 64, 128, 256, 512),
                 fpn_channels=256, head_channels=256, encoder_channels=32, num_convs=4,
                 gn_groups=32, num_classes=2, strides=(8, 16, 32), roi_size=7,
                 sampling_ratio=2, finest_scale=56.0):
        super().__init__()
        num_levels = len(strides)
        first_level = len(channels) - num_levels
        self.backbone = DLA(levels, channels, first_level)
        self.neck = FPN(channels[first_level:], fpn_channels)
        self.bbox_head = FCOSHead(head_channels, num_convs, gn_groups, encoder_channels,
                                  num_classes, num_levels)
        self.template = Template(fpn_channels, num_levels)
        self.controller = Controller(fpn_channels, head_channels, encoder_channels)
        self.cond_modulator = CondModulator(head_channels, encoder_channels)
        self.strides = tuple(strides)
        self.roi_size = roi_size
        self.sampling_ratio = sampling_ratio
        self.finest_scale = finest_scale
        self.shapes = dict(head=head_channels, encoder=encoder_channels)

    def features(self, images):
        trunk, pyramid = self.backbone(images)
        return trunk, pyramid, self.neck(pyramid)

    def roi_level(self, box) -> int:
        scale = math.sqrt((box[2] - box[0]) * (box[3] - box[1]))
        level = math.floor(math.log2(scale / self.finest_scale + 1e-6))
        return min(max(level, 0), len(self.strides) - 1)

    def encode_template(self, images, boxes):
        """images (B, 3, H, W), boxes [[x1, y1, x2, y2] per target] per image ->
        {name: (B, T, L, Cout, Cin)}."""
        _, _, fpn = self.features(images)
        per_image = []
        for b, image_boxes in enumerate(boxes):
            rois = []
            for box in image_boxes:
                level = self.roi_level(box)
                op = roi_align if self.roi_align_op is None else self.roi_align_op
                rois.append(op(fpn[level][b], box, self.roi_size, 1.0 / self.strides[level],
                               self.sampling_ratio))
            rois = torch.stack(rois)  # (T, C, S, S)
            kernels = {}
            for branch in ("cls", "reg"):
                for n, size in ((1, self.shapes["head"]), (2, self.shapes["encoder"])):
                    controller = getattr(self.controller, f"controller_{branch}{n}")
                    per_level = []
                    for modulator in self.template.fpn_modulator:
                        generated = controller(modulator(rois)).mean(dim=(2, 3))  # (T, N)
                        per_level.append(generated.reshape(-1, size, size))
                    kernels[f"{branch}{n}"] = torch.stack(per_level, dim=1)  # (T, L, o, i)
            per_image.append(kernels)
        return {k: torch.stack([d[k] for d in per_image]) for k in per_image[0]}

    def detect(self, images, kernels):
        """images (B, 3, H, W), kernels (B, T, L, o, i) -> {cls, reg, ctr}: per level
        (B, T, C, H_l, W_l)."""
        _, _, fpn = self.features(images)
        head, modulator = self.bbox_head, self.cond_modulator
        outputs = {"cls": [], "reg": [], "ctr": []}
        for level, feature in enumerate(fpn):
            per_image = {"cls": [], "reg": [], "ctr": []}
            for b in range(images.shape[0]):
                per_target = {"cls": [], "reg": [], "ctr": []}
                for t in range(kernels["cls1"].shape[1]):
                    x = feature[b:b + 1]
                    branch = {}
                    for name, convs, encoder in (("cls", head.cls_convs, modulator.downsampler_cls),
                                                 ("reg", head.reg_convs, modulator.downsampler_reg)):
                        f = F.relu(_dynamic_conv1x1(x, kernels[f"{name}1"][b, t, level]))
                        for conv in convs:
                            f = conv(f)
                        f = encoder(f)
                        branch[name] = F.relu(_dynamic_conv1x1(f, kernels[f"{name}2"][b, t, level]))
                    per_target["cls"].append(head.fcos_cls(branch["cls"])[0])
                    per_target["reg"].append(F.relu(head.scales[level](
                        head.fcos_reg(branch["reg"])))[0])
                    per_target["ctr"].append(head.fcos_centerness(branch["reg"])[0])
                for key in per_image:
                    per_image[key].append(torch.stack(per_target[key]))
            for key in outputs:
                outputs[key].append(torch.stack(per_image[key]))
        return outputs


# ----------------------------------------------------------------------------------------------
# Random initialisation. Every layer's activations stay O(1), so a relative error means
# something, and the deformable offsets, masks and generated kernels are non-trivial. Two
# choices keep the random network well conditioned enough for a 1e-4 parity check in float32
# (both frameworks round differently; an ill-conditioned random net amplifies that ~100x):
# BatchNorm gammas in [0.3, 0.7] and deformable offsets that are mostly a per-point constant
# (bias, std 1 px: fractional positions and reads across the border) with a small
# input-dependent part (`offset_gain`), because offsets that swing with the input multiply the
# sensitivity of every DCN layer.


@torch.no_grad()
def randomize_(model: DMTrackGS, seed: int, calibration_images: torch.Tensor,
               bn_gamma=(0.3, 0.7), offset_gain: float = 0.3) -> DMTrackGS:
    generator = torch.Generator().manual_seed(seed)

    def normal_(tensor, std, mean=0.0):
        tensor.normal_(mean, std, generator=generator)

    for name, param in model.named_parameters():
        if name.endswith("conv_offset.weight"):
            normal_(param, offset_gain / math.sqrt(param[0].numel()))
        elif name.endswith("conv_offset.bias"):
            normal_(param, 1.0)
        elif name.startswith("controller.") and name.endswith("weight"):
            normal_(param, 0.02)
        elif name.startswith("controller.") and name.endswith("bias"):
            size = int(round(math.sqrt(param.numel())))
            normal_(param, math.sqrt(2.0 / size))  # a He-scaled kernel for `size` inputs
        elif ".up_" in name:  # depthwise transposed convs: positive, about bilinear in sum
            normal_(param, 0.25, mean=0.25)
        elif name.endswith("scale"):  # mmdet Scale, 0-d
            param.fill_(1.0 + 0.5 * float(torch.rand((), generator=generator)))
        elif param.ndim == 4:
            normal_(param, math.sqrt(2.0 / param[0].numel()))
        elif param.ndim == 1 and name.endswith("weight"):  # BatchNorm / GroupNorm gamma
            low, high = bn_gamma
            param.uniform_(low, high, generator=generator)
        elif param.ndim == 1:
            normal_(param, 0.1)
        else:
            raise AssertionError(f"unhandled parameter {name} {tuple(param.shape)}")
    # BatchNorm running statistics: the statistics of one batch (momentum 1), so that the eval
    # forward is well normalised; then perturbed so they are not exactly batch values.
    batch_norms = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    for bn in batch_norms:
        bn.momentum = 1.0
    model.train()
    model.backbone(calibration_images)
    model.eval()
    for bn in batch_norms:
        bn.momentum = 0.1
        bn.running_mean.add_(0.05 * torch.randn(bn.running_mean.shape, generator=generator))
        bn.running_var.mul_(0.8 + 0.4 * torch.rand(bn.running_var.shape, generator=generator))
    return model


def numpy_state_dict(model: nn.Module) -> dict:
    """`state_dict()` as {name: numpy array}, what `dmtrack_jax.convert.read_state_dict` gives."""
    return {name: value.detach().cpu().numpy().copy() for name, value in
            model.state_dict().items()}
