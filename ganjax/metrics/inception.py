"""Inception-v3 as in the FID graph of 2015-12-05 (TF FID, pytorch-fid, StyleGAN metrics), as a pure JAX function.

The network differs from torchvision's Inception-v3 in the details FID depends on, all reproduced here:

* batch norm has no learned scale in the TF graph (gamma = 1), eps = 1e-3; we fold it into the conv
  (``kernel * gamma / sqrt(var + eps)`` and a bias) once, on the host in float64, which is exact up to
  float rounding;
* the 3x3 average-pooling branches divide by the number of *real* pixels in the window (padding is not
  counted; torch's ``count_include_pad=False``);
* the last block (``mixed_10``) pools its pooling branch with a 3x3 *max* pool, not an average;
* pool3 is the mean over the final 8x8 map: 2048 features; the 1008-way logits (``softmax`` of the TF
  graph, for Inception Score) exist only when the weights carry the ``fc`` layer.

Input: NHWC float32, 299x299x3, already scaled by ``(x - 128) / 128`` (see ``ganjax.metrics.fid`` for the
whole pipeline from images). Layer names are the TF graph's (``conv`` ... ``mixed_10``); the table of
convolutions lives in :mod:`ganjax.metrics.weights`, so the forward pass and every loader share one truth.

Why a plain function over prepared arrays rather than a Flax module: the speed of FID on a CPU is the
speed of this forward pass (~11.5 GFLOP per image), and it is fastest written as few, large matmuls.
:func:`prepare_params` therefore rearranges the folded weights once, and :func:`forward` uses them so:

* every 1x1 convolution is a plain matmul over the pixels;
* the 1x1 convolutions of a block that read the block's input (its "head": up to four branches) are one
  matmul with their kernels concatenated along the output axis;
* the 3x3 average-pool branch ``relu(avgpool(x) W + b)`` is computed as ``relu(avgpool(x W) + b)``
  (pooling and a per-pixel linear map commute, and the averaging weights sum to 1 so the bias may come
  after), which puts that branch in the head matmul and pools ``out`` channels instead of ``in``;
* the other convolutions stay ``lax.conv_general_dilated``: unlike the GAN training step (whose
  gradients and double backward favour ``ganjax.models.layers``' shifted-slices lowering), this forward
  pass measured 2.3x slower in total with slices on the CPU (``benchmarks/RESULTS.md``, FID speed).

``benchmarks/fid_speed.py`` measures the result against the TorchScript reference; the parity tests
(``tests/test_inception_parity.py``) hold the features to the reference's.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ganjax.metrics.weights import CONV_SPEC, CONVS, Weights

BN_EPS = 1e-3
STEM = ('conv', 'conv_1', 'conv_2', 'conv_3', 'conv_4')
BLOCKS = ('mixed', 'mixed_1', 'mixed_2', 'mixed_3', 'mixed_4', 'mixed_5', 'mixed_6', 'mixed_7', 'mixed_8',
          'mixed_9', 'mixed_10')
# The 1x1 convolutions of each block that read the block's input, fused into one matmul. A name ending
# in POOLED is the average-pool branch (pooled after its matmul, see the module docstring).
_A_HEAD = ('conv', 'tower/conv', 'tower_1/conv', 'tower_2/conv')
HEADS: dict[str, tuple[str, ...]] = {
    'mixed': _A_HEAD, 'mixed_1': _A_HEAD, 'mixed_2': _A_HEAD, 'mixed_3': ('tower/conv',),
    'mixed_4': _A_HEAD, 'mixed_5': _A_HEAD, 'mixed_6': _A_HEAD, 'mixed_7': _A_HEAD,
    'mixed_8': ('tower/conv', 'tower_1/conv'),
    'mixed_9': ('conv', 'tower_conv', 'tower_1_conv', 'tower_2_conv'),
    'mixed_10': ('conv', 'tower_conv', 'tower_1_conv')}  # its pool branch is a max pool: not linear
POOLED = ('tower_2/conv', 'tower_2_conv')

Params = dict[str, Any]


def _folded(weights: Weights, path: str) -> tuple[np.ndarray, np.ndarray]:
    """A conv's kernel and bias with its batch norm folded in, computed in float64."""
    k = weights[f'{path}/kernel'].astype(np.float64)
    scale = weights[f'{path}/gamma'].astype(np.float64) / np.sqrt(weights[f'{path}/var'].astype(np.float64)
                                                                  + BN_EPS)
    bias = weights[f'{path}/beta'].astype(np.float64) - weights[f'{path}/mean'].astype(np.float64) * scale
    return k * scale, bias


