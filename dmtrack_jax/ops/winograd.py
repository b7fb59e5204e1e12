"""3x3 stride-1 convolution by Winograd's minimal filtering F(2x2, 3x3).

The convolutions of the head towers (3x3, 256 -> 256 channels, stride 1, padding 1) are more
than half of the paper network's FLOPs; the trunk's and FPN's wide 3x3 convs most of the rest. XLA's CPU convolution already runs it at about the machine's
measured matmul peak, so only fewer multiplications make it faster. F(2x2, 3x3) (Lavin & Gray,
"Fast Algorithms for Convolutional Neural Networks", CVPR 2016) computes each 2x2 output tile
from a 4x4 input tile with 16 multiplications per (input, output) channel pair instead of 36:

    Y = A^T [ (G g G^T) * (B^T d B) ] A

with d the 4x4 input tile, g the 3x3 kernel, * elementwise over the 16 positions (a matrix
product over input channels), and

    B^T = [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]]
    G   = [[1, 0, 0], [1/2, 1/2, 1/2], [1/2, -1/2, 1/2], [0, 0, 1]]
    A^T = [[1, 1, 1, 0], [0, 1, -1, -1]].

So the work is 16 matrix products (tiles x Cin) @ (Cin x Cout), 4/9 of the direct method's
multiply-adds, plus elementwise transforms. The transforms only add and subtract (and halve, in
G), so float32 results stay within ~1e-6 relative of the direct convolution.

Tile rows are processed in bands of about `tiles_per_band` tiles: on XLA:CPU one transform
over a whole 64x92x256 map was several times slower per element than over bands that stay in
cache.
This is an inference/CPU optimisation; on GPU and TPU XLA's own convolution is the better choice
(see `resolve_conv_algorithm`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

CONV_ALGORITHMS = ("auto", "direct", "winograd")


def resolve_conv_algorithm(name: str, channels: int, dtype=jnp.float32) -> str:
    """'auto' -> 'winograd' on the CPU backend for float32 convolutions of >= 256 input
    channels, else 'direct'. Measured on XLA:CPU (benchmarks/BENCHMARKS.md): 1.4-1.7x faster at
    256 and 512 channels, even at 128, slower below (the 16 small matrix products and the
    transforms cost more than the multiplications they save). Not for bfloat16/float16 compute:
    the transforms would round in the low precision, where XLA's convolution accumulates in
    float32."""
    if name not in CONV_ALGORITHMS:
        raise ValueError(f"conv algorithm must be one of {CONV_ALGORITHMS}, got {name!r}")
    if name != "auto":
        return name
    wide_f32 = channels >= 256 and jnp.dtype(dtype) == jnp.float32
    return "winograd" if wide_f32 and jax.default_backend() == "cpu" else "direct"


# The transforms as (outputs x inputs) coefficient matrices.
_BT = np.array([[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]], np.float32)
_G = np.array([[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]], np.float32)
_AT = np.array([[1, 1, 1, 0], [0, 1, -1, -1]], np.float32)


def _combine(parts, coefficients: np.ndarray, axis: int) -> jax.Array:
    """sum_a coefficients[:, a] * parts[a], the new (output) axis inserted at `axis`.

    Written as broadcasts rather than a stack of per-output sums so that XLA emits one fused
    loop per transform instead of one small kernel per output plus a concatenation.
    """
    out = None
    for a, part in enumerate(parts):
        column = coefficients[:, a]
        if not column.any():
            continue
        shape = [1] * (part.ndim + 1)
        shape[axis] = column.size
        term = jnp.expand_dims(part, axis) * jnp.asarray(column, part.dtype).reshape(shape)
        out = term if out is None else out + term
    return out


def winograd_kernel(kernel: jax.Array) -> jax.Array:
    """(3, 3, Cin, Cout) -> U = G g G^T as (16, Cin, Cout), index 4 * row + column."""
    rows = _combine([kernel[a] for a in range(3)], _G, 0)  # (4, 3, Cin, Cout)
    u = _combine([rows[:, b] for b in range(3)], _G, 1)  # (4, 4, Cin, Cout)
    return u.reshape(16, *kernel.shape[2:])


def _band(padded: jax.Array, u: jax.Array, tiles_w: int) -> jax.Array:
    """One band of tile rows. padded (..., 2 * tb + 2, 2 * tiles_w + 2, Cin) -> the band's
    output (..., 2 * tb, 2 * tiles_w, Cout)."""
    *batch, rows, cols, cin = padded.shape
    nb = len(batch)
    tb = (rows - 2) // 2
    # Tile (i, j) reads padded rows 2i..2i+3, i.e. row pairs i and i + 1: no strided slices.
    pairs = padded.reshape(*batch, tb + 1, 2, cols, cin)
    d = [pairs[..., :-1, 0, :, :], pairs[..., :-1, 1, :, :],
         pairs[..., 1:, 0, :, :], pairs[..., 1:, 1, :, :]]  # tile rows 0..3: (..., tb, cols, C)
    r = _combine(d, _BT, nb)  # (..., 4, tb, cols, C)
    r = r.reshape(*batch, 4, tb, tiles_w + 1, 2, cin)
    e = [r[..., :-1, 0, :], r[..., :-1, 1, :], r[..., 1:, 0, :], r[..., 1:, 1, :]]
    v = _combine(e, _BT, nb + 1)  # (..., 4, 4, tb, tiles_w, C)
    v = jnp.moveaxis(v.reshape(*batch, 16, tb * tiles_w, cin), nb, 0)  # (16, ..., T, C)
    m = jnp.einsum("ktc,kco->kto", v.reshape(16, -1, cin), u)
    cout = u.shape[-1]
    m = m.reshape(4, 4, *batch, tb, tiles_w, cout)
    y = _combine([m[a] for a in range(4)], _AT, 0)  # (2, 4, ..., tb, tiles_w, Cout)
    y = _combine([y[:, b] for b in range(4)], _AT, 1)  # (2, 2, ..., tb, tiles_w, Cout)
    # (p, q, ..., t, v, o) -> (..., t, p, v, q, o): output row 2t + p, column 2v + q.
    y = jnp.moveaxis(y, (0, 1), (nb + 3, nb + 4))  # (..., tb, tiles_w, Cout, p, q)
    y = jnp.moveaxis(y, (nb + 3, nb + 4), (nb + 1, nb + 3))  # (..., tb, p, tiles_w, q, Cout)
    return y.reshape(*batch, 2 * tb, 2 * tiles_w, cout)


# Tiles per band x input channels: keeps one band's transformed input (16 x tiles x Cin floats)
# at ~3 MB, e.g. 192 tiles at 256 channels. Measured on this project's CPU (BENCHMARKS.md).
BAND_TILE_CHANNELS = 192 * 256


def conv3x3_winograd(x: jax.Array, kernel: jax.Array,
                     tiles_per_band: int | None = None) -> jax.Array:
    """Cross-correlation of x (..., H, W, Cin) with kernel (3, 3, Cin, Cout), stride 1,
    zero padding 1 (PyTorch's Conv2d(k=3, p=1)) -> (..., H, W, Cout), no bias.

    `tiles_per_band` defaults to BAND_TILE_CHANNELS // Cin."""
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"winograd conv needs a 3x3 kernel, got {kernel.shape}")
    return conv3x3_winograd_transformed(x, winograd_kernel(kernel.astype(x.dtype)),
                                        tiles_per_band)


