"""Inception-v3 as in the FID graph of 2015-12-05 (TF FID, pytorch-fid, StyleGAN metrics), in Flax Linen.

The network differs from torchvision's Inception-v3 in the details FID depends on, all reproduced here:

* batch norm has no learned scale in the TF graph (gamma = 1), eps = 1e-3; we fold it into the conv
  (``kernel * gamma / sqrt(var + eps)`` and a bias), which is exact up to float rounding;
* the 3x3 average-pooling branches divide by the number of *real* pixels in the window (padding is not
  counted; torch's ``count_include_pad=False``);
* the last block (``mixed_10``) pools its pooling branch with a 3x3 *max* pool, not an average;
* pool3 is the mean over the final 8x8 map: 2048 features; the 1008-way logits (``softmax`` of the TF
  graph, for Inception Score) exist only when the weights carry the ``fc`` layer.

Input: NHWC float32, 299x299x3, already scaled by ``(x - 128) / 128`` (see ``ganjax.metrics.fid`` for the
whole pipeline from images). Layer names are the TF graph's (``conv`` ... ``mixed_10``); the table of
convolutions lives in :mod:`ganjax.metrics.weights`, so the module and every loader share one truth.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from ganjax.metrics.weights import CONV_SPEC, CONVS, Weights

BN_EPS = 1e-3
STEM = ('conv', 'conv_1', 'conv_2', 'conv_3', 'conv_4')
BLOCKS = ('mixed', 'mixed_1', 'mixed_2', 'mixed_3', 'mixed_4', 'mixed_5', 'mixed_6', 'mixed_7', 'mixed_8',
          'mixed_9', 'mixed_10')


def _flax_name(rel: str) -> str:
    """A conv's name inside its block: 'tower_1/conv_2' -> 'tower_1_conv_2' (unique within each block)."""
    return rel.replace('/', '_')


class ConvBN(nn.Module):
    """Conv + (folded) batch norm + ReLU. Shape and padding come from the shared table by ``conv_path``."""

    conv_path: str
    precision: Any = lax.Precision.HIGHEST

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        out, (kh, kw), stride, (ph, pw) = CONV_SPEC[self.conv_path]
        kernel = self.param('kernel', nn.initializers.lecun_normal(), (kh, kw, x.shape[-1], out))
        bias = self.param('bias', nn.initializers.zeros, (out,))
        y = lax.conv_general_dilated(x, kernel, (stride, stride), ((ph, ph), (pw, pw)),
                                     dimension_numbers=('NHWC', 'HWIO', 'NHWC'), precision=self.precision)
        return jax.nn.relu(y + bias)


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


class Block(nn.Module):
    """One ``mixed`` block. Its kind (A-E of the Inception paper's figures) follows from its name."""

    precision: Any = lax.Precision.HIGHEST

    def conv(self, rel: str, x: jax.Array) -> jax.Array:
        return ConvBN(f'{self.name}/{rel}', self.precision, name=_flax_name(rel))(x)

    def chain(self, rels: list[str], x: jax.Array) -> jax.Array:
        for r in rels:
            x = self.conv(r, x)
        return x

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        name = self.name
        assert name is not None
        if name in ('mixed', 'mixed_1', 'mixed_2'):
            return jnp.concatenate([
                self.conv('conv', x),
                self.chain(['tower/conv', 'tower/conv_1'], x),
                self.chain(['tower_1/conv', 'tower_1/conv_1', 'tower_1/conv_2'], x),
                self.conv('tower_2/conv', avg_pool_exclude_pad(x))], axis=-1)
        if name == 'mixed_3':
            return jnp.concatenate([
                self.conv('conv', x),
                self.chain(['tower/conv', 'tower/conv_1', 'tower/conv_2'], x),
                max_pool(x, 2, 0)], axis=-1)
        if name in ('mixed_4', 'mixed_5', 'mixed_6', 'mixed_7'):
            return jnp.concatenate([
                self.conv('conv', x),
                self.chain(['tower/conv', 'tower/conv_1', 'tower/conv_2'], x),
                self.chain([f'tower_1/conv{s}' for s in ('', '_1', '_2', '_3', '_4')], x),
                self.conv('tower_2/conv', avg_pool_exclude_pad(x))], axis=-1)
        if name == 'mixed_8':
            return jnp.concatenate([
                self.chain(['tower/conv', 'tower/conv_1'], x),
                self.chain(['tower_1/conv', 'tower_1/conv_1', 'tower_1/conv_2', 'tower_1/conv_3'], x),
                max_pool(x, 2, 0)], axis=-1)
        # mixed_9, mixed_10: the 'E' blocks with split 1x3/3x1 towers.
        a = self.conv('tower_conv', x)
        b = self.chain(['tower_1_conv', 'tower_1_conv_1'], x)
        pooled = max_pool(x, 1, 1) if name == 'mixed_10' else avg_pool_exclude_pad(x)
        return jnp.concatenate([
            self.conv('conv', x),
            self.conv('tower_mixed_conv', a), self.conv('tower_mixed_conv_1', a),
            self.conv('tower_1_mixed_conv', b), self.conv('tower_1_mixed_conv_1', b),
            self.conv('tower_2_conv', pooled)], axis=-1)


class InceptionV3(nn.Module):
    """The FID network. Returns ``(pool3, logits)``; ``logits`` is None unless ``with_logits``."""

    with_logits: bool = False
    precision: Any = lax.Precision.HIGHEST

    @nn.compact
    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        if x.shape[1:] != (299, 299, 3):
            raise ValueError(f'InceptionV3 expects N x 299 x 299 x 3 inputs, got {x.shape}')
        for i, name in enumerate(STEM):
            x = ConvBN(name, self.precision, name=name)(x)
            if i in (2, 4):
                x = max_pool(x, 2, 0)
        for name in BLOCKS:
            x = Block(self.precision, name=name)(x)
        pool3 = jnp.mean(x, axis=(1, 2))
        logits = None
        if self.with_logits:
            logits = nn.Dense(1008, precision=self.precision, name='fc')(pool3)
        return pool3, logits


def flax_params(weights: Weights) -> dict[str, Any]:
    """Our weight layout -> this module's ``params``, folding each batch norm into its conv (in float64)."""
    params: dict[str, Any] = {}
    for path, *_ in CONVS:
        k = weights[f'{path}/kernel'].astype(np.float64)
        scale = weights[f'{path}/gamma'].astype(np.float64) / np.sqrt(
            weights[f'{path}/var'].astype(np.float64) + BN_EPS)
        bias = weights[f'{path}/beta'] - weights[f'{path}/mean'].astype(np.float64) * scale
        leaf = {'kernel': jnp.asarray((k * scale).astype(np.float32)),
                'bias': jnp.asarray(bias.astype(np.float32))}
        if '/' in path:
            block, rel = path.split('/', 1)
            params.setdefault(block, {})[_flax_name(rel)] = leaf
        else:
            params[path] = leaf
    if 'fc/kernel' in weights:
        params['fc'] = {'kernel': jnp.asarray(weights['fc/kernel']), 'bias': jnp.asarray(weights['fc/bias'])}
    return {'params': params}