def prepare_params(weights: Weights) -> Params:
    """Our weight layout -> the arrays :func:`forward` reads (float32 on the default device).

    ``params[block]['head']`` holds the fused 1x1 kernel as an ``(in, sum of outs)`` matrix and its bias;
    every other convolution keeps its HWIO kernel under its own path.
    """
    params: Params = {}
    for path, *_ in CONVS:
        block, _, rel = path.partition('/')
        if rel and rel in HEADS[block]:
            continue
        k, b = _folded(weights, path)
        leaf = {'kernel': jnp.asarray(k, jnp.float32), 'bias': jnp.asarray(b, jnp.float32)}
        if rel:
            params.setdefault(block, {})[rel] = leaf
        else:
            params[path] = leaf
    for block, rels in HEADS.items():
        parts = [_folded(weights, f'{block}/{rel}') for rel in rels]
        params.setdefault(block, {})['head'] = {
            'kernel': jnp.asarray(np.concatenate([k[0, 0] for k, _ in parts], axis=1), jnp.float32),
            'bias': jnp.asarray(np.concatenate([b for _, b in parts]), jnp.float32)}
    if 'fc/kernel' in weights:
        params['fc'] = {'kernel': jnp.asarray(weights['fc/kernel']), 'bias': jnp.asarray(weights['fc/bias'])}
    return params


def _matmul(x: jax.Array, w: jax.Array, precision: Any) -> jax.Array:
    """Per-pixel linear map: (..., in) @ (in, out)."""
    y = jnp.dot(x.reshape(-1, x.shape[-1]), w, precision=precision)
    return y.reshape(*x.shape[:-1], w.shape[-1])