def conv3x3_winograd_transformed(x: jax.Array, u: jax.Array,
                                 tiles_per_band: int | None = None) -> jax.Array:
    """`conv3x3_winograd` with the kernel already transformed: u (16, Cin, Cout) =
    `winograd_kernel(kernel)`. For inference, where the weights stay fixed over many calls:
    the transform of a 512 -> 512 kernel took ~10-28 ms per call inside the paper network on
    XLA:CPU (2026-11-30), about a fifth of the network's op time over all its Winograd convs."""
    *batch, height, width, cin = x.shape
    if u.ndim != 3 or u.shape[0] != 16:
        raise ValueError(f"a transformed winograd kernel is (16, Cin, Cout), got {u.shape}")
    if u.shape[1] != cin:
        raise ValueError(f"kernel has {u.shape[1]} input channels, input has {cin}")
    tiles_w = -(-width // 2)
    if tiles_per_band is None:
        tiles_per_band = BAND_TILE_CHANNELS // cin
    needed = -(-height // 2)  # tile rows
    num_bands = -(-needed // max(1, tiles_per_band // tiles_w))
    band = -(-needed // num_bands)  # balanced: fewer than num_bands padded tile rows in all
    tiles_h = num_bands * band  # the extra tile rows read zeros and are cropped
    pad = [(0, 0)] * len(batch) + [(1, 2 * tiles_h + 1 - height),
                                   (1, 2 * tiles_w + 1 - width), (0, 0)]
    padded = jnp.pad(x, pad)  # (..., 2 * tiles_h + 2, 2 * tiles_w + 2, Cin)
    u = u.astype(x.dtype)
    if num_bands == 1:
        y = _band(padded, u, tiles_w)
    else:
        # One compiled band body looped over the bands (lax.map), not num_bands copies: the
        # program stays small (compile time) and each iteration is milliseconds of work.
        rows_axis = len(batch)

        def one_band(i):
            rows = jax.lax.dynamic_slice_in_dim(padded, 2 * band * i, 2 * band + 2, rows_axis)
            return _band(rows, u, tiles_w)  # (..., 2 * band, 2 * tiles_w, Cout)

        y = jax.lax.map(one_band, jnp.arange(num_bands))  # (bands, ..., 2 * band, ...)
        y = jnp.moveaxis(y, 0, rows_axis)
        y = y.reshape(*batch, num_bands * 2 * band, 2 * tiles_w, u.shape[-1])
    return y[..., :height, :width, :]