def conv_bn_relu(x: jax.Array, leaf: dict[str, jax.Array], path: str, precision: Any) -> jax.Array:
    """One convolution of the table (batch norm folded in) and its ReLU."""
    _, (kh, kw), s, (ph, pw) = CONV_SPEC[path]
    kernel = leaf['kernel']
    if (kh, kw, s) == (1, 1, 1):
        y = _matmul(x, kernel[0, 0], precision)
    else:
        y = lax.conv_general_dilated(x, kernel, (s, s), ((ph, ph), (pw, pw)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'), precision=precision)
    return jax.nn.relu(y + leaf['bias'])


def max_pool(x: jax.Array, stride: int, pad: int) -> jax.Array:
    """3x3 max pool; padded pixels are -inf, so they never win (torch's MaxPool2d semantics)."""
    p = ((0, 0), (pad, pad), (pad, pad), (0, 0))
    return lax.reduce_window(x, -jnp.inf, lax.max, (1, 3, 3, 1), (1, stride, stride, 1), p)


def avg_pool_exclude_pad(x: jax.Array) -> jax.Array:
    """3x3, stride 1, pad 1 average that divides by the count of real pixels in each window."""
    p = ((0, 0), (1, 1), (1, 1), (0, 0))
    s = lax.reduce_window(x, 0.0, lax.add, (1, 3, 3, 1), (1, 1, 1, 1), p)
    h, w = x.shape[1], x.shape[2]
    rows = np.minimum(np.arange(h) + 1, h - 1) - np.maximum(np.arange(h) - 1, 0) + 1
    cols = np.minimum(np.arange(w) + 1, w - 1) - np.maximum(np.arange(w) - 1, 0) + 1
    count = (rows[:, None] * cols[None, :]).astype(np.float32)
    return s / count[None, :, :, None]


def _head(x: jax.Array, block: str, leaf: dict[str, jax.Array], precision: Any) -> dict[str, jax.Array]:
    """The block's fused 1x1 convolutions: one matmul, split per branch, the pool branch pooled, ReLU."""
    z = _matmul(x, leaf['kernel'], precision)
    out, start = {}, 0
    for rel in HEADS[block]:
        width = CONV_SPEC[f'{block}/{rel}'][0]
        y, b = z[..., start:start + width], leaf['bias'][start:start + width]
        if rel in POOLED:
            y = avg_pool_exclude_pad(y)
        out[rel] = jax.nn.relu(y + b)
        start += width
    return out


def block_forward(x: jax.Array, block: str, p: Params, precision: Any) -> jax.Array:
    """One ``mixed`` block. Its kind (A-E of the Inception paper's figures) follows from its name."""
    h = _head(x, block, p['head'], precision)

    def chain(y: jax.Array, rels: list[str]) -> jax.Array:
        for rel in rels:
            y = conv_bn_relu(y, p[rel], f'{block}/{rel}', precision)
        return y

    if block in ('mixed', 'mixed_1', 'mixed_2'):
        parts = [h['conv'], chain(h['tower/conv'], ['tower/conv_1']),
                 chain(h['tower_1/conv'], ['tower_1/conv_1', 'tower_1/conv_2']), h['tower_2/conv']]
    elif block == 'mixed_3':
        parts = [chain(x, ['conv']), chain(h['tower/conv'], ['tower/conv_1', 'tower/conv_2']),
                 max_pool(x, 2, 0)]
    elif block in ('mixed_4', 'mixed_5', 'mixed_6', 'mixed_7'):
        parts = [h['conv'], chain(h['tower/conv'], ['tower/conv_1', 'tower/conv_2']),
                 chain(h['tower_1/conv'], [f'tower_1/conv_{i}' for i in range(1, 5)]), h['tower_2/conv']]
    elif block == 'mixed_8':
        parts = [chain(h['tower/conv'], ['tower/conv_1']),
                 chain(h['tower_1/conv'], ['tower_1/conv_1', 'tower_1/conv_2', 'tower_1/conv_3']),
                 max_pool(x, 2, 0)]
    else:  # mixed_9, mixed_10: the 'E' blocks with split 1x3/3x1 towers.
        a, b = h['tower_conv'], chain(h['tower_1_conv'], ['tower_1_conv_1'])
        pool = (h['tower_2_conv'] if block == 'mixed_9'
                else conv_bn_relu(max_pool(x, 1, 1), p['tower_2_conv'], f'{block}/tower_2_conv',
                                  precision))
        parts = [h['conv'], chain(a, ['tower_mixed_conv']), chain(a, ['tower_mixed_conv_1']),
                 chain(b, ['tower_1_mixed_conv']), chain(b, ['tower_1_mixed_conv_1']), pool]
    return jnp.concatenate(parts, axis=-1)


def forward(params: Params, x: jax.Array, precision: Any = lax.Precision.HIGHEST) -> tuple[jax.Array, jax.Array | None]:
    """The FID network on prepared ``params``: ``(pool3, logits)``; logits is None without ``fc``."""
    if x.shape[1:] != (299, 299, 3):
        raise ValueError(f'the FID Inception expects N x 299 x 299 x 3 inputs, got {x.shape}')
    for i, name in enumerate(STEM):
        x = conv_bn_relu(x, params[name], name, precision)
        if i in (2, 4):
            x = max_pool(x, 2, 0)
    for block in BLOCKS:
        x = block_forward(x, block, params[block], precision)
    pool3 = jnp.mean(x, axis=(1, 2))
    logits = None
    if 'fc' in params:
        logits = jnp.dot(pool3, params['fc']['kernel'], precision=precision) + params['fc']['bias']
    return pool3, logits
